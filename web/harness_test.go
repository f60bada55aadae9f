package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/floodgate/floodgate/internal/testkit"
)

// This file is the end-to-end harness: it starts the real floodgate binary
// through internal/testkit (a free loopback port, its own data directory)
// and drives Debian's headless Chromium against it.

const adminToken = "web-e2e-admin-token"

// needE2E skips (or, in CI, fails) when the tools of the end-to-end tests
// are missing.
func needE2E(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test; run without -short")
	}
	chromium := os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("Chromium is required in CI: apt-get install -y chromium fonts-noto-cjk (%v)", err)
		}
		t.Skipf("no Chromium at %s (apt-get install -y chromium fonts-noto-cjk)", chromium)
	}
	return chromium
}

func TestMain(m *testing.M) { os.Exit(testkit.RunMain(m)) }

// node is one running floodgate serve --dev, started through testkit.
type node struct {
	*testkit.Node
	t    *testing.T
	Addr string
}

// startNode starts floodgate serve --dev with extra flags; addr may be ""
// for a free port.
func startNode(t *testing.T, addr string, extra ...string) *node {
	t.Helper()
	n := testkit.StartNode(t, testkit.Options{HTTPAddr: addr, AdminToken: adminToken, Args: extra})
	return &node{Node: n, t: t, Addr: n.HTTPAddr}
}

// call makes an API call and decodes the JSON answer into out (if not nil).
func (n *node) call(method, path, bearer string, body any, out any, hdr ...string) int {
	n.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, n.URL+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		n.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			n.t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
		}
	}
	return resp.StatusCode
}

type dropSpec struct {
	ID               string   `json:"id"`
	Name             string   `json:"name"`
	Price            int64    `json:"price"`
	Currency         string   `json:"currency"`
	Stock            int64    `json:"stock"`
	PerCustomerLimit int64    `json:"per_customer_limit"`
	StartsAt         string   `json:"starts_at,omitempty"`
	HoldSeconds      int64    `json:"hold_seconds"`
	AdmitPerSecond   int64    `json:"admit_per_second"`
	Vouchers         []string `json:"vouchers,omitempty"`
	// ChallengeDifficulty is "auto" or 0-28; nil leaves the default.
	ChallengeDifficulty any `json:"challenge_difficulty,omitempty"`
}

func (n *node) createDrop(d dropSpec) {
	n.t.Helper()
	if d.Name == "" {
		d.Name = "Mini AI speaker"
	}
	if d.Currency == "" {
		d.Currency = "KRW"
	}
	if d.Price == 0 {
		d.Price = 59000
	}
	if d.HoldSeconds == 0 {
		d.HoldSeconds = 300
	}
	if d.PerCustomerLimit == 0 {
		d.PerCustomerLimit = 1
	}
	if d.AdmitPerSecond == 0 {
		d.AdmitPerSecond = 100
	}
	var out map[string]any
	if code := n.call("POST", "/api/v1/drops", adminToken, d, &out); code != 201 && code != 200 {
		n.t.Fatalf("create drop %s: %d %v", d.ID, code, out)
	}
}

type orderJSON struct {
	ID       string `json:"id"`
	HoldID   string `json:"hold_id"`
	Customer string `json:"customer"`
	Voucher  string `json:"voucher"`
}

func (n *node) orders(drop string) []orderJSON {
	n.t.Helper()
	var out struct {
		Orders []orderJSON `json:"orders"`
	}
	if code := n.call("GET", "/api/v1/drops/"+drop+"/orders", adminToken, nil, &out); code != 200 {
		n.t.Fatalf("orders of %s: %d", drop, code)
	}
	return out.Orders
}

type meJSON struct {
	State    string `json:"state"`
	Position int64  `json:"position"`
	Hold     *struct {
		ID        string `json:"id"`
		Status    string `json:"status"`
		ExpiresAt string `json:"expires_at"`
		Paused    bool   `json:"paused"`
	} `json:"hold"`
	Order *orderJSON `json:"order"`
}

func (n *node) me(drop, ticket string) meJSON {
	n.t.Helper()
	var m meJSON
	if code := n.call("GET", "/api/v1/drops/"+drop+"/me", ticket, nil, &m); code != 200 {
		n.t.Fatalf("me: %d", code)
	}
	return m
}

