package console_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/floodgate/floodgate/console"
)

// TestKeyFromSharesTheSignInBetweenNodes: a console keyed from the same
// admin token (another node of the cluster) accepts the sign-in cookie; one
// keyed from another token does not.
func TestKeyFromSharesTheSignInBetweenNodes(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	e.signIn(c)
	cookie := e.sessionCookie(c)
	if cookie == nil {
		t.Fatal("no session cookie after signing in")
	}
	quiet := slog.New(slog.DiscardHandler)
	for token, want := range map[string]int{root: http.StatusOK, "another-admin-token-0123": http.StatusSeeOther} {
		h, err := console.New(console.Config{API: e.srv, Key: console.KeyFrom(token), Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		req := httptest.NewRequest(http.MethodGet, "/admin/", nil)
		req.AddCookie(cookie)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != want {
			t.Errorf("a console keyed from %q answered the cookie with %d, want %d", token, rec.Code, want)
		}
	}
}
