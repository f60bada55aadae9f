package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/floodgate/floodgate"
	"github.com/floodgate/floodgate/internal/testkit"
)

// TestPaymentDeadlineAndFeed runs the payment step against a real node:
// orders start awaiting payment, paying twice answers the same order, an
// unpaid order expires at pay_by and its unit goes back on sale to the next
// buyer (and the same customer may buy again), paying it then is 409
// payment_expired, cancelling returns a unit; and the order feed shows every
// change once, in seq order, also to a long-polling reader.
func TestPaymentDeadlineAndFeed(t *testing.T) {
	n := testkit.StartNode(t, testkit.Options{})
	ctx := testkit.Context(t, 60*time.Second)
	n.MustCreateDrop(t, testkit.DropRequest{ID: "pay", Name: "Pay", Stock: 2, PaymentSeconds: 2,
		PaymentURL: "https://pay.example/checkout?order={order}&token={token}"})

	a := n.MustBuy(t, "pay", "a@example.com", "ka")
	b := n.MustBuy(t, "pay", "b@example.com", "kb")
	for _, o := range []floodgate.Order{a, b} {
		if o.Status != floodgate.OrderAwaitingPayment || o.PayBy == nil {
			t.Fatalf("new order %+v: want awaiting_payment with pay_by", o)
		}
	}
	if d := n.MustDrop(t, "pay"); d.Available != 0 || d.AwaitingPayment != 2 || d.Sold != 0 {
		t.Fatalf("drop after 2 orders: %+v", d)
	}
	p1 := n.MustPay(t, a.ID)
	p2 := n.MustPay(t, a.ID)
	if p1.Status != floodgate.OrderPaid || p2.Status != floodgate.OrderPaid || p1.ID != p2.ID {
		t.Fatalf("paying twice: %+v, %+v", p1, p2)
	}

	// A third buyer waits; b's order expires and the unit reaches them.
	waiter := n.MustJoin(t, "pay")
	n.MustWaitAdmitted(t, "pay", waiter.Ticket)
	if _, status, err := n.Pay(ctx, b.ID); status != http.StatusConflict || testkit.Code(err) != floodgate.EPaymentExpired {
		t.Fatalf("paying after pay_by: %d %v, want 409 payment_expired", status, err)
	}
	h := n.MustHold(t, "pay", waiter.Ticket, 1)
	// The customer whose order expired may buy again.
	c := n.MustOrder(t, h.ID, waiter.Ticket, n.MustSession(t, "b@example.com"), "kc")
	n.MustPay(t, c.ID)
	if d := n.MustDrop(t, "pay"); d.Sold != 2 || d.AwaitingPayment != 0 || d.Available != 0 {
		t.Fatalf("drop after the recycled unit sold: %+v", d)
	}
	if o, _, err := n.Cancel(ctx, a.ID); err != nil || o.Status != floodgate.OrderCancelled {
		t.Fatalf("cancel: %+v %v", o, err)
	}
	if d := n.MustDrop(t, "pay"); d.Available != 1 || d.Sold != 1 {
		t.Fatalf("drop after a cancel: %+v", d)
	}
	if _, status, err := n.Pay(ctx, "o_nope"); status != http.StatusNotFound {
		t.Fatalf("paying an unknown order: %d %v", status, err)
	}
	// The operator's changes are in the audit log, paying twice once.
	var audit struct {
		Entries []struct{ Action, Target, Actor string }
	}
	if _, err := n.Call(ctx, "GET", "/api/v1/audit", testkit.Bearer(n.AdminToken), nil, &audit); err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, e := range audit.Entries {
		count[e.Action+" "+e.Target]++
	}
	if count["order.paid "+a.ID] != 1 || count["order.paid "+c.ID] != 1 || count["order.cancel "+a.ID] != 1 {
		t.Fatalf("audit log %+v", audit.Entries)
	}

	page, err := n.Events(ctx, 0, 100, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i, e := range page.Events {
		if e.Seq != uint64(i+1) {
			t.Fatalf("event %d has seq %d", i, e.Seq)
		}
		got = append(got, e.Type+" "+e.Order.ID)
	}
	want := []string{"order.created " + a.ID, "order.created " + b.ID, "order.paid " + a.ID, "order.expired " + b.ID,
		"order.created " + c.ID, "order.paid " + c.ID, "order.cancelled " + a.ID}
	if strings.Join(got, ",") != strings.Join(want, ",") || page.Next != 7 || page.Oldest != 1 {
		t.Fatalf("feed\n got %v (next %d, oldest %d)\nwant %v", got, page.Next, page.Oldest, want)
	}
	if p, _ := n.Events(ctx, 5, 1, 0); len(p.Events) != 1 || p.Events[0].Seq != 6 || p.Next != 6 {
		t.Fatalf("a page of one after 5: %+v", p)
	}

	// A long poll is answered as soon as the next event exists.
	polled := make(chan EventsResult, 1)
	go func() {
		p, err := n.Events(ctx, 7, 10, 20)
		polled <- EventsResult{p, err}
	}()
	time.Sleep(300 * time.Millisecond)
	d := n.MustBuy(t, "pay", "d@example.com", "kd")
	select {
	case r := <-polled:
		if r.err != nil || len(r.page.Events) != 1 || r.page.Events[0].Order.ID != d.ID || r.page.Events[0].Type != floodgate.OrderEventCreated {
			t.Fatalf("long poll: %+v %v", r.page, r.err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the long poll was not answered when an event came")
	}
	// With nothing new, a short wait answers an empty page.
	if p, err := n.Events(ctx, 8, 10, 1); err != nil || len(p.Events) != 0 || p.Next != 8 {
		t.Fatalf("empty long poll: %+v %v", p, err)
	}
	for _, q := range []string{"after=-1", "after=x", "limit=0", "limit=1001", "wait=31", "wait=1.5"} {
		resp, err := n.Do(ctx, "GET", "/api/v1/events?"+q, testkit.Bearer(n.AdminToken), nil)
		if err != nil || resp.Status != http.StatusBadRequest || testkit.ParseError(resp).Code != floodgate.EInvalid {
			t.Fatalf("events?%s: %v %+v", q, err, resp)
		}
	}
	if resp, _ := n.Do(ctx, "GET", "/api/v1/events", nil, nil); resp.Status != http.StatusUnauthorized {
		t.Fatalf("events without the admin token: %d", resp.Status)
	}
}

// EventsResult carries a long poll's answer out of its goroutine.
type EventsResult struct {
	page testkit.EventsPage
	err  error
}

// TestSinkSpecs checks what POST /api/v1/sinks accepts and shows: bad specs
// are 400 with a clear message; an unreachable database is a sink that says
// why in last_error; secrets and passwords are never shown; DELETE works once.
func TestSinkSpecs(t *testing.T) {
	n := testkit.StartNode(t, testkit.Options{})
	ctx := testkit.Context(t, 60*time.Second)
	bad := []string{
		`{}`,
		`{"kind": "ftp", "url": "ftp://x"}`,
		`{"kind": "webhook", "url": "not a url", "secret": "k"}`,
		`{"kind": "webhook", "url": "https://shop.example/h"}`,
		`{"kind": "webhook", "url": "https://shop.example/h", "secret": "too-short"}`,
		`{"kind": "webhook", "url": "https://shop.example/h", "secret": "shop-secret-0123456789", "dsn": "postgres://x/y"}`,
		`{"kind": "postgres", "dsn": "mysql://x/y"}`,
		`{"kind": "postgres", "dsn": "postgres://x:bad port/y"}`,
		`{"kind": "postgres", "dsn": "postgres://x/y", "table": "Robert'); DROP TABLE students;--"}`,
		`{"kind": "webhook", "url": "https://shop.example/h", "secret": "shop-secret-0123456789", "tenant": "t"}`,
		`{"kind": "webhook", "url": "https://shop.example/h", "secret": "shop-secret-0123456789", "extra": 1}`,
		`[`,
	}
	for _, body := range bad {
		resp, err := n.Do(ctx, "POST", "/api/v1/sinks", testkit.Bearer(n.AdminToken), []byte(body))
		if err != nil || resp.Status != http.StatusBadRequest || testkit.ParseError(resp).Code != floodgate.EInvalid {
			t.Fatalf("POST /api/v1/sinks %s: %v %d %s", body, err, resp.Status, resp.Body)
		}
	}
	// Nothing listens on this port: the sink is created, and says why it
	// cannot deliver.
	down := "postgres://shop:hunter2@" + testkit.FreeAddr(t) + "/shop?sslmode=disable"
	pg := n.MustAddSink(t, testkit.SinkRequest{Kind: "postgres", DSN: down})
	wh := n.MustAddSink(t, testkit.SinkRequest{Kind: "webhook", URL: "https://shop.example/hook", Secret: "s3cret-value-of-16+"})
	if pg.Table != "floodgate_orders" || strings.Contains(pg.DSN, "hunter2") {
		t.Fatalf("postgres sink %+v: want the default table and no password", pg)
	}
	var got testkit.Sink
	testkit.WaitFor(t, "the unreachable database in the sink's last_error", func() bool {
		sinks, err := n.Sinks(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range sinks {
			if s.ID == pg.ID {
				got = s
			}
		}
		return got.LastError != ""
	})
	if got.State != "retrying" || strings.Contains(got.LastError, "hunter2") {
		t.Fatalf("unreachable sink: %+v", got)
	}
	resp, _ := n.Do(ctx, "GET", "/api/v1/sinks", testkit.Bearer(n.AdminToken), nil)
	if strings.Contains(string(resp.Body), "s3cret-value-0123456789") || strings.Contains(string(resp.Body), "hunter2") {
		t.Fatalf("the sink list shows a secret: %s", resp.Body)
	}
	for i, want := range []int{http.StatusNoContent, http.StatusNotFound} {
		resp, err := n.Do(ctx, "DELETE", "/api/v1/sinks/"+wh.ID, testkit.Bearer(n.AdminToken), nil)
		if err != nil || resp.Status != want {
			t.Fatalf("DELETE %d: %v %d, want %d", i, err, resp.Status, want)
		}
	}
	if resp, _ := n.Do(ctx, "POST", "/api/v1/sinks/"+pg.ID+"/retry", testkit.Bearer(n.AdminToken), nil); resp.Status != http.StatusOK {
		t.Fatalf("retry: %d %s", resp.Status, resp.Body)
	}
	if resp, _ := n.Do(ctx, "GET", "/api/v1/sinks", nil, nil); resp.Status != http.StatusUnauthorized {
		t.Fatalf("sinks without the admin token: %d", resp.Status)
	}

}