// browser is one headless Chromium with a fresh profile, at a phone's
// width (360 CSS pixels).
type browser struct {
	t     *testing.T
	ctx   context.Context
	close func() // closes the browser as a person would
}

func newBrowser(t *testing.T, lang string) *browser {
	t.Helper()
	return newBrowserIn(t, lang, t.TempDir())
}

// newBrowserIn starts Chromium on the profile in dir; a second browser on
// the same dir is the same browser closed and opened again.
func newBrowserIn(t *testing.T, lang, dir string, extra ...chromedp.ExecAllocatorOption) *browser {
	t.Helper()
	chromium := needE2E(t)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium),
		chromedp.UserDataDir(dir),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("lang", lang),
		chromedp.Flag("accept-lang", lang),
		chromedp.Flag("hide-scrollbars", true),
	}
	opts = append(opts, extra...)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	b := &browser{t: t, ctx: ctx, close: func() { _ = chromedp.Cancel(ctx); cancelAlloc() }}
	// The first run starts the browser; it must not carry a timeout.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(360, 760, chromedp.EmulateScale(2))); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return b
}

// tab opens another tab of the same browser (same cookies and storage).
func (b *browser) tab() *browser {
	ctx, cancel := chromedp.NewContext(b.ctx)
	b.t.Cleanup(cancel)
	tb := &browser{t: b.t, ctx: ctx}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(360, 760, chromedp.EmulateScale(2))); err != nil {
		b.t.Fatal(err)
	}
	return tb
}

func (b *browser) fail(step string, err error) {
	b.t.Helper()
	html, _ := chromedp.Run(b.ctx, chromedp.OuterHTML(chromedp.CSS("#main")))
	b.t.Fatalf("%s: %v\n#main: %.4000s", step, err, html)
}

// do runs steps with a generous deadline: waits are for things that must
// happen, never measurements.
func (b *browser) do(step string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 45*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.fail(step, err)
	}
}

// visible waits until the CSS selector sel is visible.
func (b *browser) visible(sel string) {
	b.t.Helper()
	b.do("wait for "+sel, chromedp.WaitVisible(chromedp.CSS(sel)))
}

func (b *browser) click(sel string) {
	b.t.Helper()
	b.do("click "+sel, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
}

func (b *browser) text(sel string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 45*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel), chromedp.NodeVisible))
	if err != nil {
		b.fail("read "+sel, err)
	}
	return strings.TrimSpace(s)
}

func evalJS[T any](b *browser, js string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 45*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		b.fail("eval "+js, err)
	}
	return v
}

// evalJSAsync evaluates js, which returns a promise, and waits for it.
func evalJSAsync[T any](b *browser, js string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 45*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		b.fail("eval "+js, err)
	}
	return v
}

// cookie returns the value of a cookie the page can read.
func (b *browser) cookie(name string) string {
	b.t.Helper()
	for _, kv := range strings.Split(evalJS[string](b, "document.cookie"), "; ") {
		if k, v, ok := strings.Cut(kv, "="); ok && k == name {
			return v
		}
	}
	return ""
}

// shot saves a screenshot of the whole page as a test artifact in
// $FLOODGATE_ARTIFACTS (or the temp dir), and into docs/screenshots when
// FLOODGATE_UPDATE_SCREENSHOTS=1.
func (b *browser) shot(name string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 45*time.Second)
	defer cancel()
	// Let fonts and the last paint settle: a picture, not a measurement.
	_ = chromedp.Do(ctx, chromedp.Sleep(400*time.Millisecond))
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.fail("screenshot "+name, err)
	}
	dir := os.Getenv("FLOODGATE_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "floodgate-screenshots")
	}
	_ = os.MkdirAll(dir, 0o755)
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	if os.Getenv("FLOODGATE_UPDATE_SCREENSHOTS") == "1" {
		if err := os.WriteFile(filepath.Join("..", "docs", "screenshots", name+".png"), png, 0o644); err != nil {
			b.t.Fatal(err)
		}
	}
}
