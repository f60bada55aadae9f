package web_test

import (
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	fhttp "github.com/floodgate/floodgate/http"
	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/internal/testkit/chrome"
)

// TestE2EPaymentDeadline: with a payment step, the order page shows the
// deadline counting down and a "pay now" link built from the drop's
// payment_url (the order id and its signed token); when the deadline passes
// unpaid, the page says clearly that the order expired, in English and in
// Korean.
func TestE2EPaymentDeadline(t *testing.T) {
	b := newBrowser(t, "en-US")
	n := startNode(t, "")
	const drop = "pay-speaker"
	n.MustCreateDrop(t, testkit.DropRequest{ID: drop, Name: "Mini AI speaker", Price: 59000, Currency: "KRW", Stock: 5,
		PaymentSeconds: 8, PaymentURL: "https://pay.example/checkout?order={order}&token={token}"})

	b.Do("open the drop", chromedp.Navigate(n.URL+"/d/"+drop))
	b.Click("#join")
	b.Visible("#signin")
	b.Click("#signin")
	b.Visible("#email")
	b.Do("type email", chromedp.SendKeys(chromedp.CSS("#email"), "payer@example.com"))
	b.Click("#dev-continue")
	b.Visible("#buy")
	b.Click("#buy")
	b.Visible("#o-pay-link")
	orderID := b.Text("#o-id")
	if b.Text("#o-title") != "Order placed: payment due" {
		t.Fatalf("order title %q", b.Text("#o-title"))
	}
	if clock := b.Text("#o-pay-clock"); !regexp.MustCompile(`^00:0[0-8]$`).MatchString(clock) {
		t.Fatalf("payment clock %q, want the seconds left of 8", clock)
	}
	href := chrome.Eval[string](b, `document.getElementById("o-pay-link").href`)
	u, err := url.Parse(href)
	if err != nil || u.Host != "pay.example" || u.Query().Get("order") != orderID ||
		u.Query().Get("token") != fhttp.PaymentToken([]byte(adminToken), orderID) {
		t.Fatalf("pay link %q for order %s", href, orderID)
	}
	b.Shot("08-payment-due")

	// The page keeps the receipt the order was answered with (signed from a
	// prepared nonce) when the read of the order that brought the pay link
	// carries the deterministic receipt of the same leaf: a receipt being
	// copied is not swapped (docs/fairness-spec.md section 8).
	shown := chrome.Eval[string](b, `document.getElementById("o-receipt").value`)
	listed := n.MustOrders(t, drop)[0].Receipt
	signed := func(r string) string { return r[:strings.LastIndexByte(r, '.')+1] }
	if shown == listed || signed(shown) != signed(listed) {
		t.Fatalf("the receipt on the page %q, the order's read receipt %q: want the answer's, another signature of the same leaf", shown, listed)
	}

	// Nobody pays: the order expires and the page says so.
	b.Visible("#view-message")
	if got := b.Text("#m-title"); got != "Your order expired" {
		t.Fatalf("after the deadline the page says %q", got)
	}
	if d := n.MustDrop(t, drop); d.Available != 5 || d.AwaitingPayment != 0 {
		t.Fatalf("the expired unit did not go back on sale: %+v", d)
	}
	b.Do("in Korean", chromedp.Navigate(n.URL+"/d/"+drop+"?lang=ko"))
	b.Visible("#view-message")
	if got := b.Text("#m-title"); got != "주문이 만료되었습니다" {
		t.Fatalf("in Korean the page says %q", got)
	}
}
