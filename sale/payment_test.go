package sale

import (
	"fmt"
	"testing"

	"github.com/floodgate/floodgate"
)

// paymentCommand fills c with a command of the payment step or the order
// feed: paying and cancelling orders that exist (mostly), sinks coming and
// going and moving their cursors, and pruning the feed.
func (g *gen) paymentCommand(c *Command) {
	order := func() string {
		if g.s.Orders.Len() == 0 || g.chance(0.05) {
			return fmt.Sprintf("o_%d_nope", g.pick(50))
		}
		return pickID(g, &g.s.Orders)
	}
	sink := func() string {
		if len(g.s.Sinks) == 0 || g.chance(0.05) {
			return "sk_nope"
		}
		return pickKey(g, g.s.Sinks)
	}
	switch p := g.pick(100); {
	case p < 40:
		c.Kind, c.OrderID = KindOrderPaid, order()
	case p < 55:
		c.Kind, c.OrderID = KindOrderCancel, order()
	case p < 62:
		c.Kind = KindAddSink
		switch g.pick(4) {
		case 0:
			c.Sink = &SinkSpec{Kind: SinkWebhook, URL: "https://shop.example/hook", Secret: "s3cret"}
		case 1:
			c.Sink = &SinkSpec{Kind: SinkPostgres, DSN: "postgres://localhost/shop", Table: "floodgate_orders"}
		case 2:
			c.Sink = &SinkSpec{Kind: "ftp", URL: "ftp://x"}
		default:
			c.Sink = &SinkSpec{Kind: SinkPostgres, DSN: "postgres://localhost/shop", Table: "Bad Table"}
		}
	case p < 66:
		c.Kind, c.SinkID = KindRemoveSink, sink()
	case p < 88:
		c.Kind, c.SinkID = KindSinkProgress, sink()
		c.Delivered = g.s.EventSeq - uint64(g.pick(int(min(g.s.EventSeq, 5))+1)) + uint64(g.pick(2))
		if g.chance(0.3) {
			c.SinkError = "connection refused"
			c.Dead = g.chance(0.3)
		}
	case p < 92:
		c.Kind, c.SinkID = KindRetrySink, sink()
	default:
		c.Kind, c.RetentionMs = KindPruneEvents, int64(g.pick(3))*1000
		if g.chance(0.05) {
			c.RetentionMs = -1
		}
	}
}

type paymentSnap struct {
	eventSeq uint64
	orders   map[string]Order
}

func paymentSnapshot(s *State) paymentSnap {
	ps := paymentSnap{eventSeq: s.EventSeq, orders: make(map[string]Order, s.Orders.Len())}
	for o := range s.Orders.All() {
		id := o.ID
		ps.orders[id] = *o
	}
	return ps
}

// checkPayment checks the rules of the payment step and the feed that one
// state alone does not show: every change of an order's status is one event
// with the next seq; no order awaits payment past its deadline after a tick;
// statuses move only forward; paying twice answers the same order.
func (ck *checker) checkPayment(tb testing.TB, s *State, c *Command, res Result, before paymentSnap) {
	tb.Helper()
	changed := 0
	for o := range s.Orders.All() {
		id := o.ID
		b, existed := before.orders[id]
		if !existed {
			changed++
			if o.Seq == 0 {
				tb.Fatalf("new order %s has no event", id)
			}
			continue
		}
		if b.Status == o.Status {
			if o.Seq != b.Seq {
				tb.Fatalf("order %s got an event without a change of status", id)
			}
			continue
		}
		changed++
		switch {
		case b.Status == floodgate.OrderAwaitingPayment:
		case b.Status == floodgate.OrderPaid && o.Status == floodgate.OrderCancelled:
		default:
			tb.Fatalf("order %s went from %s to %s on %v", id, b.Status, o.Status, c.Kind)
		}
		if o.Seq <= before.eventSeq {
			tb.Fatalf("order %s changed to %s without a new event", id, o.Status)
		}
	}
	if got := s.EventSeq - before.eventSeq; got != uint64(changed) {
		tb.Fatalf("%v: %d orders changed, %d events", c.Kind, changed, got)
	}
	if c.Kind == KindTick {
		for o := range s.Orders.All() {
			id := o.ID
			if o.Status == floodgate.OrderAwaitingPayment && o.PayBy <= c.Now {
				tb.Fatalf("order %s still awaits payment at %d after its deadline %d", id, c.Now, o.PayBy)
			}
		}
	}
	if c.Kind == KindOrderPaid && res.Err == nil {
		if res.Order.Status != floodgate.OrderPaid || s.Orders.Get(c.OrderID).Status != floodgate.OrderPaid {
			tb.Fatalf("paying %s answered %+v", c.OrderID, res.Order)
		}
		if b := before.orders[c.OrderID]; b.Status == floodgate.OrderPaid && s.EventSeq != before.eventSeq {
			tb.Fatal("paying a paid order again made an event")
		}
	}
	if c.Kind == KindOrderPaid && res.Err != nil && res.Err.Code == floodgate.EPaymentExpired {
		if o := s.Orders.Get(c.OrderID); o.Status != floodgate.OrderExpired {
			tb.Fatalf("payment_expired for order %+v at %d", o, c.Now)
		}
	}
}

