// Package chrome drives Debian's headless Chromium for the end-to-end tests
// of the buyer pages (web), the console and the status page: one way to find
// the browser, start it, wait for the page, and keep screenshots.
//
// Screenshots go to $FLOODGATE_ARTIFACTS (default
// $TMPDIR/floodgate-screenshots), so a test run leaves the tree clean; with
// FLOODGATE_UPDATE_SCREENSHOTS=1 they also replace the pictures in
// docs/screenshots.
package chrome

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/floodgate/floodgate/internal/testkit"
)

// Timeout bounds every step: waits are for things that must happen, never
// measurements.
const Timeout = 60 * time.Second

// Path returns Chromium's path: $CHROMIUM, else chromium (or
// chromium-browser, google-chrome) on $PATH. Without it the test fails when
// CI=true and is skipped elsewhere.
func Path(tb testing.TB) string {
	tb.Helper()
	names := []string{"chromium", "chromium-browser", "google-chrome"}
	if p := os.Getenv("CHROMIUM"); p != "" {
		names = []string{p}
	}
	for _, name := range names {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		tb.Fatalf("Chromium is required in CI: apt-get install -y chromium fonts-noto-cjk (no %s)", names[0])
	}
	tb.Skipf("no Chromium at %s (apt-get install -y chromium fonts-noto-cjk)", names[0])
	return ""
}

// NeedE2E skips an end-to-end test with -short, and without Chromium (where
// CI=true, it fails instead).
func NeedE2E(tb testing.TB) {
	tb.Helper()
	if testing.Short() {
		tb.Skip("end-to-end test; run without -short")
	}
	Path(tb)
}

// Options shape a browser. The zero value is a phone (360×760 CSS pixels)
// with a fresh profile and the system's language.
type Options struct {
	Lang          string // Accept-Language and UI language, e.g. "ko-KR,ko"
	Width, Height int64  // CSS pixels; 0: 360×760
	Scale         float64
	Mobile        bool   // emulate a touch phone
	Dir           string // profile directory; "": a fresh one. The same Dir again is the same browser opened again.
	Extra         []chromedp.ExecAllocatorOption
}

// Browser is one headless Chromium (or one tab of it).
type Browser struct {
	T   testing.TB
	Ctx context.Context
	opt Options
	end func()
}

// New starts Chromium; it is closed when the test ends.
func New(tb testing.TB, o Options) *Browser {
	tb.Helper()
	if o.Width == 0 || o.Height == 0 {
		o.Width, o.Height = 360, 760
	}
	if o.Scale == 0 {
		o.Scale = 1
	}
	if o.Dir == "" {
		o.Dir = tb.TempDir()
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(Path(tb)),
		chromedp.UserDataDir(o.Dir),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("hide-scrollbars", true),
	}
	if o.Lang != "" {
		opts = append(opts, chromedp.Flag("lang", o.Lang), chromedp.Flag("accept-lang", o.Lang))
	}
	opts = append(opts, o.Extra...)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	tb.Cleanup(func() { cancel(); cancelAlloc() })
	b := &Browser{T: tb, Ctx: ctx, opt: o, end: func() { _ = chromedp.Cancel(ctx); cancelAlloc() }}
	// The first run starts the browser; it must not carry a timeout.
	if err := chromedp.Do(ctx, b.Viewport(o.Width, o.Height)); err != nil {
		tb.Fatalf("start Chromium: %v", err)
	}
	return b
}

// Viewport is the action that sets the page's size with the browser's scale
// and phone emulation.
func (b *Browser) Viewport(w, h int64) chromedp.Action[chromedp.Void] {
	opts := []chromedp.EmulateViewportOption{chromedp.EmulateScale(b.opt.Scale)}
	if b.opt.Mobile {
		opts = append(opts, chromedp.EmulateMobile)
	}
	return chromedp.EmulateViewport(w, h, opts...)
}

// Close closes the browser as a person would, keeping its profile.
func (b *Browser) Close() {
	if b.end != nil {
		b.end()
	}
}

// Tab opens another tab of the same browser (same cookies and storage).
func (b *Browser) Tab() *Browser {
	b.T.Helper()
	ctx, cancel := chromedp.NewContext(b.Ctx)
	b.T.Cleanup(cancel)
	tb := &Browser{T: b.T, Ctx: ctx, opt: b.opt}
	if err := chromedp.Do(ctx, tb.Viewport(b.opt.Width, b.opt.Height)); err != nil {
		b.T.Fatal(err)
	}
	return tb
}

