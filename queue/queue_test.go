package queue

import (
	"context"
	"log/slog"
	"sort"
	"testing"
	"time"

	"github.com/floodgate/floodgate"
	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/internal/testkit/localstore"
	"github.com/floodgate/floodgate/sale"
	"github.com/floodgate/floodgate/store"
)

// openStore opens a real single-node store in a temp dir and waits until it
// leads.
func openStore(t *testing.T) *store.Store { return localstore.Leader(t) }

// startQueue runs the waiting room with a fast ticker on st.
func startQueue(t *testing.T, st *store.Store, blockSize int64) *Service {
	t.Helper()
	q := New(Config{Store: st, SignAhead: 64, TickInterval: 10 * time.Millisecond, BlockSize: blockSize, Logger: slog.New(slog.DiscardHandler)})
	testkit.Background(t, q.Run)
	testkit.WaitFor(t, "cluster secret", func() bool { _, _, err := q.Keys(); return err == nil })
	return q
}

func createDrop(t testing.TB, st *store.Store, sp *sale.DropSpec) {
	t.Helper()
	_, err := st.Apply(context.Background(), &sale.Command{Kind: sale.KindCreateDrop, Now: time.Now().UnixMilli(), Drop: sp.ID, Spec: sp})
	if err != nil {
		t.Fatalf("create drop: %v", err)
	}
}

// dropSpec is a drop of stock units, one per customer, that starts at
// startsAt and admits admitPerSecond visitors a second; holds and the
// admission window last a minute.
func dropSpec(id string, stock int64, startsAt time.Time, admitPerSecond int64) *sale.DropSpec {
	return &sale.DropSpec{ID: id, Name: id, Stock: stock, PerCustomerLimit: 1, StartsAt: startsAt.UnixMilli(),
		HoldSeconds: 60, AdmitPerSecond: admitPerSecond, AdmitWindow: 60, Fingerprint: id}
}

func join(t *testing.T, q *Service, drop string) *Claims {
	t.Helper()
	tok, _, err := q.Join(context.Background(), drop)
	if err != nil {
		t.Fatalf("join %s: %v", drop, err)
	}
	_, v, _ := q.Keys()
	c, err := v.Verify(tok, drop, time.Now())
	if err != nil {
		t.Fatalf("the ticket Join gave does not verify: %v", err)
	}
	return c
}

func mustStatus(t *testing.T, q *Service, c *Claims) Status {
	t.Helper()
	st, err := q.Status(c)
	if err != nil {
		t.Fatalf("status of %+v: %v", c, err)
	}
	return st
}

// TestStatusOfADropNotAppliedHere: a valid ticket for a drop this node has
// not applied yet (a follower behind the leader) is told to ask again, not
// that the drop is closed, a final state that would send the visitor away.
func TestStatusOfADropNotAppliedHere(t *testing.T) {
	q := startQueue(t, openStore(t), 4)
	st, err := q.Status(&Claims{Drop: "not-here-yet", Visitor: "v", Seq: 0})
	if floodgate.ErrorCode(err) != floodgate.EUnavailable || st.State != "" {
		t.Fatalf("status of a drop not applied here: %+v, %v; want unavailable", st, err)
	}
}

func TestJoinAdmitsInOrderUpToStock(t *testing.T) {
	st := openStore(t)
	q := startQueue(t, st, 4)
	now := time.Now()
	createDrop(t, st, dropSpec("d", 3, now.Add(-time.Second), 1000))
	testkit.WaitFor(t, "drop start", func() bool {
		var started bool
		st.Read(func(s *sale.State) { started = s.Drops["d"].Started })
		return started
	})
	var tickets []*Claims
	seqs := map[int64]bool{}
	for range 10 {
		c := join(t, q, "d")
		if c.Early || seqs[c.Seq] {
			t.Fatalf("ticket %+v: early or a sequence number given twice", c)
		}
		seqs[c.Seq] = true
		tickets = append(tickets, c)
	}
	var lateNext int64
	st.Read(func(s *sale.State) { lateNext = s.Drops["d"].LateNext })
	if lateNext != 12 && lateNext != 16 {
		t.Fatalf("10 joins with blocks of 4 reserved %d positions, want 12 (3 blocks) or 16 (and the next one ahead)", lateNext)
	}
	testkit.WaitFor(t, "admission of the first 3", func() bool { return mustStatus(t, q, tickets[2]).State == floodgate.QueueAdmitted })
	time.Sleep(100 * time.Millisecond) // ten more ticks: still only 3
	for i, c := range tickets {
		s := mustStatus(t, q, c)
		if s.Position != int64(i+1) {
			t.Errorf("ticket %d is at position %d, want %d (first come, first served)", i, s.Position, i+1)
		}
		switch {
		case i < 3 && s.State != floodgate.QueueAdmitted:
			t.Errorf("ticket %d: %s, want admitted", i, s.State)
		case i >= 3 && (s.State != floodgate.QueueWaiting || !s.BeyondStock || s.Ahead != int64(i-3)):
			t.Errorf("ticket %d: %+v, want waiting beyond the stock with %d ahead", i, s, i-3)
		}
	}
}