// paidDrop opens a drop with a payment step of 60 s and orders one unit for
// each of n customers.
func paidDrop(t *testing.T, stock, n int64) (*State, int64, []string) {
	t.Helper()
	sp := spec("pay", stock)
	sp.PaymentSeconds = 60
	s, now := openDrop(t, sp, stock+10)
	var ids []string
	for i := range n {
		v := fmt.Sprintf("visitor-%d", i)
		h := mustOK(t, s, holdCmd("pay", v, i, 1, now)).Hold
		o := mustOK(t, s, orderCmd(h.ID, v, fmt.Sprintf("c%d@example.com", i), "k"+v, now)).Order
		if o.Status != floodgate.OrderAwaitingPayment || o.PayBy == nil || o.PayBy.UnixMilli() != now+60_000 {
			t.Fatalf("new order %+v, want awaiting_payment with pay_by in 60 s", o)
		}
		ids = append(ids, o.ID)
	}
	return s, now, ids
}

func TestPaymentDeadline(t *testing.T) {
	s, now, ids := paidDrop(t, 3, 3)
	d := s.Drops["pay"]
	if d.Available != 0 || d.AwaitingPayment != 3 || d.Sold != 0 {
		t.Fatalf("after 3 orders: available %d awaiting %d sold %d", d.Available, d.AwaitingPayment, d.Sold)
	}
	// Paying twice answers the same paid order, with one event.
	p1 := mustOK(t, s, Command{Kind: KindOrderPaid, Now: now + 1000, OrderID: ids[0]}).Order
	seq := s.EventSeq
	p2 := mustOK(t, s, Command{Kind: KindOrderPaid, Now: now + 2000, OrderID: ids[0]}).Order
	if p1.Status != floodgate.OrderPaid || p1 != p2 && p1.ID != p2.ID || s.EventSeq != seq {
		t.Fatalf("paying twice: %+v then %+v, events %d→%d", p1, p2, seq, s.EventSeq)
	}
	// A cancel returns the unit at once.
	mustOK(t, s, Command{Kind: KindOrderCancel, Now: now + 3000, OrderID: ids[1]})
	if d.Available != 1 || d.AwaitingPayment != 1 || d.Sold != 1 || d.Customers.Get("c1@example.com") != 0 {
		t.Fatalf("after a cancel: available %d awaiting %d sold %d", d.Available, d.AwaitingPayment, d.Sold)
	}
	// The deadline passes: the tick expires the last order and admission
	// can move on for the unit.
	tick(t, s, now+60_000, false, Issued{Drop: "pay", Late: 13})
	if o := s.Orders.Get(ids[2]); o.Status != floodgate.OrderExpired {
		t.Fatalf("order after its deadline: %s", o.Status)
	}
	if d.Available != 2 || d.AwaitingPayment != 0 || d.Sold != 1 {
		t.Fatalf("after expiry: available %d awaiting %d sold %d", d.Available, d.AwaitingPayment, d.Sold)
	}
	mustRefuse(t, s, Command{Kind: KindOrderPaid, Now: now + 61_000, OrderID: ids[2]}, floodgate.EPaymentExpired)
	mustRefuse(t, s, Command{Kind: KindOrderPaid, Now: now + 61_000, OrderID: ids[1]}, floodgate.EConflict)
	mustRefuse(t, s, Command{Kind: KindOrderPaid, Now: now + 61_000, OrderID: "o_zz_x"}, floodgate.ENotFound)

	var types []string
	for _, e := range s.Events.All() {
		types = append(types, fmt.Sprintf("%d %s %s", e.Seq, e.Type, e.Order.ID))
	}
	want := []string{
		"1 order.created " + ids[0], "2 order.created " + ids[1], "3 order.created " + ids[2],
		"4 order.paid " + ids[0], "5 order.cancelled " + ids[1], "6 order.expired " + ids[2],
	}
	if fmt.Sprint(types) != fmt.Sprint(want) {
		t.Fatalf("events\n got %v\nwant %v", types, want)
	}
	// The customer whose order expired may buy again.
	h := mustOK(t, s, holdCmd("pay", "visitor-2b", 3, 1, now+61_000)).Hold
	mustOK(t, s, orderCmd(h.ID, "visitor-2b", "c2@example.com", "again", now+61_000))
}

