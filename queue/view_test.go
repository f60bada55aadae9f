package queue

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/sale"
	"github.com/floodgate/floodgate/store"
)

var _ QueueViewer = (*store.Store)(nil)

// TestStatusFromTheViewIsStatusOf: through a real store, with early
// arrivals, the opening, admission and holds taking the units, the status Status answers from the store's published view (no
// lock) is exactly StatusOf of the locked state at the same applied
// command, for every ticket, at every point checked.
func TestStatusFromTheViewIsStatusOf(t *testing.T) {
	st := openStore(t)
	var clock atomic.Int64
	clock.Store(time.Now().UnixMilli())
	now := func() time.Time { return time.UnixMilli(clock.Load()) }
	q := New(Config{Store: st, SignAhead: 64, TickInterval: 5 * time.Millisecond, BlockSize: 7, Now: now, Logger: slog.New(slog.DiscardHandler)})
	testkit.Background(t, q.Run)
	testkit.WaitFor(t, "cluster secret", func() bool { _, _, err := q.Keys(); return err == nil })
	start := clock.Load() + 300
	createDrop(t, st, &sale.DropSpec{ID: "d", Name: "D", Stock: 12, PerCustomerLimit: 1, StartsAt: start,
		HoldSeconds: 10, AdmitPerSecond: 40, AdmitWindow: 5, Fingerprint: "d"})
	r := rand.New(rand.NewPCG(1, 2))
	var tickets []*Claims
	checks := 0
	compare := func() {
		clock.Store(time.Now().UnixMilli())
		st.Read(func(s *sale.State) {
			d := s.Drops["d"]
			n := clock.Load()
			for _, c := range tickets {
				got, err := q.Status(c)
				if err != nil {
					t.Fatalf("status of %+v: %v", c, err)
				}
				if want := StatusOf(d, c.Early, c.Seq, n); !sameStatus(got, want) {
					t.Fatalf("ticket (%v, %d) at applied %d: view %+v, StatusOf %+v", c.Early, c.Seq, s.Applied, got, want)
				}
				checks++
			}
		})
	}
	deadline := time.Now().Add(4 * time.Second)
	for time.Now().Before(deadline) {
		clock.Store(time.Now().UnixMilli())
		if len(tickets) < 120 && r.IntN(2) == 0 {
			tickets = append(tickets, join(t, q, "d"))
		}
		if len(tickets) > 0 && r.IntN(3) == 0 {
			c := tickets[r.IntN(len(tickets))]
			_, _ = st.Apply(context.Background(), &sale.Command{Kind: sale.KindHold, Now: clock.Load(), Drop: "d", Visitor: c.Visitor, Early: c.Early, Seq: c.Seq, Quantity: 1})
		}
		compare()
		time.Sleep(time.Millisecond)
	}
	var started bool
	st.Read(func(s *sale.State) { started = s.Drops["d"].Started && s.Drops["d"].AdmittedUpTo > 0 })
	if !started || checks == 0 {
		t.Fatalf("the drop never opened and admitted (%v) or nothing was compared (%d)", started, checks)
	}
	t.Logf("%d tickets, %d comparisons", len(tickets), checks)
}

func sameStatus(a, b Status) bool {
	if (a.StartsAt == nil) != (b.StartsAt == nil) || (a.StartsAt != nil && !a.StartsAt.Equal(*b.StartsAt)) {
		return false
	}
	a.StartsAt, b.StartsAt = nil, nil
	return a == b
}