func TestEarlyArrivalsAreShuffledAtTheStart(t *testing.T) {
	st := openStore(t)
	q := startQueue(t, st, 1000)
	startsAt := time.Now().Add(1500 * time.Millisecond)
	createDrop(t, st, dropSpec("e", 100, startsAt, 1))
	var early []*Claims
	for range 12 {
		c := join(t, q, "e")
		if time.Now().After(startsAt) {
			t.Skip("the machine is too slow to join 12 visitors in 1.5s; nothing to check")
		}
		if !c.Early {
			t.Fatalf("a visitor before the start got a late ticket %+v", c)
		}
		s := mustStatus(t, q, c)
		if s.State != floodgate.QueueWaiting || s.Position != 0 || s.StartsAt == nil || !s.StartsAt.Equal(startsAt.Truncate(time.Millisecond)) {
			t.Fatalf("an early visitor's status %+v: want waiting, no position yet, and the start time", s)
		}
		early = append(early, c)
	}
	testkit.WaitFor(t, "drop start", func() bool {
		var started bool
		st.Read(func(s *sale.State) { started = s.Drops["e"].Started })
		return started
	})
	var positions []int64
	identity := true
	for i, c := range early {
		p := mustStatus(t, q, c).Position
		positions = append(positions, p)
		if p != int64(i+1) {
			identity = false
		}
	}
	sorted := append([]int64(nil), positions...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	for i, p := range sorted {
		if p != int64(i+1) {
			t.Fatalf("early positions %v are not 1..12", positions)
		}
	}
	if identity {
		t.Fatalf("early positions %v are in arrival order; they must be shuffled", positions)
	}
	late := join(t, q, "e")
	if late.Early {
		t.Fatal("a visitor after the start got an early ticket")
	}
	if p := mustStatus(t, q, late).Position; p != 13 {
		t.Fatalf("the first visitor after the start is at %d, want 13 (after every early one)", p)
	}
}

func TestStatusOfFinalStates(t *testing.T) {
	s := sale.NewState()
	sp := &sale.DropSpec{ID: "f", Name: "F", Stock: 1, PerCustomerLimit: 1, StartsAt: 1000, HoldSeconds: 10, AdmitPerSecond: 10, AdmitWindow: 5, Fingerprint: "f"}
	s.Apply(&sale.Command{Kind: sale.KindCreateDrop, Now: 500, Drop: "f", Spec: sp})
	d := s.Drops["f"]
	if got := StatusOf(d, true, 0, 600); got.State != floodgate.QueueWaiting || got.ETASeconds != 1 || got.StartsAt == nil {
		t.Fatalf("before the start: %+v", got)
	}
	s.Apply(&sale.Command{Kind: sale.KindTick, Now: 1000})
	s.Apply(&sale.Command{Kind: sale.KindReserveBlock, Now: 1000, Drop: "f", Size: 5})
	s.Apply(&sale.Command{Kind: sale.KindTick, Now: 2000, Issued: []sale.Issued{{Drop: "f", Late: 5}}})
	if got := StatusOf(d, false, 0, 2000); got.State != floodgate.QueueAdmitted || got.Position != 1 {
		t.Fatalf("first in line: %+v", got)
	}
	if got := StatusOf(d, false, 3, 2000); got.State != floodgate.QueueWaiting || !got.BeyondStock || got.Ahead != 2 {
		t.Fatalf("fourth in line for 1 unit: %+v", got)
	}
	s.Apply(&sale.Command{Kind: sale.KindHold, Now: 2000, Drop: "f", Visitor: "v", Seq: 0, Quantity: 1})
	if got := StatusOf(d, false, 3, 2000); got.State != floodgate.QueueWaiting {
		t.Fatalf("while the last unit is held (it may come back): %+v", got)
	}
	s.Apply(&sale.Command{Kind: sale.KindOrder, Now: 2000, HoldID: s.Tickets.Get("f", "v").ID, Visitor: "v", Customer: "c", IdemKey: "k"})
	if got := StatusOf(d, false, 3, 2000); got.State != floodgate.QueueSoldOut {
		t.Fatalf("after the last unit sold: %+v", got)
	}
	s.Apply(&sale.Command{Kind: sale.KindCloseDrop, Now: 2000, Drop: "f"})
	if got := StatusOf(d, false, 3, 2000); got.State != floodgate.QueueClosed {
		t.Fatalf("after close: %+v", got)
	}
}