func TestPaymentExpiredAtPayTime(t *testing.T) {
	// A payment that arrives after pay_by but before the tick that would
	// expire the order is refused, and the order expires right there.
	s, now, ids := paidDrop(t, 2, 1)
	mustRefuse(t, s, Command{Kind: KindOrderPaid, Now: now + 60_000, OrderID: ids[0]}, floodgate.EPaymentExpired)
	if d := s.Drops["pay"]; d.Available != 2 || d.AwaitingPayment != 0 {
		t.Fatalf("available %d awaiting %d", d.Available, d.AwaitingPayment)
	}
}

func TestNoPaymentStepOrdersArePaid(t *testing.T) {
	s, now := openDrop(t, spec("free", 2), 5)
	h := mustOK(t, s, holdCmd("free", "v", 0, 1, now)).Hold
	o := mustOK(t, s, orderCmd(h.ID, "v", "a@example.com", "k", now)).Order
	if o.Status != floodgate.OrderPaid || o.PayBy != nil {
		t.Fatalf("order of a drop without payment: %+v", o)
	}
	wantCounts(t, s, "free", 1, 0, 1)
	if ev := s.EventsAfter(0, 10, nil); s.Events.Len() != 1 || len(ev) != 1 || ev[0].Type != floodgate.OrderEventCreated || ev[0].Order.Status != floodgate.OrderPaid {
		t.Fatalf("events %+v", ev)
	}
}

func TestSinksAndPruning(t *testing.T) {
	s, now, _ := paidDrop(t, 4, 4) // events 1..4
	sk := mustOK(t, s, Command{Kind: KindAddSink, Now: now, Sink: &SinkSpec{Kind: SinkWebhook, URL: "https://x.example/h", Secret: "k"}}).Sink
	mustRefuse(t, s, Command{Kind: KindAddSink, Now: now, Sink: &SinkSpec{Kind: SinkWebhook, URL: "https://x.example/h"}}, floodgate.EInvalid)
	mustOK(t, s, Command{Kind: KindSinkProgress, Now: now, SinkID: sk.ID, Delivered: 2})
	// Nothing past the sink's cursor is pruned, however old.
	mustOK(t, s, Command{Kind: KindPruneEvents, Now: now + 10_000, RetentionMs: 1000})
	if s.Events.Len() != 2 || s.Events.First().Seq != 3 {
		t.Fatalf("after pruning up to 2: %d events from %d", s.Events.Len(), s.Events.First().Seq)
	}
	// A cursor never moves back nor beyond the last event.
	mustOK(t, s, Command{Kind: KindSinkProgress, Now: now, SinkID: sk.ID, Delivered: 1})
	mustOK(t, s, Command{Kind: KindSinkProgress, Now: now, SinkID: sk.ID, Delivered: 99})
	if got := s.Sinks[sk.ID].DeliveredSeq; got != 4 {
		t.Fatalf("cursor %d, want 4", got)
	}
	r := mustOK(t, s, Command{Kind: KindSinkProgress, Now: now, SinkID: sk.ID, SinkError: "boom", Dead: true}).Sink
	if !r.Dead || r.LastError != "boom" || r.Failures != 1 {
		t.Fatalf("after a dead-letter: %+v", r)
	}
	if r := mustOK(t, s, Command{Kind: KindRetrySink, Now: now, SinkID: sk.ID}).Sink; r.Dead || r.Failures != 0 {
		t.Fatalf("after retry: %+v", r)
	}
	// Within the retention window nothing goes.
	mustOK(t, s, Command{Kind: KindPruneEvents, Now: now, RetentionMs: 1000})
	if s.Events.Len() != 2 {
		t.Fatalf("pruned within the window: %d left", s.Events.Len())
	}
	mustOK(t, s, Command{Kind: KindRemoveSink, Now: now, SinkID: sk.ID})
	mustRefuse(t, s, Command{Kind: KindRemoveSink, Now: now, SinkID: sk.ID}, floodgate.ENotFound)
	mustOK(t, s, Command{Kind: KindPruneEvents, Now: now + 10_000, RetentionMs: 1000})
	if s.Events.Len() != 0 || s.EventSeq != 4 {
		t.Fatalf("after pruning all: %d events, seq %d", s.Events.Len(), s.EventSeq)
	}
}
