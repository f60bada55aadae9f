package web_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/internal/testkit/chrome"
	"github.com/oauth2-proxy/mockoidc"
)

// idp is a real OIDC provider that a test can stop and start again.
type idp = testkit.OIDC

func startIDP(t *testing.T) *idp { return testkit.StartOIDC(t) }

// startOIDCNode starts floodgate with OIDC login against the provider.
func startOIDCNode(t *testing.T, i *idp) *node {
	t.Helper()
	addr := testkit.FreeAddr(t)
	c := i.M.Config()
	// A real provider runs without --dev: the two together are refused.
	n := testkit.StartNode(t, testkit.Options{HTTPAddr: addr, AdminToken: adminToken, NoDev: true, Args: []string{
		"--oidc-issuer", c.Issuer, "--oidc-client-id", c.ClientID,
		"--oidc-client-secret", c.ClientSecret, "--oidc-redirect-url", "http://" + addr + "/auth/callback"}})
	return &node{Node: n, t: t, Addr: n.HTTPAddr}
}

// toTheTurn opens the drop, joins and waits for the hold; it returns the
// ticket and the hold.
func toTheTurn(b *browser, n *node, drop string) (string, meJSON) {
	b.T.Helper()
	b.Do("open "+drop, chromedp.Navigate(n.URL+"/d/"+drop))
	b.Click("#join")
	b.Visible("#view-turn")
	ticket := b.Cookie("fg_ticket_" + drop)
	m := n.me(drop, ticket)
	if m.Hold == nil || m.Hold.Status != "active" {
		b.T.Fatalf("no active hold on the turn: %+v", m)
	}
	return ticket, m
}

// signInAndBuy signs in through the provider (the browser follows its
// redirects) and buys; it checks the buyer came back to the same hold.
func signInAndBuy(b *browser, n *node, drop, ticket string, before meJSON) string {
	b.T.Helper()
	b.Click("#signin")
	b.Visible("#buy")
	if path := chrome.Eval[string](b, "location.pathname + location.search"); path != "/d/"+drop {
		b.T.Fatalf("after sign-in the buyer is at %q, want /d/%s", path, drop)
	}
	after := n.me(drop, ticket)
	if after.Hold == nil || after.Hold.ID != before.Hold.ID || after.Hold.Status != "active" {
		b.T.Fatalf("sign-in did not come back to the same hold: before %+v after %+v", before.Hold, after.Hold)
	}
	b.Click("#buy")
	b.Visible("#view-order")
	return b.Text("#o-id")
}

// TestE2EPurchaseWithOIDC signs in through a real OIDC provider
// (authorization code + PKCE, state, nonce): the provider's redirect comes
// back to the same hold, and the order is the provider's user's.
func TestE2EPurchaseWithOIDC(t *testing.T) {
	b := newBrowser(t, "en-US")
	i := startIDP(t)
	n := startOIDCNode(t, i)
	const drop = "oidc-speaker"
	n.createDrop(dropSpec{ID: drop, Stock: 10, PerCustomerLimit: 1, Vouchers: vouchers("MELON", 10)})

	ticket, before := toTheTurn(b, n, drop)
	if href := chrome.Eval[string](b, `document.getElementById("signin").getAttribute("href")`); !strings.HasPrefix(href, "/login?return=") {
		t.Fatalf("sign-in link = %q", href)
	}
	orderID := signInAndBuy(b, n, drop, ticket, before)
	orders := n.orders(drop)
	if len(orders) != 1 || orders[0].ID != orderID || orders[0].Customer != mockoidc.DefaultUser().Email {
		t.Fatalf("orders = %+v, want one order %s by %s", orders, orderID, mockoidc.DefaultUser().Email)
	}
}

// TestE2EProviderOutageDuringCheckout stops the identity provider while a
// buyer holds an item: the page shows the banner, the hold is kept and
// paused, sign-in sends the buyer back with the banner instead of to a dead
// site; when the provider is back, sign-in and the order go through.
func TestE2EProviderOutageDuringCheckout(t *testing.T) {
	b := newBrowser(t, "en-US")
	i := startIDP(t)
	n := startOIDCNode(t, i)
	const drop = "outage-speaker"
	n.createDrop(dropSpec{ID: drop, Stock: 10, PerCustomerLimit: 1, HoldSeconds: 120, Vouchers: vouchers("MELON", 10)})

	ticket, before := toTheTurn(b, n, drop)
	b.Visible("#signin")

	i.Stop()
	b.Visible("#banner")
	if got := b.Text("#banner-text"); !strings.Contains(got, "not answering") {
		t.Fatalf("banner = %q", got)
	}
	testkit.WaitFor(t, "the hold to be paused", func() bool {
		m := n.me(drop, ticket)
		return m.Hold != nil && m.Hold.Paused
	})
	b.Visible("#t-paused")

	// Trying to sign in anyway goes nowhere dead: back to the same hold,
	// with the banner.
	b.Do("sign in while down", chromedp.Navigate(n.URL+"/login?return=/d/"+drop))
	b.Visible("#view-turn")
	b.Visible("#banner")
	b.Shot("07-provider-down")
	during := n.me(drop, ticket)
	if during.Hold == nil || during.Hold.ID != before.Hold.ID || during.Hold.Status != "active" {
		t.Fatalf("the hold was not kept through the outage: %+v", during.Hold)
	}

	i.Start()
	testkit.WaitFor(t, "the banner to say the provider is back", func() bool {
		return strings.Contains(b.Text("#banner-text"), "back")
	})
	orderID := signInAndBuy(b, n, drop, ticket, before)
	b.Shot("08-order-after-outage")
	if orders := n.orders(drop); len(orders) != 1 || orders[0].ID != orderID {
		t.Fatalf("orders = %+v, want exactly %s", orders, orderID)
	}
}
