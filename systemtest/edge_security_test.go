package systemtest

import (
	"bufio"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/floodgate/floodgate/internal/testkit"
)

// openStream opens an event stream and returns its status; a 200 stream
// stays open until the test ends.
func openStream(t *testing.T, ctx context.Context, url string, hdr http.Header) int {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("stream %s: %v", url, err)
	}
	if resp.StatusCode == http.StatusOK {
		// Wait for the first event, so the stream is counted.
		_, _ = bufio.NewReader(resp.Body).ReadString('\n')
		t.Cleanup(func() { resp.Body.Close() })
	} else {
		resp.Body.Close()
	}
	return resp.StatusCode
}

// TestStreamCapsAndForwardedProto: the node's /admission streams and the
// edge's queue streams are capped per address like --streams-per-ip; and an
// edge behind a TLS-terminating proxy on loopback tells the node the buyer
// came over https, so the sign-in cookies are Secure.
func TestStreamCapsAndForwardedProto(t *testing.T) {
	node := testkit.StartNode(t, testkit.Options{Args: []string{"--streams-per-ip", "2"}})
	// Opening in an hour: the visitors' streams stay open while they wait.
	later := time.Now().Add(time.Hour)
	node.MustCreateDrop(t, testkit.DropRequest{ID: "caps", Name: "Caps", Stock: 5, StartsAt: &later})
	ctx := testkit.Context(t, 60*time.Second)
	adm := node.URL + "/api/v1/drops/caps/admission"
	admCtx, admCancel := context.WithCancel(ctx)
	for i := range 2 {
		if st := openStream(t, admCtx, adm, nil); st != http.StatusOK {
			t.Fatalf("admission stream %d: %d", i+1, st)
		}
	}
	if st := openStream(t, admCtx, adm, nil); st != http.StatusTooManyRequests {
		t.Fatalf("a third admission stream from one address: %d, want 429", st)
	}
	// Closed streams give their places back (the edge below needs one).
	admCancel()
	time.Sleep(500 * time.Millisecond)

	edge := testkit.StartEdge(t, []string{node.URL}, "--streams-per-ip", "2", "--admin-token", testkit.DefaultAdminToken)
	// The edge's metrics need the admin token too.
	if r, err := edge.Do(ctx, http.MethodGet, "/metrics", nil, nil); err != nil || r.Status != http.StatusUnauthorized {
		t.Fatalf("edge /metrics without a token: %v %v, want 401", r, err)
	}
	if r, err := edge.Do(ctx, http.MethodGet, "/metrics", testkit.Bearer(testkit.DefaultAdminToken), nil); err != nil || r.Status != http.StatusOK {
		t.Fatalf("edge /metrics with the admin token: %v %v", r, err)
	}
	tk := node.MustJoin(t, "caps")
	q := edge.URL + "/api/v1/drops/caps/queue"
	for i := range 2 {
		if st := openStream(t, ctx, q, testkit.Bearer(tk.Ticket)); st != http.StatusOK {
			t.Fatalf("edge queue stream %d: %d", i+1, st)
		}
	}
	if st := openStream(t, ctx, q, testkit.Bearer(tk.Ticket)); st != http.StatusTooManyRequests {
		t.Fatalf("a third queue stream from one address at the edge: %d, want 429", st)
	}

	// The test client plays the TLS-terminating proxy on loopback.
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	login := func(proto string) string {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, edge.URL+"/login?return=/d/caps", nil)
		req.Header.Set("X-Forwarded-Proto", proto)
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return strings.Join(resp.Header.Values("Set-Cookie"), "\n")
	}
	if c := login("https"); !strings.Contains(c, "fg_login_") || !strings.Contains(c, "Secure") {
		t.Fatalf("behind https through the edge, the login cookie is not Secure: %q", c)
	}
	if c := login("http"); strings.Contains(c, "Secure") {
		t.Fatalf("over plain http the login cookie is Secure (browsers would drop it): %q", c)
	}
}
