package web_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/internal/testkit/chrome"
)

// holdByAPI takes one item of drop without a browser (another buyer) and
// returns the ticket and the hold id.
func holdByAPI(n *node, drop string) (ticket, holdID string) {
	n.t.Helper()
	ticket = joinByAPI(n, drop)
	return ticket, holdWithTicket(n, drop, ticket)
}

// holdWithTicket waits for the ticket's turn and takes its hold.
func holdWithTicket(n *node, drop, ticket string) string {
	n.t.Helper()
	testkit.WaitFor(n.t, "admission", func() bool {
		var st struct {
			State string `json:"state"`
		}
		n.call("GET", "/api/v1/drops/"+drop+"/queue", ticket, nil, &st)
		return st.State == "admitted"
	})
	var h struct {
		ID string `json:"id"`
	}
	if code := n.call("POST", "/api/v1/drops/"+drop+"/holds", ticket, map[string]int{"quantity": 1}, &h); code != 201 && code != 200 {
		n.t.Fatalf("hold: %d", code)
	}
	return h.ID
}

// buyByAPI buys one item of drop for email without a browser.
func buyByAPI(n *node, drop, email string) {
	n.t.Helper()
	ticket, holdID := holdByAPI(n, drop)
	var s struct {
		Session string `json:"session"`
	}
	if code := n.call("POST", "/api/v1/session", "", map[string]string{"email": email}, &s); code != 201 {
		n.t.Fatalf("session: %d", code)
	}
	if code := n.call("POST", "/api/v1/holds/"+holdID+"/order", ticket, map[string]string{"session": s.Session}, nil, "Idempotency-Key", "k-"+email); code != 201 {
		n.t.Fatalf("order: %d", code)
	}
}

// TestE2EKoreanLimitBeyondStockAndSoldOut runs a Korean browser (by
// Accept-Language) through a purchase, then the honest messages: the
// per-customer limit, a place the remaining stock will not reach (and the
// line moving on when a hold is let go), and sold out.
func TestE2EKoreanLimitBeyondStockAndSoldOut(t *testing.T) {
	b := newBrowser(t, "ko-KR,ko")
	n := startNode(t, "")
	n.createDrop(dropSpec{ID: "limit-speaker", Name: "미니 AI 스피커", Stock: 5, PerCustomerLimit: 1, Vouchers: vouchers("MELON", 5)})
	n.createDrop(dropSpec{ID: "last-speaker", Name: "미니 AI 스피커", Stock: 1, PerCustomerLimit: 1})

	// Korean from Accept-Language, all the way to the order.
	b.Do("open", chromedp.Navigate(n.URL+"/d/limit-speaker"))
	if lang := chrome.Eval[string](b, "document.documentElement.lang"); lang != "ko" {
		t.Fatalf("page language = %q, want ko from Accept-Language", lang)
	}
	if got := b.Text("#join"); got != "대기실 입장하기" {
		t.Fatalf("join button = %q", got)
	}
	if got := b.Text("#drop-price"); got != "59,000원" {
		t.Fatalf("price = %q", got)
	}
	b.Click("#join")
	b.Visible("#view-turn")
	if got := b.Text("#view-turn h2"); got != "고객님 차례입니다" {
		t.Fatalf("turn heading = %q", got)
	}
	b.Shot("ko-01-your-turn")
	b.Click("#signin")
	b.Visible("#email")
	b.Do("email", chromedp.SendKeys(chromedp.CSS("#email"), "minji@example.com"))
	b.Click("#dev-continue")
	b.Click("#buy")
	b.Visible("#view-order")
	if got := b.Text("#view-order h2"); got != "주문 완료" {
		t.Fatalf("order heading = %q", got)
	}
	b.Shot("ko-02-order")

	// The same buyer again with a new place in line: the limit, said
	// plainly, and no second order.
	chrome.Eval[string](b, `document.cookie = "fg_ticket_limit-speaker=; Path=/; Max-Age=0"`)
	b.Do("new ticket", chromedp.Reload())
	b.Click("#join")
	b.Visible("#view-turn,#view-message")
	if chrome.Eval[bool](b, `!document.getElementById("view-turn").hidden`) {
		b.Click("#buy")
	}
	b.Visible("#view-message")
	if got := b.Text("#m-title"); got != "구매 한도 도달" {
		t.Fatalf("limit message = %q", got)
	}
	b.Shot("ko-03-limit")
	if orders := n.orders("limit-speaker"); len(orders) != 1 {
		t.Fatalf("orders = %d, want 1", len(orders))
	}

	// The last item is held by someone else and one more visitor waits
	// before this browser: the page says the stock will probably not reach
	// this place, and keeps it.
	ticketA, holdA := holdByAPI(n, "last-speaker")
	ticketB := joinByAPI(n, "last-speaker")
	b.Do("open last", chromedp.Navigate(n.URL+"/d/last-speaker?lang=en"))
	b.Click("#join")
	b.Visible("#w-beyond")
	b.Shot("09-beyond-stock")
	// The others let the item go, one after the other: the line moves on to
	// this browser.
	if code := n.call("DELETE", "/api/v1/holds/"+holdA, ticketA, nil, nil); code != 204 {
		t.Fatalf("release: %d", code)
	}
	holdB := holdWithTicket(n, "last-speaker", ticketB)
	if code := n.call("DELETE", "/api/v1/holds/"+holdB, ticketB, nil, nil); code != 204 {
		t.Fatalf("release: %d", code)
	}
	b.Visible("#view-turn")
	chrome.Eval[bool](b, `window.confirm = function () { return true }; true`)
	b.Click("#release")
	b.Visible("#view-message")

	// Someone else buys the last one: sold out, in Korean and in English.
	buyByAPI(n, "last-speaker", "other@example.com")
	b.Do("sold out ko", chromedp.Navigate(n.URL+"/d/last-speaker?lang=ko"))
	b.Visible("#view-message")
	if got := b.Text("#m-title"); got != "품절" {
		t.Fatalf("sold-out title = %q", got)
	}
	b.Shot("ko-04-sold-out")
	b.Do("sold out en", chromedp.Navigate(n.URL+"/d/last-speaker?lang=en"))
	b.Visible("#view-message")
	if got := b.Text("#m-text"); !strings.Contains(got, "Every item has been sold") {
		t.Fatalf("sold-out text = %q", got)
	}
	b.Shot("10-sold-out")

	// A tampered ticket, and a ticket of another sale, in the cookie: a
	// clear word and a fresh start, never a crash or someone else's place.
	for _, bad := range []string{"not-a-ticket", ticketA} {
		b.Do("open", chromedp.Navigate(n.URL+"/d/limit-speaker?lang=en"))
		chrome.Eval[string](b, `document.cookie = "fg_ticket_limit-speaker=`+bad+`; Path=/"`)
		b.Do("reload", chromedp.Reload())
		b.Visible("#join-error")
		if got := b.Text("#join-error"); !strings.Contains(got, "could not be read") {
			t.Fatalf("bad ticket %q: message %q", bad, got)
		}
		if b.Cookie("fg_ticket_limit-speaker") != "" {
			t.Fatal("the bad ticket was kept")
		}
	}
	b.Shot("11-bad-ticket")
}
