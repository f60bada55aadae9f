package sale

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// compatScenario is a sale in two halves, written out command by command
// so that code of any age can run it: two drops (one with a payment step),
// customers ordering several times and in both drops, replayed and reused
// Idempotency-Keys, holds left active, released and expired, orders paid,
// cancelled and expired. testdata/compat-*.json are the states the code of
// round 9's start (f68faa8) wrote after each half.
func compatScenario() (first, second []Command) {
	a, b := spec("a", 1000), spec("b", 1000) // stock enough that admission never waits on it
	a.PerCustomerLimit, a.HoldSeconds, a.AdmitWindow = 3, 30, 600
	b.PerCustomerLimit, b.PaymentSeconds, b.AdmitWindow = 2, 60, 600
	now := t0 + 2000
	hold := func(drop string, v int) Command {
		return Command{Kind: KindHold, Now: now, Drop: drop, Visitor: fmt.Sprintf("visitor-%03d", v), Seq: int64(v), Quantity: 1}
	}
	holdID := func(n uint64, v int) string {
		return "h_" + strconv.FormatUint(n, 36) + "_" + shortID(fmt.Sprintf("visitor-%03d", v))
	}
	var nextHold uint64
	order := func(v int, customer int, key string) Command {
		nextHold++
		return Command{Kind: KindOrder, Now: now, HoldID: holdID(nextHold, v), Visitor: fmt.Sprintf("visitor-%03d", v),
			Customer: fmt.Sprintf("c%02d@example.com", customer), IdemKey: key}
	}
	first = []Command{
		{Kind: KindCreateDrop, Now: t0 - 5000, Drop: "a", Spec: a},
		{Kind: KindCreateDrop, Now: t0 - 5000, Drop: "b", Spec: b},
		{Kind: KindTick, Now: t0, Seed: 42},
		{Kind: KindReserveBlock, Now: t0, Drop: "a", Size: 60},
		{Kind: KindReserveBlock, Now: t0, Drop: "b", Size: 60},
		{Kind: KindTick, Now: t0 + 1000, Issued: []Issued{{Drop: "a", Late: 60}, {Drop: "b", Late: 60}}},
	}
	// Drop a: each of ten customers orders three times; drop b: twice,
	// awaiting payment. Holds are numbered in the order they are made.
	for v := range 30 {
		first = append(first, hold("a", v), order(v, v%10, fmt.Sprint("k", v)))
	}
	for v := range 20 {
		first = append(first, hold("b", v), order(v, v%10, fmt.Sprint("kb", v)))
	}
	replay := order(5, 5, "k5") // a replay of the sixth order
	nextHold--
	replay.HoldID = holdID(6, 5)
	first = append(first, replay)
	for v := 30; v < 40; v++ {
		first = append(first, hold("a", v)) // holds 51-60, left active
	}
	first = append(first, Command{Kind: KindRelease, Now: now, HoldID: holdID(60, 39), Visitor: "visitor-039"})

	now += 5000
	// Over the limit in a, a key reused for another hold, new customers,
	// payments, a cancellation, then the deadlines pass.
	nextHold = 50
	second = append(second, order(30, 0, "k-new"), order(31, 11, "k1"), order(32, 12, "k32"), order(33, 1, "k1"), order(34, 13, "k34"))
	nextHold = 60
	for v := 40; v < 50; v++ {
		second = append(second, hold("b", v), order(v, 10+v%5, fmt.Sprint("kb", v)))
	}
	second = append(second,
		Command{Kind: KindOrderPaid, Now: now, OrderID: orderID(31, 0)},
		Command{Kind: KindOrderPaid, Now: now, OrderID: orderID(32, 1)},
		Command{Kind: KindOrderCancel, Now: now, OrderID: orderID(33, 2)},
		Command{Kind: KindOrderCancel, Now: now, OrderID: orderID(1, 0)},
		Command{Kind: KindTick, Now: now + 40_000, Issued: []Issued{{Drop: "a", Late: 60}, {Drop: "b", Late: 60}}},
		Command{Kind: KindTick, Now: now + 70_000, Issued: []Issued{{Drop: "a", Late: 60}, {Drop: "b", Late: 60}}},
	)
	now += 70_000
	for v := 50; v < 55; v++ {
		nextHold = uint64(70 + v - 50)
		second = append(second, hold("b", v), order(v, v%10, fmt.Sprint("kb", v)))
	}
	return first, second
}

// orderID is the id of the n-th order, of visitor v's hold.
func orderID(n, v int) string {
	return "o_" + strconv.FormatUint(uint64(n), 36) + "_" + shortID(fmt.Sprintf("visitor-%03d", v))
}

func compatRun(tb testing.TB, s *State, cmds []Command) {
	tb.Helper()
	for _, c := range cmds {
		apply(tb, s, c) // refusals are part of the scenario
	}
}

// TestSnapshotsOfRound9StartLoad restores the state the code of round 9's
// start saved after the scenario's first half, runs the second half, and
// must save exactly the bytes that code saved at the end; running the whole
// scenario from nothing must give them too.
func TestSnapshotsOfRound9StartLoad(t *testing.T) {
	first, second := compatScenario()
	half, err := os.ReadFile(filepath.Join("testdata", "compat-half.json"))
	if err != nil {
		t.Fatal(err)
	}
	end, err := os.ReadFile(filepath.Join("testdata", "compat-end.json"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := Unmarshal(half)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
	if s.Events.Len() != 50 || s.Events[0].ctx.whole != nil {
		t.Fatalf("%d events read; events that say what their orders say must not be kept whole", s.Events.Len())
	}
	if s.Drops["a"].Active.Len() != 9 || len(s.Drops["b"].Unpaid) != 20 || s.Orders.Len() != 50 {
		t.Fatalf("the first half left %d active holds in a, %d unpaid orders in b, %d orders; want 9, 20, 50",
			s.Drops["a"].Active.Len(), len(s.Drops["b"].Unpaid), s.Orders.Len())
	}
	if again, _ := s.Marshal(); !bytes.Equal(again, half) {
		t.Fatalf("the first half's state saved again differs from the file:\n got %s\nwant %s", again, half)
	}
	compatRun(t, s, second)
	got, _ := s.Marshal()
	if !bytes.Equal(got, end) {
		t.Fatalf("restored and run on: another state than that code's:\n got %s\nwant %s", got, end)
	}
	fresh := NewState()
	compatRun(t, fresh, first)
	compatRun(t, fresh, second)
	if got, _ := fresh.Marshal(); !bytes.Equal(got, end) {
		t.Fatalf("the whole scenario gives another state than that code's:\n got %s\nwant %s", got, end)
	}
	if s.Orders.Len() != 68 || s.Drops["a"].Customers.Get("c00@example.com") != 2 {
		t.Fatalf("the scenario made %d orders; it should test more", s.Orders.Len())
	}
}