// Fail ends the test with what the page's main element holds (if the page
// gives it within a few seconds: a page that never loaded has none).
func (b *Browser) Fail(step string, err error) {
	b.T.Helper()
	ctx, cancel := context.WithTimeout(b.Ctx, 5*time.Second)
	defer cancel()
	html, _ := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("main")))
	b.T.Fatalf("%s: %v\nmain: %.4000s", step, err, html)
}

// Do runs steps within Timeout.
func (b *Browser) Do(step string, steps ...chromedp.Action[chromedp.Void]) {
	b.T.Helper()
	ctx, cancel := context.WithTimeout(b.Ctx, Timeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.Fail(step, err)
	}
}

// Visible waits until the CSS selector sel is visible.
func (b *Browser) Visible(sel string) {
	b.T.Helper()
	b.Do("wait for "+sel, chromedp.WaitVisible(chromedp.CSS(sel)))
}

// Click clicks the element sel once it is visible.
func (b *Browser) Click(sel string) {
	b.T.Helper()
	b.Do("click "+sel, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
}

// Text is the visible text of sel, trimmed.
func (b *Browser) Text(sel string) string {
	b.T.Helper()
	return strings.TrimSpace(Run(b, "read "+sel, chromedp.Text(chromedp.CSS(sel), chromedp.NodeVisible)))
}

// Eval evaluates the expression js.
func Eval[T any](b *Browser, js string) T {
	b.T.Helper()
	return Run(b, "eval "+js, chromedp.Evaluate[T](js))
}

// EvalAsync evaluates js, which returns a promise, and waits for it.
func EvalAsync[T any](b *Browser, js string) T {
	b.T.Helper()
	return Run(b, "eval "+js, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
}

// Run runs the action a (a query, a screenshot) within Timeout and returns
// its result; step names it if it fails.
func Run[T any](b *Browser, step string, a chromedp.Action[T]) T {
	b.T.Helper()
	ctx, cancel := context.WithTimeout(b.Ctx, Timeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.Fail(step, err)
	}
	return v
}

// WaitJS waits until the expression js is true.
func (b *Browser) WaitJS(step, js string) {
	b.T.Helper()
	ctx, cancel := context.WithTimeout(b.Ctx, Timeout)
	defer cancel()
	for {
		v, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js))
		if err == nil && v {
			return
		}
		select {
		case <-ctx.Done():
			b.Fail(step, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Cookie returns the value of a cookie the page can read.
func (b *Browser) Cookie(name string) string {
	b.T.Helper()
	for _, kv := range strings.Split(Eval[string](b, "document.cookie"), "; ") {
		if k, v, ok := strings.Cut(kv, "="); ok && k == name {
			return v
		}
	}
	return ""
}

// Shot keeps a screenshot of the whole page as name.png (see Save).
func (b *Browser) Shot(name string) {
	b.T.Helper()
	// Let fonts and the last paint settle: a picture, not a measurement.
	b.Do("settle", chromedp.Sleep(400*time.Millisecond))
	// Quality 100 gives a PNG (less gives JPEG).
	Save(b.T, name, Run(b, "screenshot "+name, chromedp.FullScreenshot(100)))
}

// Save keeps the PNG image png as name.png in $FLOODGATE_ARTIFACTS (default
// $TMPDIR/floodgate-screenshots) and, with FLOODGATE_UPDATE_SCREENSHOTS=1,
// in docs/screenshots.
func Save(tb testing.TB, name string, png []byte) {
	tb.Helper()
	if len(png) < 8 || string(png[1:4]) != "PNG" {
		tb.Fatalf("screenshot %s is not a PNG", name)
	}
	dir := os.Getenv("FLOODGATE_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "floodgate-screenshots")
	}
	dirs := []string{dir}
	if os.Getenv("FLOODGATE_UPDATE_SCREENSHOTS") == "1" {
		root, err := testkit.ModuleRoot()
		if err != nil {
			tb.Fatal(err)
		}
		dirs = append(dirs, filepath.Join(root, "docs", "screenshots"))
	}
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			tb.Fatal(err)
		}
		out := filepath.Join(d, name+".png")
		if err := os.WriteFile(out, png, 0o644); err != nil {
			tb.Fatal(err)
		}
		tb.Logf("screenshot written to %s", out)
	}
}
