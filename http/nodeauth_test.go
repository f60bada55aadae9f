package http

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/floodgate/floodgate"
	"github.com/floodgate/floodgate/internal/api"
)

// TestForwardMarker: a follower's signed marker gives the leader the buyer's
// address and whether the admin token was checked; a marker a client made
// up, a stale one, or one whose request was changed on the way is worth
// nothing, and the body still reaches the handler whole.
func TestForwardMarker(t *testing.T) {
	key := NodeKey("a-long-enough-admin-token")
	now := time.Unix(1_800_000_000, 0)
	buyer := netip.MustParseAddr("203.0.113.9")
	body := `{"quantity":1}`
	mk := func(hdr, b string) *http.Request {
		r := httptest.NewRequest(http.MethodPost, "/api/v1/drops/d/holds", strings.NewReader(b))
		if hdr != "" {
			r.Header.Set(ForwardedHeader, hdr)
		}
		return r
	}
	good := signForward(key, forwardMarker{ip: buyer, admin: true}, http.MethodPost, "/api/v1/drops/d/holds", []byte(body), now)
	r := mk(good, body)
	m, ok := checkForward(key, r, now.Add(5*time.Second))
	if !ok || m.ip != buyer || !m.admin {
		t.Fatalf("a good marker: ok %v, %+v", ok, m)
	}
	if b, _ := io.ReadAll(r.Body); string(b) != body {
		t.Fatalf("the handler read %q after the check, want the whole body", b)
	}
	for name, r := range map[string]*http.Request{
		"set by a client":  mk("1", body),
		"forged mac":       mk(strings.Replace(good, "mac=", "mac=x", 1), body),
		"other address":    mk(strings.Replace(good, "ip=203.0.113.9", "ip=203.0.113.10", 1), body),
		"admin flag added": mk(strings.Replace(signForward(key, forwardMarker{ip: buyer}, http.MethodPost, "/api/v1/drops/d/holds", []byte(body), now), "admin=0", "admin=1", 1), body),
		"other body":       mk(good, `{"quantity":9}`),
	} {
		if _, ok := checkForward(key, r, now); ok {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, ok := checkForward(key, mk(good, body), now.Add(2*time.Minute)); ok {
		t.Error("a marker two minutes old was accepted")
	}
	if _, ok := checkForward(NodeKey("another-cluster-admin-token"), mk(good, body), now); ok {
		t.Error("a marker of another cluster was accepted")
	}
}

// TestNodeAuth: calls between the nodes are signed instead of carrying the
// admin token; the signature binds method, path, body and time.
func TestNodeAuth(t *testing.T) {
	key := NodeKey("a-long-enough-admin-token")
	now := time.Unix(1_800_000_000, 0)
	body := `{"id":"node2"}`
	r := httptest.NewRequest(http.MethodPost, "/api/v1/cluster/join", strings.NewReader(body))
	SignNodeRequest(r, key, []byte(body), now)
	if r.Header.Get("Authorization") != "" {
		t.Fatal("a signed node call carries an Authorization header")
	}
	if !checkNodeAuth(key, r, now) {
		t.Fatal("a good signature refused")
	}
	hdr := r.Header.Get(NodeAuthHeader)
	other := httptest.NewRequest(http.MethodDelete, "/api/v1/cluster/nodes/node1", strings.NewReader(body))
	other.Header.Set(NodeAuthHeader, hdr)
	if checkNodeAuth(key, other, now) {
		t.Fatal("a signature replayed on another call was accepted")
	}
	again := httptest.NewRequest(http.MethodPost, "/api/v1/cluster/join", strings.NewReader(body))
	again.Header.Set(NodeAuthHeader, hdr)
	if checkNodeAuth(key, again, now.Add(-2*time.Minute)) {
		t.Fatal("a signature two minutes in the future was accepted")
	}
}

// TestAdminRefusesForgedMarkers: an admin route answers 401 to a client
// that sets the forwarding marker or the node signature itself.
func TestAdminRefusesForgedMarkers(t *testing.T) {
	s := &Server{cfg: Config{AdminToken: "a-long-enough-admin-token", Now: time.Now}, nodeKey: NodeKey("a-long-enough-admin-token")}
	called := false
	h := s.admin(floodgate.AccessRoot, func(w http.ResponseWriter, r *http.Request) { called = true })
	for _, hdr := range []string{ForwardedHeader, NodeAuthHeader} {
		called = false
		r := httptest.NewRequest(http.MethodGet, "/api/v1/cluster", nil)
		r.Header.Set(hdr, "t="+time.Now().Format("20060102")+",ip=127.0.0.1,admin=1,mac=AAAA")
		w := httptest.NewRecorder()
		s.withInfo(h).ServeHTTP(w, r)
		if called || w.Code != http.StatusUnauthorized {
			t.Errorf("%s set by a client: handler called %v, status %d", hdr, called, w.Code)
		}
	}
}

// withInfo runs h with the request info the middleware would attach.
func (s *Server) withInfo(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info := s.newRequestInfo(r, "test")
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxRequest, info)))
	})
}

// TestForwardBatchRefusesBadBatches: a signed batch that is malformed or too
// large gets the documented error shape, never a plain-text answer.
func TestForwardBatchRefusesBadBatches(t *testing.T) {
	s := &Server{}
	for _, c := range []struct {
		body   string
		status int
		code   string
	}{
		{"not a batch", http.StatusBadRequest, floodgate.EInvalid},
		{strings.Repeat("x", api.MaxBody+1), http.StatusRequestEntityTooLarge, floodgate.ETooLarge},
	} {
		w := httptest.NewRecorder()
		s.serveForwardBatch(w, httptest.NewRequest(http.MethodPost, "/", strings.NewReader(c.body)))
		if w.Code != c.status || !strings.Contains(w.Body.String(), `"code":"`+c.code+`"`) {
			t.Errorf("a %d-byte bad batch: %d %s", len(c.body), w.Code, w.Body)
		}
	}
}
