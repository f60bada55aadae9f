// Package web serves the buyer pages of Floodgate: a drop's product page,
// its countdown, the waiting room with the live position (SSE, with polling
// as the fallback), the hold with its visible clock, checkout and the order
// with its pass code, in Korean and English.
//
// The pages are server-rendered with html/template and embedded in the
// binary; a small script talks to the JSON API of the same origin. The
// buyer's ticket lives in a cookie per drop, so a reload, a second tab or a
// reopened browser comes back to the same place, and a hold belongs to the
// ticket, not to a login: the sign-in redirect (package identity) comes back
// to the same hold with its remaining time.
//
// Mount it with New(Config) on the core's HTTP server for GET /, /d/{drop},
// /login, /login/dev, /auth/callback, /auth/health, /logout and /static/.
package web
