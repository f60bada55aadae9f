package http_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/floodgate/floodgate"
	fhttp "github.com/floodgate/floodgate/http"
	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/queue"
	"github.com/floodgate/floodgate/sale"
)

// TestQueueStatusOfADropNotAppliedYet: a node behind the leader can be
// asked about a valid ticket for a drop whose creation it has not applied.
// It waits a moment for its log and then answers the place; if the drop
// still does not come, it answers 503 with Retry-After — never "closed",
// a final state that would send the visitor away.
func TestQueueStatusOfADropNotAppliedYet(t *testing.T) {
	st := leaderStore(t)
	q := queue.New(queue.Config{Store: st, TickInterval: 10 * time.Millisecond})
	testkit.Background(t, q.Run)
	var keys *queue.Keys
	testkit.WaitFor(t, "cluster secret", func() bool { k, _, err := q.Keys(); keys = k; return err == nil })
	hs := handlerServer(t, fhttp.Config{Store: st, Queue: q})
	ticket := func(drop string) string {
		now := time.Now()
		c := &queue.Claims{Drop: drop, Visitor: "v-" + drop, Seq: 0}
		c.IssuedAt, c.ExpiresAt = jwt.NewNumericDate(now), jwt.NewNumericDate(now.Add(time.Hour))
		tok, err := queue.SignTicket(keys, c)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}

	// The drop is created while the request waits.
	go func() {
		time.Sleep(200 * time.Millisecond)
		sp := &sale.DropSpec{ID: "soon", Name: "Soon", Stock: 5, PerCustomerLimit: 1, StartsAt: time.Now().Add(time.Hour).UnixMilli(),
			HoldSeconds: 60, AdmitPerSecond: 10, AdmitWindow: 60, Fingerprint: "soon"}
		_, _ = st.Apply(context.Background(), &sale.Command{Kind: sale.KindCreateDrop, Now: time.Now().UnixMilli(), Drop: "soon", Spec: sp})
	}()
	if a := call(t, http.MethodGet, hs.URL+"/api/v1/drops/soon/queue", ticket("soon"), ""); a.status != http.StatusOK || a.code != "" {
		t.Fatalf("status of a drop applied while the request waited: %d %s", a.status, a.body)
	}

	a := call(t, http.MethodGet, hs.URL+"/api/v1/drops/never/queue", ticket("never"), "")
	if a.status != http.StatusServiceUnavailable || a.code != floodgate.EUnavailable || a.header.Get("Retry-After") == "" {
		t.Fatalf("status of a drop this node never applied: %d %q %s; want 503 unavailable with Retry-After", a.status, a.header.Get("Retry-After"), a.body)
	}
	if a := call(t, http.MethodGet, hs.URL+"/api/v1/drops/never/me", ticket("never"), ""); a.status != http.StatusServiceUnavailable {
		t.Fatalf("me of a drop this node never applied: %d %s; want 503", a.status, a.body)
	}
}
