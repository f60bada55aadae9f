package http

import (
	"net/http"

	"github.com/floodgate/floodgate"
	"github.com/floodgate/floodgate/identity"
)

// buyer verifies a buyer's session and returns the customer. The session is
// the one the call carries, else the buyer page's HttpOnly cookie when
// fromCookie (each caller says why the cookie is no CSRF risk there);
// without either, the answer is unauthenticated with the message missing.
func (s *Server) buyer(r *http.Request, session string, fromCookie bool, missing string) (string, error) {
	if session == "" && fromCookie {
		session = sessionCookie(r)
	}
	if session == "" {
		return "", floodgate.Errorf(floodgate.EUnauthenticated, "%s", missing)
	}
	return s.cfg.Sessions.Verify(session, s.cfg.Now())
}

// sessionCookie is the buyer page's session cookie, or "".
func sessionCookie(r *http.Request) string {
	if c, err := r.Cookie(identity.SessionCookie); err == nil {
		return c.Value
	}
	return ""
}
