package edge_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/floodgate/floodgate"
	"github.com/floodgate/floodgate/edge"
	fhttp "github.com/floodgate/floodgate/http"
	"github.com/floodgate/floodgate/identity"
	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/internal/testkit/localstore"
	"github.com/floodgate/floodgate/queue"
)

// TestTicketForADropTheClusterHasNotAppliedHere: the node an edge follows
// may answer "no such drop" for a drop the leader created a moment ago. A
// ticket the cluster signed proves the drop exists, so the edge answers
// 503 with Retry-After — not 404, which makes the page throw the ticket
// (and the visitor's place) away.
func TestTicketForADropTheClusterHasNotAppliedHere(t *testing.T) {
	quiet := slog.New(slog.DiscardHandler)
	st := localstore.Leader(t)
	q := queue.New(queue.Config{Store: st, TickInterval: 10 * time.Millisecond, Logger: quiet})
	testkit.Background(t, q.Run)
	var keys *queue.Keys
	testkit.WaitFor(t, "cluster secret", func() bool { k, _, err := q.Keys(); keys = k; return err == nil })
	node := httptest.NewServer(fhttp.New(fhttp.Config{Store: st, Queue: q, Sessions: identity.NewSessions(nil, time.Hour),
		AdminToken: "edge-test-admin-token-0123", Logger: quiet}))
	t.Cleanup(node.Close)
	e, err := edge.New(edge.Config{Upstreams: []string{node.URL}, FirstEventTimeout: 2 * time.Second, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	testkit.Background(t, e.Run)
	front := httptest.NewServer(e)
	t.Cleanup(front.Close)

	now := time.Now()
	c := &queue.Claims{Drop: "not-here-yet", Visitor: "v", Seq: 0}
	c.IssuedAt, c.ExpiresAt = jwt.NewNumericDate(now), jwt.NewNumericDate(now.Add(time.Hour))
	tok, err := queue.SignTicket(keys, c)
	if err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, "the edge to know the cluster's keys", func() bool {
		req, _ := http.NewRequest(http.MethodGet, front.URL+"/api/v1/drops/not-here-yet/queue", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		r, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		defer r.Body.Close()
		var body struct {
			Error struct{ Code, Message string }
		}
		_ = json.NewDecoder(r.Body).Decode(&body)
		if !e.Ready() {
			return false
		}
		if r.StatusCode != http.StatusServiceUnavailable || body.Error.Code != floodgate.EUnavailable || r.Header.Get("Retry-After") == "" {
			t.Fatalf("a signed ticket for a drop the upstream has not applied: %d %+v; want 503 unavailable with Retry-After", r.StatusCode, body)
		}
		return true
	})
}
