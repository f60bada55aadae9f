package web_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/floodgate/floodgate/internal/testkit"
)

func vouchers(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%04d", prefix, i+1)
	}
	return out
}

// joinByAPI puts a visitor in line without a browser and returns its ticket.
func joinByAPI(n *node, drop string) string {
	n.t.Helper()
	var out struct {
		Ticket string `json:"ticket"`
	}
	if code := n.call("POST", "/api/v1/drops/"+drop+"/queue", "", nil, &out); code != 201 || out.Ticket == "" {
		n.t.Fatalf("join %s: %d", drop, code)
	}
	return out.Ticket
}

// TestE2EPurchaseWithDevProvider walks a buyer through the whole sale in the
// browser: countdown, waiting room (with a reload in the middle), the turn,
// sign-in that comes back to the same hold, a double-clicked buy that makes
// one order, and the order page with its pass code.
func TestE2EPurchaseWithDevProvider(t *testing.T) {
	b := newBrowser(t, "en-US")
	n := startNode(t, "")
	const drop = "mini-speaker"
	start := time.Now().Add(4 * time.Second).UTC()
	n.createDrop(dropSpec{ID: drop, Name: "Mini AI speaker", Stock: 20, PerCustomerLimit: 1,
		StartsAt: start.Format(time.RFC3339Nano), AdmitPerSecond: 1, HoldSeconds: 300, Vouchers: vouchers("MELON", 20)})

	// Before the start: the product and a countdown.
	b.do("open the drop", chromedp.Navigate(n.URL+"/d/"+drop))
	b.visible("#countdown .unit")
	if got := b.text("#drop-name"); got != "Mini AI speaker" {
		t.Fatalf("product name = %q", got)
	}
	if got := b.text("#drop-price"); got != "₩59,000" {
		t.Fatalf("price = %q", got)
	}
	b.shot("01-countdown")

	// Five visitors get in line first, slowly admitted (one a second), so
	// the browser waits behind them.
	testkit.WaitFor(t, "the sale to start", func() bool { return time.Now().After(start.Add(200 * time.Millisecond)) })
	for range 5 {
		joinByAPI(n, drop)
	}
	b.click("#join")
	b.visible("#view-waiting")
	testkit.WaitFor(t, "a position", func() bool { return b.text("#w-position") != "—" })
	pos := b.text("#w-position")
	if pos != "6" {
		t.Fatalf("position = %q, want 6 (five visitors joined before)", pos)
	}
	b.shot("02-waiting-room")
	ticket := b.cookie("fg_ticket_" + drop)
	if ticket == "" {
		t.Fatal("no ticket cookie after joining")
	}

	// A reload mid-queue comes back to the same place.
	b.do("reload", chromedp.Reload())
	b.visible("#view-waiting,#view-turn")
	if b.cookie("fg_ticket_"+drop) != ticket {
		t.Fatal("the reload changed the ticket")
	}
	if m := n.me(drop, ticket); m.Position != 6 {
		t.Fatalf("position after reload = %d, want 6", m.Position)
	}

	// The turn comes by itself (SSE); sign-in is asked only now.
	b.visible("#view-turn")
	b.visible("#signin")
	before := n.me(drop, ticket)
	if before.Hold == nil || before.Hold.Status != "active" {
		t.Fatalf("no active hold on the turn: %+v", before)
	}
	b.shot("03-your-turn")

	b.click("#signin")
	b.visible("#email")
	b.shot("04-sign-in-dev")
	b.do("type email", chromedp.SendKeys(chromedp.CSS("#email"), "buyer@example.com"))
	b.click("#dev-continue")
	b.visible("#buy")
	if path := evalJS[string](b, "location.pathname + location.search"); path != "/d/"+drop {
		t.Fatalf("after sign-in the buyer is at %q, want the drop page", path)
	}
	after := n.me(drop, ticket)
	if after.Hold == nil || after.Hold.ID != before.Hold.ID || after.Hold.ExpiresAt != before.Hold.ExpiresAt {
		t.Fatalf("sign-in did not come back to the same hold with its time: before %+v after %+v", before.Hold, after.Hold)
	}
	if !strings.Contains(b.text("#t-who"), "buyer@example.com") {
		t.Fatal("the page does not say who is signed in")
	}
	b.shot("05-checkout")

	// A double click on buy: one order.
	evalJS[int](b, `(function(){var x=document.getElementById("buy"); x.click(); x.click(); return 1})()`)
	b.visible("#view-order")
	b.visible("#o-voucher")
	orderID, voucher := b.text("#o-id"), b.text("#o-voucher")
	if orderID == "" || !strings.HasPrefix(voucher, "MELON-") {
		t.Fatalf("order page: id %q voucher %q", orderID, voucher)
	}
	b.shot("06-order")

	// The page's Idempotency-Key again (a double submit from another tab or
	// a retry): the same order, never a second one.
	key := evalJS[string](b, fmt.Sprintf("localStorage.getItem('fg_idem_%s')", before.Hold.ID))
	// The session cookie is HttpOnly and the page does not carry the token
	// either: script on the page cannot read it. The order call sends the
	// cookie.
	if v := evalJS[string](b, `document.documentElement.outerHTML`); strings.Contains(v, "data-session") {
		t.Fatal("the page embeds the session token")
	}
	if c := evalJS[string](b, `document.cookie`); strings.Contains(c, "fg_session") {
		t.Fatalf("script can read the session cookie: %q", c)
	}
	again := evalJSAsync[orderJSON](b, fmt.Sprintf(`fetch("/api/v1/holds/%s/order", {method: "POST", credentials: "same-origin",
		headers: {"Authorization": "Bearer " + %q, "Idempotency-Key": %q, "Content-Type": "application/json"}, body: "{}"}).then(function (r) { return r.json(); })`,
		url.PathEscape(before.Hold.ID), ticket, key))
	if again.ID != orderID {
		t.Fatalf("same key again from the page: %+v, want order %s", again, orderID)
	}
	if got := n.orders(drop); len(got) != 1 || got[0].ID != orderID || got[0].Customer != "buyer@example.com" {
		t.Fatalf("orders = %+v, want exactly order %s", got, orderID)
	}

	// Reload, and a second tab, come back to the order.
	b.do("reload order", chromedp.Reload())
	b.visible("#view-order")
	if b.text("#o-id") != orderID {
		t.Fatal("the reloaded page shows another order")
	}
	tb := b.tab()
	tb.do("second tab", chromedp.Navigate(n.URL+"/d/"+drop))
	tb.visible("#view-order")
	if tb.text("#o-id") != orderID {
		t.Fatal("a second tab shows another order")
	}
}

