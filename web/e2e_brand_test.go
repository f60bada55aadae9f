package web_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/internal/testkit/chrome"
)

// logoSVG is a maker's logo, served over https by the test.
const logoSVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64" width="64" height="64">` +
	`<rect width="64" height="64" rx="14" fill="#0a7d5a"/>` +
	`<circle cx="32" cy="32" r="17" fill="none" stroke="#fff" stroke-width="6"/>` +
	`<circle cx="32" cy="32" r="5" fill="#fff"/></svg>`

// TestE2ETenantBranding: the page of a partner maker's drop shows the
// maker's name, its logo (from its own https origin, which the page's CSP
// allows for images) and its accent colour (from a same-origin stylesheet),
// and a name with markup in it is shown as text.
func TestE2ETenantBranding(t *testing.T) {
	logos := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/svg+xml")
		_, _ = io.WriteString(w, logoSVG)
	}))
	t.Cleanup(logos.Close)
	b := newBrowserIn(t, "en-US", t.TempDir(), chromedp.Flag("ignore-certificate-errors", true))
	n := startNode(t, "")

	tenant := map[string]any{"id": "acme", "name": "Acme Audio Co.", "max_drops": 3,
		"display_name": "Acme Audio Lab", "logo_url": logos.URL + "/logo.svg", "accent": "#0A7D5A"}
	if code := n.call("POST", "/api/v1/tenants", adminToken, tenant, nil); code != http.StatusCreated {
		t.Fatalf("create tenant: %d", code)
	}
	var key struct{ Key string }
	if code := n.call("POST", "/api/v1/tenants/acme/keys", adminToken, map[string]string{"role": "operator"}, &key); code != http.StatusCreated {
		t.Fatalf("create key: %d", code)
	}
	start := time.Now().Add(2 * time.Hour).UTC().Format(time.RFC3339)
	drop := map[string]any{"id": "acme-speaker", "name": "Acme Mini Speaker", "price": 59000, "currency": "KRW",
		"stock": 20, "starts_at": start, "hold_seconds": 300}
	if code := n.call("POST", "/api/v1/drops", key.Key, drop, nil); code != http.StatusCreated {
		t.Fatalf("create the maker's drop with its key: %d", code)
	}

	b.Do("open the maker's drop", chromedp.Navigate(n.URL+"/d/acme-speaker"))
	b.Visible("#maker-name")
	if got := b.Text("#maker-name"); got != "Acme Audio Lab" {
		t.Fatalf("maker name %q, want Acme Audio Lab", got)
	}
	b.Visible("#countdown .unit")
	// The logo loads: the CSP lets images come from the maker's origin.
	b.Do("wait for the logo", chromedp.Poll[chromedp.Void](`(() => { const i = document.getElementById("maker-logo"); return i && i.complete && i.naturalWidth > 0; })()`, chromedp.WithPollingTimeout(30*time.Second)))
	if src := chrome.Eval[string](b, `document.getElementById('maker-logo').src`); src != logos.URL+"/logo.svg" {
		t.Errorf("logo src %q", src)
	}
	// The accent colour comes from the maker's stylesheet.
	if c := chrome.Eval[string](b, `getComputedStyle(document.querySelector('.top-brand')).borderTopColor`); c != "rgb(10, 125, 90)" {
		t.Errorf("header accent %q, want rgb(10, 125, 90)", c)
	}
	if c := chrome.Eval[string](b, `getComputedStyle(document.documentElement).getPropertyValue('--brand').trim()`); c != "#0a7d5a" {
		t.Errorf("--brand is %q, want #0a7d5a", c)
	}
	b.Shot("12-maker-branding")

	// A name with markup is text; a platform drop has no maker header.
	evil := map[string]any{"id": "evil", "name": "Evil", "max_drops": 1,
		"display_name": `<img src=x onerror=alert(1)>"&`, "accent": "#aa0000"}
	if code := n.call("POST", "/api/v1/tenants", adminToken, evil, nil); code != http.StatusCreated {
		t.Fatalf("create tenant: %d", code)
	}
	var ek struct{ Key string }
	n.call("POST", "/api/v1/tenants/evil/keys", adminToken, map[string]string{"role": "owner"}, &ek)
	if code := n.call("POST", "/api/v1/drops", ek.Key, map[string]any{"id": "evil-drop", "name": "Drop", "stock": 1}, nil); code != http.StatusCreated {
		t.Fatalf("create evil's drop: %d", code)
	}
	page := testkit.MustGetOK(t, n.URL+"/d/evil-drop")
	if strings.Contains(page, "<img src=x") || !strings.Contains(page, "&lt;img src=x onerror=alert(1)&gt;&#34;&amp;") {
		t.Errorf("the maker's name is not escaped:\n%s", page)
	}
	b.Do("open the evil drop", chromedp.Navigate(n.URL+"/d/evil-drop"))
	if got := b.Text("#maker-name"); got != `<img src=x onerror=alert(1)>"&` {
		t.Errorf("maker name shown as %q", got)
	}
	n.createDrop(dropSpec{ID: "platform", Stock: 5})
	if page := testkit.MustGetOK(t, n.URL+"/d/platform"); strings.Contains(page, `id="maker"`) {
		t.Error("a platform drop shows a maker header")
	}
	// The stylesheet of a drop without an accent does not exist.
	if resp, err := http.Get(n.URL + "/d/platform/brand.css"); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("brand.css of a platform drop: %v %v", resp.StatusCode, err)
	}
}
