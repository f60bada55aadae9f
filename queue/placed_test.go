package queue

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/floodgate/floodgate"
)

// TestJoinBetweenStartsAtAndTheOpening: a visitor who joins once starts_at
// has passed, but before the leader's tick that opens the drop, is told its
// real place, behind the early arrivals, not position 0 (which the buyer's
// page shows as a place still to be drawn, with an ETA of "any moment").
func TestJoinBetweenStartsAtAndTheOpening(t *testing.T) {
	st := openStore(t)
	t0 := time.Now()
	var clock atomic.Int64
	clock.Store(t0.UnixMilli())
	// No ticker: the test proposes the ticks, so that the join falls
	// between starts_at and the opening.
	q := New(Config{Store: st, SignAhead: -1, TickInterval: 100 * time.Millisecond, BlockSize: 10,
		Logger: slog.New(slog.DiscardHandler), Now: func() time.Time { return time.UnixMilli(clock.Load()) }})
	ctx := context.Background()
	if err := q.tick(ctx); err != nil { // commits the cluster secret
		t.Fatal(err)
	}
	createDrop(t, st, dropSpec("w", 100, t0.Add(time.Minute), 10))
	for range 3 {
		if c := join(t, q, "w"); !c.Early {
			t.Fatalf("a visitor a minute before the start got a late ticket %+v", c)
		}
	}
	if err := q.tick(ctx); err != nil { // reports the early arrivals
		t.Fatal(err)
	}
	clock.Store(t0.Add(time.Minute + time.Second).UnixMilli()) // starts_at passed; the opening tick not yet
	// What a node that has not applied the opening answers for a late
	// ticket: not placed yet, and not early (the page says "being placed").
	if v := st.QueueView("w"); v == nil {
		t.Fatal("no queue view of the drop")
	} else if ls := StatusOf(v, false, 0, clock.Load()); ls.Position != 0 || ls.Early || ls.StartsAt == nil || ls.State != floodgate.QueueWaiting {
		t.Fatalf("a late ticket before the opening: %+v, want waiting at position 0, not early, with starts_at", ls)
	}

	type answer struct {
		st  Status
		c   *Claims
		err error
	}
	got := make(chan answer, 1)
	go func() {
		tok, st, err := q.Join(ctx, "w")
		if err != nil {
			got <- answer{err: err}
			return
		}
		_, v, _ := q.Keys()
		c, err := v.Verify(tok, "w", time.UnixMilli(clock.Load()))
		got <- answer{st, c, err}
	}()
	// The opening tick comes a moment after the join.
	time.Sleep(100 * time.Millisecond)
	if err := q.tick(ctx); err != nil {
		t.Fatal(err)
	}
	var a answer
	select {
	case a = <-got:
	case <-time.After(30 * time.Second):
		t.Fatal("the join did not answer after the opening")
	}
	if a.err != nil {
		t.Fatal(a.err)
	}
	// The opening tick may admit it at once (a minute of admission credit
	// passed on the test's clock); its place is what matters.
	if a.c.Early || a.st.Position != 4 || a.st.StartsAt != nil || (a.st.State != floodgate.QueueWaiting && a.st.State != floodgate.QueueAdmitted) {
		t.Fatalf("joined between starts_at and the opening: %+v (ticket %+v); want position 4, behind the 3 early arrivals", a.st, a.c)
	}
	if a.c.Position != 4 {
		t.Fatalf("the ticket says position %d, want 4", a.c.Position)
	}
	if st := mustStatus(t, q, a.c); st.Position != 4 {
		t.Fatalf("status after the join: %+v, want position 4", st)
	}
}
