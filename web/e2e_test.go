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
	"github.com/floodgate/floodgate/internal/testkit/chrome"
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
		StartsAt: &start, AdmitPerSecond: 1, HoldSeconds: 300, Vouchers: vouchers("MELON", 20)})

	// Before the start: the product and a countdown.
	b.Do("open the drop", chromedp.Navigate(n.URL+"/d/"+drop))
	b.Visible("#countdown .unit")
	if got := b.Text("#drop-name"); got != "Mini AI speaker" {
		t.Fatalf("product name = %q", got)
	}
	if got := b.Text("#drop-price"); got != "₩59,000" {
		t.Fatalf("price = %q", got)
	}
	b.Shot("01-countdown")

	// Five visitors get in line first, slowly admitted (one a second), so
	// the browser waits behind them.
	testkit.WaitFor(t, "the sale to start", func() bool { return time.Now().After(start.Add(200 * time.Millisecond)) })
	for range 5 {
		joinByAPI(n, drop)
	}
	// The page hides its countdown on its own clock, at most a second
	// after the start, and the button moves up: a click aimed before that
	// lands where the button was.
	b.WaitJS("the countdown to end", `document.getElementById("countdown-box").hidden`)
	b.Click("#join")
	b.Visible("#view-waiting")
	testkit.WaitFor(t, "a position", func() bool { return b.Text("#w-position") != "—" })
	pos := b.Text("#w-position")
	if pos != "6" {
		t.Fatalf("position = %q, want 6 (five visitors joined before)", pos)
	}
	b.Shot("02-waiting-room")
	ticket := b.Cookie("fg_ticket_" + drop)
	if ticket == "" {
		t.Fatal("no ticket cookie after joining")
	}

	// A reload mid-queue comes back to the same place.
	b.Do("reload", chromedp.Reload())
	b.Visible("#view-waiting,#view-turn")
	if b.Cookie("fg_ticket_"+drop) != ticket {
		t.Fatal("the reload changed the ticket")
	}
	if m := n.me(drop, ticket); m.Position != 6 {
		t.Fatalf("position after reload = %d, want 6", m.Position)
	}

	// The turn comes by itself (SSE); sign-in is asked only now.
	b.Visible("#view-turn")
	b.Visible("#signin")
	before := n.me(drop, ticket)
	if before.Hold == nil || before.Hold.Status != "active" {
		t.Fatalf("no active hold on the turn: %+v", before)
	}
	b.Shot("03-your-turn")

	b.Click("#signin")
	b.Visible("#email")
	b.Shot("04-sign-in-dev")
	b.Do("type email", chromedp.SendKeys(chromedp.CSS("#email"), "buyer@example.com"))
	b.Click("#dev-continue")
	b.Visible("#buy")
	if path := chrome.Eval[string](b, "location.pathname + location.search"); path != "/d/"+drop {
		t.Fatalf("after sign-in the buyer is at %q, want the drop page", path)
	}
	after := n.me(drop, ticket)
	if after.Hold == nil || after.Hold.ID != before.Hold.ID || after.Hold.ExpiresAt != before.Hold.ExpiresAt {
		t.Fatalf("sign-in did not come back to the same hold with its time: before %+v after %+v", before.Hold, after.Hold)
	}
	if !strings.Contains(b.Text("#t-who"), "buyer@example.com") {
		t.Fatal("the page does not say who is signed in")
	}
	b.Shot("05-checkout")

	// A double click on buy: one order.
	chrome.Eval[int](b, `(function(){var x=document.getElementById("buy"); x.click(); x.click(); return 1})()`)
	b.Visible("#view-order")
	b.Visible("#o-voucher")
	orderID, voucher := b.Text("#o-id"), b.Text("#o-voucher")
	if orderID == "" || !strings.HasPrefix(voucher, "MELON-") {
		t.Fatalf("order page: id %q voucher %q", orderID, voucher)
	}
	b.Shot("06-order")

	// The page's Idempotency-Key again (a double submit from another tab or
	// a retry): the same order, never a second one.
	key := chrome.Eval[string](b, fmt.Sprintf("localStorage.getItem('fg_idem_%s')", before.Hold.ID))
	// The session cookie is HttpOnly and the page does not carry the token
	// either: script on the page cannot read it. The order call sends the
	// cookie.
	if v := chrome.Eval[string](b, `document.documentElement.outerHTML`); strings.Contains(v, "data-session") {
		t.Fatal("the page embeds the session token")
	}
	if c := chrome.Eval[string](b, `document.cookie`); strings.Contains(c, "fg_session") {
		t.Fatalf("script can read the session cookie: %q", c)
	}
	again := chrome.EvalAsync[orderJSON](b, fmt.Sprintf(`fetch("/api/v1/holds/%s/order", {method: "POST", credentials: "same-origin",
		headers: {"Authorization": "Bearer " + %q, "Idempotency-Key": %q, "Content-Type": "application/json"}, body: "{}"}).then(function (r) { return r.json(); })`,
		url.PathEscape(before.Hold.ID), ticket, key))
	if again.ID != orderID {
		t.Fatalf("same key again from the page: %+v, want order %s", again, orderID)
	}
	if got := n.orders(drop); len(got) != 1 || got[0].ID != orderID || got[0].Customer != "buyer@example.com" {
		t.Fatalf("orders = %+v, want exactly order %s", got, orderID)
	}

	// Reload, and a second tab, come back to the order.
	b.Do("reload order", chromedp.Reload())
	b.Visible("#view-order")
	if b.Text("#o-id") != orderID {
		t.Fatal("the reloaded page shows another order")
	}
	tb := b.Tab()
	tb.Do("second tab", chromedp.Navigate(n.URL+"/d/"+drop))
	tb.Visible("#view-order")
	if tb.Text("#o-id") != orderID {
		t.Fatal("a second tab shows another order")
	}
}

