// Package console is the operator console at /admin: server-rendered pages
// (html/template, a little JavaScript, no build step, embedded) that show a
// drop's sale live, change it at once, and report on it afterwards.
//
// The console signs operators in with the admin token (or a tenant's API
// key) through an ordinary form, and keeps them signed in with an
// encrypted, HttpOnly, SameSite=Strict cookie that expires. Every form
// carries a CSRF token bound to the session. Every change goes through the
// JSON API in-process, with the operator's own credential, so the console
// gets exactly the API's validation, scoping and audit entries.
package console
