package e2e

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/floodgate/floodgate"
	"github.com/floodgate/floodgate/internal/testkit"
)

// pendingOrder is an order request that got no answer: it may or may not
// have been committed, and the buyer will send it again with the same key.
type pendingOrder struct {
	hold, ticket, session, key, customer string
}

// crashLoad is the load of the crash test: buyers that join, hold and order
// until stopped, remembering every order answered 2xx and every order
// request left without an answer.
type crashLoad struct {
	c     *testkit.Client
	drop  string
	next  atomic.Int64 // buyer number, for unique customers and keys
	mu    sync.Mutex
	acked map[string]floodgate.Order
	// pending orders by key
	pending map[string]pendingOrder
	errs    []error
}

func (l *crashLoad) fail(err error) {
	l.mu.Lock()
	l.errs = append(l.errs, err)
	l.mu.Unlock()
}

// noAnswer reports whether err means the request may not have reached the
// server or its answer was lost: the node was killed under it.
func noAnswer(ctx context.Context, err error) bool {
	var ae *testkit.APIError
	return ctx.Err() != nil || !errors.As(err, &ae) || ae.Status == http.StatusServiceUnavailable
}

// buyer runs buyers one after the other until ctx ends.
func (l *crashLoad) buyer(ctx context.Context) {
	for ctx.Err() == nil {
		i := l.next.Add(1)
		customer := fmt.Sprintf("crash%05d@example.com", i)
		var tk testkit.Ticket
		if err := testkit.Retry(ctx, func() (err error) { tk, err = l.c.Join(ctx, l.drop); return err }); err != nil {
			if !noAnswer(ctx, err) {
				l.fail(fmt.Errorf("join: %w", err))
			}
			return
		}
		st, err := l.c.WaitAdmitted(ctx, l.drop, tk.Ticket, 20*time.Millisecond)
		if err != nil || st.State != floodgate.QueueAdmitted {
			if ctx.Err() == nil {
				l.fail(fmt.Errorf("wait for admission: %v (state %q)", err, st.State))
			}
			return
		}
		var hold floodgate.Hold
		if err := testkit.Retry(ctx, func() (err error) { hold, _, err = l.c.Hold(ctx, l.drop, tk.Ticket, 1); return err }); err != nil {
			if !noAnswer(ctx, err) {
				l.fail(fmt.Errorf("hold: %w", err))
			}
			return
		}
		var session string
		if err := testkit.Retry(ctx, func() (err error) { session, err = l.c.Session(ctx, customer); return err }); err != nil {
			if !noAnswer(ctx, err) {
				l.fail(fmt.Errorf("sign in: %w", err))
			}
			return
		}
		p := pendingOrder{hold: hold.ID, ticket: tk.Ticket, session: session, key: fmt.Sprintf("crash-key-%d", i), customer: customer}
		l.mu.Lock()
		l.pending[p.key] = p
		l.mu.Unlock()
		var o floodgate.Order
		err = testkit.Retry(ctx, func() (err error) { o, _, err = l.c.Order(ctx, p.hold, p.ticket, p.session, p.key); return err })
		l.mu.Lock()
		switch {
		case err == nil:
			delete(l.pending, p.key)
			l.acked[o.ID] = o
		case noAnswer(ctx, err):
			// Left pending: sent again after the restart.
		default:
			delete(l.pending, p.key)
			l.errs = append(l.errs, fmt.Errorf("order: %w", err))
		}
		l.mu.Unlock()
	}
}

// TestKillNineUnderLoadLosesNoOrder runs buyers against a real floodgate
// serve, kills it with SIGKILL at a random moment, restarts it on the same
// data dir and checks that every order answered 2xx is still there and the
// counters add up. Orders that got no answer are sent again with the same
// Idempotency-Key: each ends as exactly one order. Three rounds on the same
// data dir.
func TestKillNineUnderLoadLosesNoOrder(t *testing.T) {
	const (
		stock  = 100_000
		drop   = "crash"
		rounds = 3
		buyers = 24
	)
	n := testkit.StartNode(t, testkit.Options{})
	n.MustCreateDrop(t, testkit.DropRequest{ID: drop, Name: "Crash", Stock: stock, AdmitPerSecond: 100_000, AdmitWindowSeconds: 60})
	l := &crashLoad{c: n.Client, drop: drop, acked: map[string]floodgate.Order{}, pending: map[string]pendingOrder{}}
	seed := uint64(time.Now().UnixNano())
	r := rand.New(rand.NewPCG(seed, 1))
	t.Logf("random seed %d", seed)
	for round := 1; round <= rounds; round++ {
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for range buyers {
			wg.Go(func() {
				l.buyer(ctx)
			})
		}
		delay := time.Duration(300+r.IntN(1200)) * time.Millisecond
		time.Sleep(delay)
		n.Kill()
		cancel()
		wg.Wait()
		l.mu.Lock()
		for _, err := range l.errs {
			t.Errorf("round %d: %v", round, err)
		}
		l.errs = nil
		acked := len(l.acked)
		l.mu.Unlock()
		if t.Failed() {
			t.FailNow()
		}
		n.Restart(t)
		checkOrders(t, n, drop, l.acked, stock, false)
		// Orders without an answer, sent again with the same key, are each
		// exactly one order now.
		ctx, cancel = context.WithTimeout(context.Background(), 30*time.Second)
		for key, p := range l.pending {
			var o floodgate.Order
			err := testkit.Retry(ctx, func() (err error) { o, _, err = n.Order(ctx, p.hold, p.ticket, p.session, p.key); return err })
			if err != nil {
				t.Errorf("round %d: the order with key %s sent again after the restart: %v", round, key, err)
				continue
			}
			if o.HoldID != p.hold || o.Customer != p.customer {
				t.Errorf("round %d: key %s gave order %+v", round, key, o)
			}
			l.acked[o.ID] = o
			delete(l.pending, key)
		}
		cancel()
		checkOrders(t, n, drop, l.acked, stock, true)
		t.Logf("round %d: killed after %v with %d orders answered; %d after resending the unanswered", round, delay, acked, len(l.acked))
		if acked == 0 {
			t.Errorf("round %d: no order was answered before the kill; the test proves nothing", round)
		}
	}
}
