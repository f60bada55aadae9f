package web_test

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/floodgate/floodgate/fairness"
	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/internal/testkit/chrome"
)

// TestE2EDraw runs a draw in two browsers: both buyers sign in and enter;
// when entries close, the committed seed draws one winner for the one unit.
// The winner sees "You won", claims and orders through the normal hold and
// order path and gets a signed receipt; the other sees "Not drawn".
func TestE2EDraw(t *testing.T) {
	a := newBrowser(t, "en-US")
	b := newBrowser(t, "en-US")
	n := startNode(t, "")
	const drop = "raffle"
	ends := time.Now().Add(15 * time.Second).UTC()
	var out map[string]any
	if code := n.call("POST", "/api/v1/drops", adminToken, map[string]any{
		"id": drop, "name": "Limited sneaker", "price": 189000, "currency": "KRW", "stock": 1,
		"mode": "draw", "entry_ends_at": ends.Format(time.RFC3339Nano), "claim_seconds": 120,
	}, &out); code != 201 {
		t.Fatalf("create the draw: %d %v", code, out)
	}

	enter := func(br *browser, email string) {
		br.Do("open the draw", chromedp.Navigate(n.URL+"/d/"+drop))
		br.Visible("#d-signin")
		br.Click("#d-signin")
		br.Visible("#email")
		br.Do("type email", chromedp.SendKeys(chromedp.CSS("#email"), email))
		br.Click("#dev-continue")
		br.Visible("#d-enter")
		br.Click("#d-enter")
		testkit.WaitFor(t, email+"'s entry", func() bool { return br.Text("#d-title") == "You are in the draw" })
	}
	enter(a, "alice@example.com")
	a.Shot("draw-01-entered")
	enter(b, "bob@example.com")
	if time.Now().After(ends) {
		t.Fatal("the entries closed before both buyers entered; the machine is too slow for this window")
	}

	// The draw runs at entry_ends_at; each page finds out by itself.
	won := func(br *browser) bool {
		return chrome.Eval[bool](br, `!document.getElementById("d-claim").hidden && document.getElementById("view-draw").hidden === false`)
	}
	var winner, loser *browser
	testkit.WaitFor(t, "the draw", func() bool {
		switch {
		case won(a):
			winner, loser = a, b
		case won(b):
			winner, loser = b, a
		}
		return winner != nil
	})
	if got := winner.Text("#d-title"); got != "You won" {
		t.Fatalf("the winner's page says %q", got)
	}
	winner.Shot("draw-02-won")

	// The winner claims: a hold without queueing, then the order.
	winner.Click("#d-claim")
	winner.Visible("#buy")
	winner.Click("#buy")
	winner.Visible("#view-order")
	winner.Do("open the receipt", chromedp.Click(chromedp.CSS("#o-receipt-box summary"), chromedp.NodeVisible))
	receipt := chrome.Eval[string](winner, `document.getElementById("o-receipt").value`)
	var keys fairness.JWKS
	if code := n.call("GET", "/.well-known/jwks.json", "", nil, &keys); code != 200 {
		t.Fatalf("jwks: %d", code)
	}
	r, err := fairness.VerifyReceipt(keys, receipt)
	if err != nil || r.Drop != drop || r.Position != 1 {
		t.Fatalf("the receipt on the order page: %+v %v", r.Leaf, err)
	}
	winner.Shot("draw-03-ordered")
	if orders := n.orders(drop); len(orders) != 1 {
		t.Fatalf("%d orders, want 1", len(orders))
	}

	// The other entrant learns the result on the page.
	testkit.WaitFor(t, "the losing entrant's result", func() bool {
		return chrome.Eval[string](loser, `document.getElementById("view-message").hidden ? "" : document.getElementById("m-title").textContent`) == "Not drawn"
	})
	loser.Shot("draw-04-not-drawn")
}
