package sink_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/floodgate/floodgate"
	"github.com/floodgate/floodgate/internal/testkit"
)

func TestMain(m *testing.M) { os.Exit(testkit.RunMain(m)) }

// lastSeq is the seq of the newest event in the feed.
func lastSeq(t *testing.T, n *testkit.Node) uint64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var last uint64
	for {
		p, err := n.Events(ctx, last, 1000, 0)
		if err != nil {
			t.Fatalf("events: %v", err)
		}
		if len(p.Events) == 0 {
			return last
		}
		last = p.Next
	}
}

// sinkOf returns the sink with id as GET /api/v1/sinks shows it.
func sinkOf(t *testing.T, n *testkit.Node, id string) testkit.Sink {
	t.Helper()
	ctx := testkit.Context(t, 10*time.Second)
	var sinks []testkit.Sink
	err := testkit.Retry(ctx, func() (err error) { sinks, err = n.Sinks(ctx); return err })
	if err != nil {
		t.Fatalf("sinks: %v", err)
	}
	for _, s := range sinks {
		if s.ID == id {
			return s
		}
	}
	t.Fatalf("no sink %s in %+v", id, sinks)
	return testkit.Sink{}
}

// waitSink waits until the sink passes ok.
func waitSink(t *testing.T, n *testkit.Node, id string, timeout time.Duration, what string, ok func(testkit.Sink) bool) testkit.Sink {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		s := sinkOf(t, n, id)
		if ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("sink %s: %s did not happen within %v: %+v", id, what, timeout, s)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func waitDelivered(t *testing.T, n *testkit.Node, id string, timeout time.Duration) uint64 {
	t.Helper()
	last := lastSeq(t, n)
	waitSink(t, n, id, timeout, fmt.Sprintf("delivery up to seq %d", last), func(s testkit.Sink) bool { return s.DeliveredSeq >= last })
	return last
}

// TestWebhookSinkDeliversEveryEventInOrder: a shop's endpoint that fails the
// first deliveries gets every event, in seq order, each signed with the
// shared secret and carrying its seq in Floodgate-Event-Id; a shop that stays
// down is dead-lettered, and an operator's retry delivers the rest.
func TestWebhookSinkDeliversEveryEventInOrder(t *testing.T) {
	recv := testkit.StartWebhookReceiver(t, "shop-webhook-secret", 3)
	n := testkit.StartNode(t, testkit.Options{Args: []string{"--sink-max-backoff", "300ms", "--sink-dead-after", "4"}})
	sk := n.MustAddSink(t, testkit.SinkRequest{Kind: "webhook", URL: recv.URL, Secret: "shop-webhook-secret"})
	n.MustCreateDrop(t, testkit.DropRequest{ID: "hook", Name: "Hook", Stock: 20, PaymentSeconds: 600})
	var orders []floodgate.Order
	for i := range 8 {
		orders = append(orders, n.MustBuy(t, "hook", fmt.Sprintf("b%d@example.com", i), fmt.Sprintf("k%d", i)))
	}
	for _, o := range orders[:5] {
		n.MustPay(t, o.ID)
	}
	ctx := testkit.Context(t, 60*time.Second)
	if _, _, err := n.Cancel(ctx, orders[5].ID); err != nil {
		t.Fatal(err)
	}
	last := waitDelivered(t, n, sk.ID, 30*time.Second)
	if last != 14 {
		t.Fatalf("8 orders, 5 paid, 1 cancelled make %d events, want 14", last)
	}
	if problem := recv.CheckInOrder(last); problem != "" {
		t.Fatal(problem)
	}
	refused, badSigs, badIDs := recv.Failed()
	if refused < 3 || badSigs != 0 || badIDs != 0 {
		t.Fatalf("refused %d (want ≥ 3), bad signatures %d, bad event ids %d", refused, badSigs, badIDs)
	}
	feed, _ := n.Events(ctx, 0, 100, 0)
	got := map[uint64]floodgate.Event{}
	for _, e := range recv.Accepted() {
		got[e.Seq] = e
	}
	for _, e := range feed.Events {
		if g := got[e.Seq]; g.Type != e.Type || g.Order.ID != e.Order.ID || g.Order.Status != e.Order.Status {
			t.Fatalf("seq %d: the shop got %+v, the feed has %+v", e.Seq, g, e)
		}
	}

	// The shop goes down for good: after 4 failures in a row the sink is
	// dead-lettered, and says why.
	recv.SetDown(true)
	n.MustBuy(t, "hook", "late@example.com", "late")
	dead := waitSink(t, n, sk.ID, 30*time.Second, "dead-lettering", func(s testkit.Sink) bool { return s.State == "dead" })
	if dead.LastError == "" || dead.DeliveredSeq != last {
		t.Fatalf("dead sink %+v", dead)
	}
	recv.SetDown(false)
	if resp, err := n.Do(ctx, "POST", "/api/v1/sinks/"+sk.ID+"/retry", testkit.Bearer(n.AdminToken), nil); err != nil || resp.Status != 200 {
		t.Fatalf("retry: %v %+v", err, resp)
	}
	last = waitDelivered(t, n, sk.ID, 30*time.Second)
	if problem := recv.CheckInOrder(last); problem != "" {
		t.Fatal(problem)
	}
}

// TestPostgresSinkOneRowPerOrder: a real PostgreSQL gets one row per order,
// with its final status, through kill -9 of the node during delivery and a
// database that is stopped while orders keep coming and started again. The
// sale never waits for the sink.
func TestPostgresSinkOneRowPerOrder(t *testing.T) {
	pg := testkit.StartPostgres(t)
	n := testkit.StartNode(t, testkit.Options{Args: []string{"--sink-max-backoff", "500ms", "--sink-timeout", "3s"}})
	sk := n.MustAddSink(t, testkit.SinkRequest{Kind: "postgres", DSN: pg.DSN, Table: "shop_orders"})
	n.MustCreateDrop(t, testkit.DropRequest{ID: "pgdrop", Name: "PG", Stock: 40, PaymentSeconds: 4})
	ctx := testkit.Context(t, 120*time.Second)

	buy := func(from, to int) {
		for i := from; i < to; i++ {
			o := n.MustBuy(t, "pgdrop", fmt.Sprintf("b%d@example.com", i), fmt.Sprintf("k%d", i))
			if i%3 != 0 { // every third buyer never pays; the order expires
				n.MustPay(t, o.ID)
			}
		}
	}
	buy(0, 8)
	// kill -9 while the sink is behind or delivering; the cursor it
	// committed is where the restarted node resumes.
	n.Kill()
	n.Restart(t)
	buy(8, 14)

	pg.Stop()
	buy(14, 20) // the sale goes on while the database is down
	down := waitSink(t, n, sk.ID, 30*time.Second, "a failure in last_error", func(s testkit.Sink) bool { return s.LastError != "" && s.Failures > 0 })
	if last := lastSeq(t, n); down.DeliveredSeq >= last {
		t.Fatalf("the sink shows delivery up to %d of %d while its database is down", down.DeliveredSeq, last)
	}
	pg.Start()

	// Wait for every unpaid order to expire, then for delivery to catch up.
	deadline := time.Now().Add(30 * time.Second)
	for n.MustDrop(t, "pgdrop").AwaitingPayment > 0 {
		if time.Now().After(deadline) {
			t.Fatal("unpaid orders did not expire")
		}
		time.Sleep(200 * time.Millisecond)
	}
	last := waitDelivered(t, n, sk.ID, 60*time.Second)

	// The table has one row per order, each with the order's final status
	// and the seq of its last event.
	feed := map[string]floodgate.Event{}
	for after := uint64(0); after < last; {
		p, err := n.Events(ctx, after, 1000, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range p.Events {
			feed[e.Order.ID] = e
		}
		after = p.Next
	}
	orders := n.MustOrders(t, "pgdrop")
	if len(orders) != 20 || len(feed) != 20 {
		t.Fatalf("%d orders, %d in the feed; want 20", len(orders), len(feed))
	}
	conn := pg.Conn(t)
	rows, err := conn.Query(ctx, `SELECT id, drop, customer, quantity, status, seq FROM shop_orders`)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	statuses := map[string]int{}
	for rows.Next() {
		var id, drop, customer, status string
		var quantity, seq int64
		if err := rows.Scan(&id, &drop, &customer, &quantity, &status, &seq); err != nil {
			t.Fatal(err)
		}
		if seen[id] {
			t.Fatalf("order %s has two rows", id)
		}
		seen[id] = true
		e, ok := feed[id]
		if !ok {
			t.Fatalf("row %s is not an order", id)
		}
		if drop != "pgdrop" || customer != e.Order.Customer || quantity != 1 || status != e.Order.Status || uint64(seq) != e.Seq {
			t.Fatalf("row %s: %s %s %d %s seq %d; the feed's last event: %+v", id, drop, customer, quantity, status, seq, e)
		}
		statuses[status]++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 20 {
		t.Fatalf("%d rows for 20 orders", len(seen))
	}
	if statuses[floodgate.OrderPaid] != 13 || statuses[floodgate.OrderExpired] != 7 {
		t.Fatalf("statuses in the table: %v, want 13 paid and 7 expired", statuses)
	}
}