// TestE2EReopenedBrowserKeepsThePlace closes the browser while waiting and
// opens it again on the same profile: the ticket cookie brings the buyer
// back to the same place in line.
func TestE2EReopenedBrowserKeepsThePlace(t *testing.T) {
	chrome.NeedE2E(t)
	n := startNode(t, "")
	const drop = "reopen-speaker"
	// Admission never starts (the sale opens in an hour), so the buyer
	// stays in line across the restart.
	opens := time.Now().Add(time.Hour)
	n.createDrop(dropSpec{ID: drop, Stock: 10, StartsAt: &opens})
	for range 3 {
		joinByAPI(n, drop)
	}
	profile := t.TempDir()
	b := newBrowserIn(t, "en-US", profile)
	b.Do("open", chromedp.Navigate(n.URL+"/d/"+drop))
	b.Click("#join")
	b.Visible("#view-waiting")
	if got := b.Text("#w-position"); got != "Drawn at the start" {
		t.Fatalf("an early arrival's place = %q", got)
	}
	ticket := b.Cookie("fg_ticket_" + drop)
	if ticket == "" {
		t.Fatal("no ticket after joining")
	}
	b.Shot("02b-early-arrival")
	b.Close()

	again := newBrowserIn(t, "en-US", profile)
	again.Do("reopen", chromedp.Navigate(n.URL+"/d/"+drop))
	again.Visible("#view-waiting")
	if got := again.Cookie("fg_ticket_" + drop); got != ticket {
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
	b.Do("break EventSource", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: `
			window.EventSource = function () {
				var es = this; es.readyState = 0;
				setTimeout(function () { es.readyState = 2; if (es.onerror) es.onerror(new Event("error")); }, 10);
			};
			window.EventSource.CLOSED = 2;
			window.EventSource.prototype.close = function () {};`})
		return err
	}))
	b.Do("open", chromedp.Navigate(n.URL+"/d/"+drop))
	b.Click("#join")
	b.Visible("#view-waiting")
	b.Visible("#view-turn")
}
