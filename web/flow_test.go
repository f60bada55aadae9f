package web

import (
	"context"
	"testing"
	"time"

	"github.com/floodgate/floodgate"
	"github.com/floodgate/floodgate/identity"
)

func newTestHandler(t testing.TB) *Handler {
	t.Helper()
	h, err := New(Config{Drops: noDrops{}, Sessions: identity.NewSessions([]byte("k"), time.Hour), CookieKey: []byte("flow-key")})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestFlowCookieRoundTripAndTamper(t *testing.T) {
	h := newTestHandler(t)
	f := loginFlow{State: "s", Nonce: "n", Verifier: "v", Return: "/d/x", Expires: 42}
	v := h.encodeFlow(f)
	got, ok := h.decodeFlow(v)
	if !ok || got != f {
		t.Fatalf("round trip: %+v %v", got, ok)
	}
	other := newTestHandler(t)
	other.cfg.CookieKey = []byte("another-key")
	if _, ok := other.decodeFlow(v); ok {
		t.Fatal("a flow signed with another key was accepted")
	}
	for _, bad := range []string{"", ".", v + "x", "x" + v, v[:len(v)-1]} {
		if _, ok := h.decodeFlow(bad); ok {
			t.Errorf("decodeFlow(%q) accepted", bad)
		}
	}
}

// FuzzDecodeFlow: whatever a browser sends as the flow cookie, decoding
// never panics, and only what was signed here is accepted.
func FuzzDecodeFlow(f *testing.F) {
	h := newTestHandler(f)
	f.Add(h.encodeFlow(loginFlow{State: "s", Return: "/"}))
	f.Add("e30.AAAA")
	f.Add("")
	f.Fuzz(func(t *testing.T, v string) {
		fl, ok := h.decodeFlow(v)
		// Only this handler signs flows, so anything accepted must be
		// exactly what it would have written.
		if ok && (fl.State == "" || h.encodeFlow(fl) != v) {
			t.Fatalf("accepted a flow it did not write: %q", v)
		}
	})
}

type noDrops struct{}

func (noDrops) Drop(context.Context, string) (floodgate.Drop, error) {
	return floodgate.Drop{}, floodgate.Errorf(floodgate.ENotFound, "none")
}
