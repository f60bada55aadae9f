package http_test

// Reads on a node behind the leader: what the leader took a moment ago (a
// drop, a hold, a draw entry) may not be applied there yet, and the node
// must not answer as if it never existed.

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/floodgate/floodgate"
	fhttp "github.com/floodgate/floodgate/http"
	"github.com/floodgate/floodgate/identity"
	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/queue"
	"github.com/floodgate/floodgate/sale"
	"github.com/floodgate/floodgate/store"
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

// TestHoldReadOnANodeBehindTheLeader: a buyer's hold is acknowledged by
// the leader, and their next look at it reaches a node that has not applied
// it yet. That node must not answer 404 (the page would take the hold for
// gone): it asks the leader. A hold that exists nowhere is still a 404.
func TestHoldReadOnANodeBehindTheLeader(t *testing.T) {
	st, behind := aheadAndBehind(t)
	q := queue.New(queue.Config{Store: st, TickInterval: 10 * time.Millisecond, SignAhead: -1})
	testkit.Background(t, q.Run)
	leader := handlerServer(t, fhttp.Config{Store: st, Queue: q})
	lagging := handlerServer(t, fhttp.Config{Store: follower{behind}, Queue: queue.New(queue.Config{Store: follower{behind}}), Cluster: knownLeader{leader.URL}})
	alone := handlerServer(t, fhttp.Config{Store: follower{behind}, Queue: queue.New(queue.Config{Store: follower{behind}}), Cluster: knownLeader{""}})

	if a := call(t, "POST", leader.URL+"/api/v1/drops", handlerToken, `{"id":"lamp","name":"Lamp","stock":3,"per_customer_limit":1,"admit_per_second":100,"challenge_difficulty":0}`); a.status != http.StatusCreated {
		t.Fatalf("create the drop: %d %s", a.status, a.body)
	}
	copyDrop(t, st, behind, "lamp")
	ticket, holdID := joinAndHold(t, leader.URL, "lamp")

	a := call(t, "GET", lagging.URL+"/api/v1/holds/"+holdID, ticket, "")
	if a.status != http.StatusOK || !strings.Contains(a.body, holdID) {
		t.Fatalf("the hold read on a node behind the leader: %d %s; want the leader's 200 with the hold", a.status, a.body)
	}
	a = call(t, "GET", lagging.URL+"/api/v1/holds/h_zz_nobody", ticket, "")
	if a.status != http.StatusNotFound || a.code != floodgate.ENotFound {
		t.Fatalf("a hold that exists nowhere, through the node behind: %d %s; want 404 not_found", a.status, a.body)
	}
	a = call(t, "GET", alone.URL+"/api/v1/holds/"+holdID, ticket, "")
	if a.status != http.StatusNotFound || a.code != floodgate.ENotFound {
		t.Fatalf("the hold read on a node with no leader known: %d %s; want its own 404", a.status, a.body)
	}
}

// readsCounted is a store that counts its reads of the state.
type readsCounted struct {
	*store.Store
	reads atomic.Int64
}

func (s *readsCounted) Read(fn func(st *sale.State)) {
	s.reads.Add(1)
	s.Store.Read(fn)
}

// TestHoldReadIsOneRead: GET of a hold checks that the hold is the
// ticket's and answers it from one read of the state, so nothing applied
// in between can leave the answer without its hold.
func TestHoldReadIsOneRead(t *testing.T) {
	st := &readsCounted{Store: leaderStore(t)}
	q := queue.New(queue.Config{Store: st, TickInterval: 10 * time.Millisecond, SignAhead: -1})
	ctx, stopQueue := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { defer close(stopped); q.Run(ctx) }()
	t.Cleanup(func() { stopQueue(); <-stopped })
	testkit.WaitFor(t, "cluster secret", func() bool { _, _, err := q.Keys(); return err == nil })
	hs := handlerServer(t, fhttp.Config{Store: st, Queue: q})
	if a := call(t, "POST", hs.URL+"/api/v1/drops", handlerToken, `{"id":"vase","name":"Vase","stock":3,"per_customer_limit":1,"admit_per_second":100,"challenge_difficulty":0}`); a.status != http.StatusCreated {
		t.Fatalf("create the drop: %d %s", a.status, a.body)
	}
	ticket, holdID := joinAndHold(t, hs.URL, "vase")
	// The queue's ticks read the state too: stopped, only the handler reads.
	stopQueue()
	<-stopped
	for range 3 {
		before := st.reads.Load()
		a := call(t, "GET", hs.URL+"/api/v1/holds/"+holdID, ticket, "")
		if a.status != http.StatusOK || !strings.Contains(a.body, holdID) {
			t.Fatalf("the hold read: %d %s; want 200 with the hold", a.status, a.body)
		}
		if reads := st.reads.Load() - before; reads != 1 {
			t.Fatalf("GET of a hold read the state %d times, want once", reads)
		}
	}
}

