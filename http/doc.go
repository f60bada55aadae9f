// Package http serves Floodgate's JSON API v1 (shared/API.md, docs/openapi.yaml)
// on top of the replicated store and the waiting room, and mounts the buyer
// pages and the status page beside it.
//
// Every error answer goes through internal/api, the one place where error
// codes become HTTP statuses. The small interfaces this package needs from
// the store are declared here, next to their consumer.
package http
