package queue

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/sale"
	"github.com/floodgate/floodgate/store"
)

// gatedStore holds every ReserveBlock but a new leader's first (Fresh)
// while armed, until the gate opens.
type gatedStore struct {
	*store.Store
	armed   atomic.Bool
	entered chan struct{}
	gate    chan struct{}
}

func (g *gatedStore) Apply(ctx context.Context, c *sale.Command) (sale.Result, error) {
	if c.Kind == sale.KindReserveBlock && !c.Fresh && g.armed.Load() {
		g.entered <- struct{}{}
		<-g.gate
	}
	return g.Store.Apply(ctx, c)
}

// TestJoinsAndTicksDoNotWaitForAReservation holds the Raft write of a block
// reservation: the next block is asked for as soon as the first comes into
// use, joins go on taking the positions left meanwhile, a join that finds
// none left waits for it without holding up the leader's ticks (which
// report how far positions were handed out), and positions stay in arrival
// order.
func TestJoinsAndTicksDoNotWaitForAReservation(t *testing.T) {
	st := openStore(t)
	g := &gatedStore{Store: st, entered: make(chan struct{}, 4), gate: make(chan struct{})}
	var opened sync.Once
	open := func() { opened.Do(func() { close(g.gate) }) }
	defer open()
	q := New(Config{Store: g, TickInterval: 10 * time.Millisecond, BlockSize: 10, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); q.Run(ctx) }()
	defer func() { cancel(); <-done }()
	testkit.WaitFor(t, "cluster secret", func() bool { _, _, err := q.Keys(); return err == nil })
	createDrop(t, st, &sale.DropSpec{ID: "d", Name: "D", Stock: 100, PerCustomerLimit: 1, StartsAt: time.Now().Add(-time.Second).UnixMilli(),
		HoldSeconds: 60, AdmitPerSecond: 1, AdmitWindow: 60, Fingerprint: "d"})
	testkit.WaitFor(t, "drop start", func() bool {
		var started bool
		st.Read(func(s *sale.State) { started = s.Drops["d"].Started })
		return started
	})
	g.armed.Store(true)
	var seqs []int64
	seqs = append(seqs, join(t, q, "d").Seq) // reserves [0, 10)
	select {
	case <-g.entered: // the block is in use: the next one is being reserved
	case <-time.After(30 * time.Second):
		t.Fatal("no reservation of the next block once the first came into use")
	}
	for range 9 { // the rest of the block, while that reservation is held
		seqs = append(seqs, join(t, q, "d").Seq)
	}
	last := make(chan int64, 1)
	go func() {
		tok, _, err := q.Join(context.Background(), "d")
		if err != nil {
			last <- -1
			return
		}
		_, v, _ := q.Keys()
		c, err := v.Verify(tok, "d", time.Now())
		if err != nil {
			last <- -1
			return
		}
		last <- c.Seq
	}()
	time.Sleep(50 * time.Millisecond)
	select {
	case s := <-last:
		t.Fatalf("a join got position %d although no block was left and the reservation was held", s)
	default:
	}
	testkit.WaitFor(t, "a tick reporting the 10 positions handed out", func() bool {
		var issued int64
		st.Read(func(s *sale.State) { issued = s.Drops["d"].LateIssued })
		return issued == 10
	})
	open()
	select {
	case s := <-last:
		seqs = append(seqs, s)
	case <-time.After(30 * time.Second):
		t.Fatal("the waiting join did not get a position once the reservation was committed")
	}
	for i, s := range seqs {
		if s != int64(i) {
			t.Fatalf("positions %v; want 0..10 in arrival order", seqs)
		}
	}
}

// TestFirstLateBlockIsReservedBeforeTheOpening: an early arrival has the
// first late block reserved (as the new leader's first, Fresh), so the first
// join after the opening does not wait for a Raft write.
func TestFirstLateBlockIsReservedBeforeTheOpening(t *testing.T) {
	st := openStore(t)
	q := startQueue(t, st, 10)
	createDrop(t, st, &sale.DropSpec{ID: "e", Name: "E", Stock: 100, PerCustomerLimit: 1, StartsAt: time.Now().Add(time.Hour).UnixMilli(),
		HoldSeconds: 60, AdmitPerSecond: 1, AdmitWindow: 60, Fingerprint: "e"})
	if c := join(t, q, "e"); !c.Early {
		t.Fatalf("a visitor an hour before the start got a late ticket %+v", c)
	}
	testkit.WaitFor(t, "the first late block reserved", func() bool {
		var lateNext int64
		st.Read(func(s *sale.State) { lateNext = s.Drops["e"].LateNext })
		return lateNext == 10
	})
	var started bool
	st.Read(func(s *sale.State) { started = s.Drops["e"].Started })
	if started {
		t.Fatal("the drop started an hour early")
	}
}
