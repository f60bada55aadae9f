// Package edge is the stateless front of Floodgate: a process with no Raft
// state that answers the hot, read-only part of a rush itself and passes
// everything else to the cluster.
//
// An edge verifies tickets with the public keys of the cluster's JWKS and
// answers queue status (JSON and server-sent events) and drop reads from the
// admission counters it follows over one stream per drop
// (GET /api/v1/drops/{drop}/admission), so a million waiting visitors cost
// the cluster one stream per edge, not a request per visitor per poll.
// Joins, holds, orders, sign-in and the buyer pages are forwarded to the
// cluster (any node; followers pass writes to the leader). Killing an edge
// loses nothing: a visitor's place is in its ticket, and any other edge
// answers for it.
//
//	e, err := edge.New(edge.Config{Upstreams: []string{"http://10.0.0.1:8080", "http://10.0.0.2:8080"}})
//	go e.Run(ctx)
//	http.ListenAndServe(":8080", e)
package edge
