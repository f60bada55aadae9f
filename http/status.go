package http

import (
	"net/http"
	"net/netip"
)

// statusWrites sends the status page's writes (incidents, maintenance,
// subscriptions, unsubscribes) to the leader like sale writes: the status
// records are replicated through the same log, and only the leader commits
// them. Reads are answered by any node from its own replica.
func (s *Server) statusWrites(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			h.ServeHTTP(w, r)
			return
		}
		s.leaderOnly(h.ServeHTTP)(w, r)
	})
}

// ClientIP returns the client address the server found for a request it is
// serving (through trusted proxies and forwarding nodes), or the zero
// address outside of one.
func ClientIP(r *http.Request) netip.Addr { return clientIPOf(r) }

// VouchedAdmin reports whether the server already knows a request it is
// serving to be an admin call: forwarded by a node that checked the admin
// token, or signed by a node. Handlers mounted on the server (the status
// page) accept it in place of the token, which forwarded calls no longer
// carry.
func VouchedAdmin(r *http.Request) bool {
	info, ok := r.Context().Value(ctxRequest).(*requestInfo)
	return ok && info.admin
}