// TestEntryReadOnANodeBehindTheLeader: the same for a draw entry — the node
// that has not applied the entry asks the leader rather than tell the buyer
// they never entered.
func TestEntryReadOnANodeBehindTheLeader(t *testing.T) {
	st, behind := aheadAndBehind(t)
	sessions := identity.NewSessions([]byte("entry-read-test-session-key-32by"), time.Hour)
	leader := handlerServer(t, fhttp.Config{Store: st, Queue: queue.New(queue.Config{Store: st, SignAhead: -1}), Sessions: sessions})
	lagging := handlerServer(t, fhttp.Config{Store: follower{behind}, Queue: queue.New(queue.Config{Store: follower{behind}}), Sessions: sessions, Cluster: knownLeader{leader.URL}})

	ends := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	if a := call(t, "POST", leader.URL+"/api/v1/drops", handlerToken, `{"id":"raffle","name":"Raffle","stock":1,"mode":"draw","entry_ends_at":"`+ends+`","challenge_difficulty":0}`); a.status != http.StatusCreated {
		t.Fatalf("create the draw: %d %s", a.status, a.body)
	}
	copyDrop(t, st, behind, "raffle")
	session, err := sessions.Issue("ada@example.com", "", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if a := call(t, "POST", leader.URL+"/api/v1/drops/raffle/entries", "", `{"session":"`+session+`"}`); a.status != http.StatusCreated {
		t.Fatalf("enter the draw: %d %s", a.status, a.body)
	}
	if a := call(t, "GET", lagging.URL+"/api/v1/drops/raffle/entries/me", session, ""); a.status != http.StatusOK || !strings.Contains(a.body, `"pending"`) {
		t.Fatalf("the entry read on a node behind the leader: %d %s; want the leader's 200, pending", a.status, a.body)
	}
	other, _ := sessions.Issue("bob@example.com", "", time.Now())
	if a := call(t, "GET", lagging.URL+"/api/v1/drops/raffle/entries/me", other, ""); a.status != http.StatusNotFound || a.code != floodgate.ENotFound {
		t.Fatalf("the entry of a customer who never entered, through the node behind: %d %s; want 404", a.status, a.body)
	}
}

// aheadAndBehind opens two single-node stores with one cluster secret: the
// first stands for the leader, the second for a node that has applied the
// secret and what copyDrop gives it, and nothing the leader took since.
func aheadAndBehind(t *testing.T) (ahead, behind *store.Store) {
	ahead, behind = leaderStore(t), leaderStore(t)
	secret := []byte("behind-the-leader-secret-32bytes")
	for _, st := range []*store.Store{ahead, behind} {
		if _, err := st.Apply(context.Background(), &sale.Command{Kind: sale.KindInitSecret, Now: time.Now().UnixMilli(), Secret: secret}); err != nil {
			t.Fatal(err)
		}
	}
	return ahead, behind
}

// copyDrop gives behind the drop as ahead created it.
func copyDrop(t *testing.T, ahead, behind *store.Store, drop string) {
	var spec sale.DropSpec
	ahead.Read(func(s *sale.State) { spec = s.Drops[drop].Spec })
	if _, err := behind.Apply(context.Background(), &sale.Command{Kind: sale.KindCreateDrop, Now: time.Now().UnixMilli(), Drop: drop, Spec: &spec}); err != nil {
		t.Fatal(err)
	}
}