// TestE2EReopenedBrowserKeepsThePlace closes the browser while waiting and
// opens it again on the same profile: the ticket cookie brings the buyer
// back to the same place in line.
func TestE2EReopenedBrowserKeepsThePlace(t *testing.T) {
	needE2E(t)
	n := startNode(t, "")
	const drop = "reopen-speaker"
	// Admission never starts (the sale opens in an hour), so the buyer
	// stays in line across the restart.
	n.createDrop(dropSpec{ID: drop, Stock: 10, StartsAt: time.Now().Add(time.Hour).UTC().Format(time.RFC3339)})
	for range 3 {
		joinByAPI(n, drop)
	}
	profile := t.TempDir()
	b := newBrowserIn(t, "en-US", profile)
	b.do("open", chromedp.Navigate(n.URL+"/d/"+drop))
	b.click("#join")
	b.visible("#view-waiting")
	if got := b.text("#w-position"); got != "Drawn at the start" {
		t.Fatalf("an early arrival's place = %q", got)
	}
	ticket := b.cookie("fg_ticket_" + drop)
	if ticket == "" {
		t.Fatal("no ticket after joining")
	}
	b.shot("02b-early-arrival")
	b.close()

	again := newBrowserIn(t, "en-US", profile)
	again.do("reopen", chromedp.Navigate(n.URL+"/d/"+drop))
	again.visible("#view-waiting")
	if got := again.cookie("fg_ticket_" + drop); got != ticket {
		t.Fatal("the reopened browser lost the ticket")
	}
}

// TestE2EWaitingRoomFallsBackToPolling breaks server-sent events in the
// page (every stream fails at once, as behind a proxy that cuts them): the
// waiting room polls instead and the turn still comes.
func TestE2EWaitingRoomFallsBackToPolling(t *testing.T) {
	b := newBrowser(t, "en-US")
	n := startNode(t, "")
	const drop = "poll-speaker"
	n.createDrop(dropSpec{ID: drop, Stock: 10, AdmitPerSecond: 1})
	for range 3 {
		joinByAPI(n, drop)
	}
	b.do("break EventSource", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: `
			window.EventSource = function () {
				var es = this; es.readyState = 0;
				setTimeout(function () { es.readyState = 2; if (es.onerror) es.onerror(new Event("error")); }, 10);
			};
			window.EventSource.CLOSED = 2;
			window.EventSource.prototype.close = function () {};`})
		return err
	}))
	b.do("open", chromedp.Navigate(n.URL+"/d/"+drop))
	b.click("#join")
	b.visible("#view-waiting")
	b.visible("#view-turn")
}
