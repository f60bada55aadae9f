package http

import (
	"net/http"

	"github.com/floodgate/floodgate/identity"
	"github.com/floodgate/floodgate/sale"
)

// logout ends the buyer's session on every node before the pages forget
// the cookie: a session token copied before the logout is worthless after
// it. It runs on the leader (a follower forwards it), since the revocation
// is a write. The ticket, the place in line and the hold are kept.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(identity.SessionCookie); err == nil && s.cfg.Sessions != nil {
		if sess, err := s.cfg.Sessions.Parse(c.Value, s.cfg.Now()); err == nil && sess.ID != "" {
			_, err := s.apply(r.Context(), &sale.Command{Kind: sale.KindRevokeSession, SessionID: sess.ID, Until: sess.Expires.UnixMilli()})
			if err != nil {
				s.log.Warn("revoking a session at logout failed; the cookie is cleared anyway", "err", err)
			}
		}
	}
	if s.cfg.Web != nil {
		s.cfg.Web.ServeHTTP(w, r)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
