package queue

import (
	"context"
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
	q := New(Config{Store: g, SignAhead: 64, TickInterval: 10 * time.Millisecond, BlockSize: 10, Logger: slog.New(slog.DiscardHandler)})
	testkit.Background(t, q.Run)
	testkit.WaitFor(t, "cluster secret", func() bool { _, _, err := q.Keys(); return err == nil })
	createDrop(t, st, dropSpec("d", 100, time.Now().Add(-time.Second), 1))
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
	createDrop(t, st, dropSpec("e", 100, time.Now().Add(time.Hour), 1))
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

// TestOpeningCountsEveryEarlyArrival joins from many goroutines while the
// leader's tick proposes the opening: every early position handed out
// (without a lock) is counted by the opening, so none is left outside the
// shuffle, and every counted one was handed out.
func TestOpeningCountsEveryEarlyArrival(t *testing.T) {
	st := openStore(t)
	q := startQueue(t, st, 50)
	startsAt := time.Now().Add(400 * time.Millisecond)
	createDrop(t, st, dropSpec("o", 100, startsAt, 1))
	_, v, _ := q.Keys()
	var (
		mu    sync.Mutex
		early []int64
		wg    sync.WaitGroup
	)
	errs := make(chan error, 32)
	for range 32 {
		wg.Go(func() {
			for time.Now().Before(startsAt.Add(300 * time.Millisecond)) {
				tok, _, err := q.Join(context.Background(), "o")
				if err != nil {
					errs <- err
					return
				}
				c, err := v.Verify(tok, "o", time.Now())
				if err != nil {
					errs <- err
					return
				}
				if c.Early {
					mu.Lock()
					early = append(early, c.Seq)
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	var total int64
	testkit.WaitFor(t, "the opening", func() bool {
		var started bool
		st.Read(func(s *sale.State) { started, total = s.Drops["o"].Started, s.Drops["o"].EarlyTotal })
		return started
	})
	if len(early) == 0 {
		t.Skip("no early arrival before the opening on this machine; nothing to check")
	}
	seen := map[int64]bool{}
	for _, seq := range early {
		if seq >= total || seen[seq] {
			t.Fatalf("early position %d handed out twice or not counted by the opening (%d early arrivals counted)", seq, total)
		}
		seen[seq] = true
	}
	if int64(len(early)) != total {
		t.Fatalf("the opening counted %d early arrivals, %d were handed out", total, len(early))
	}
}
