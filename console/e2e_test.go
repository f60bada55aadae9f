package console_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/rush"
)

// The console's end-to-end test: the real binary through internal/testkit,
// a small rush through package rush, and Debian's headless Chromium.

func TestMain(m *testing.M) { os.Exit(testkit.RunMain(m)) }

func needChromium(t *testing.T) string {
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
		t.Skipf("no Chromium at %s", chromium)
	}
	return chromium
}

type browser struct {
	t   *testing.T
	ctx context.Context
}

func newBrowser(t *testing.T, lang string, w, h int64) *browser {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(needChromium(t)),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("lang", lang),
		chromedp.Flag("accept-lang", lang),
		chromedp.Flag("hide-scrollbars", true),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	b := &browser{t: t, ctx: ctx}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(w, h)); err != nil {
		t.Fatal(err)
	}
	return b
}

func (b *browser) fail(step string, err error) {
	b.t.Helper()
	html, _ := chromedp.Run(b.ctx, chromedp.OuterHTML(chromedp.CSS("main")))
	b.t.Fatalf("%s: %v\nmain: %.4000s", step, err, html)
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

func (b *browser) visible(sel string) {
	b.t.Helper()
	b.do("wait for "+sel, chromedp.WaitVisible(chromedp.CSS(sel)))
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

// waitJS waits until the expression js is true.
func (b *browser) waitJS(step, js string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
	defer cancel()
	for {
		v, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js))
		if err == nil && v {
			return
		}
		select {
		case <-ctx.Done():
			b.fail(step, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// landed waits for the page a control's form redirects to, with its notice.
func (b *browser) landed(notice string) {
	b.t.Helper()
	b.waitJS("land after "+notice, "location.search.indexOf('done="+notice+"') >= 0 && document.readyState === 'complete' && !!document.getElementById('figures')")
}

// number reads a figure such as "1,234" as an integer.
func (b *browser) number(sel string) int64 {
	b.t.Helper()
	s := strings.ReplaceAll(b.text(sel), ",", "")
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		b.t.Fatalf("%s is %q, not a number", sel, s)
	}
	return n
}

// shot saves a full-page screenshot as a test artifact, and into
// docs/screenshots when FLOODGATE_UPDATE_SCREENSHOTS=1.
func (b *browser) shot(name string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 45*time.Second)
	defer cancel()
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

func admittedUpTo(t *testing.T, n *testkit.Node, drop string) int64 {
	t.Helper()
	return n.MustDrop(t, drop).AdmittedUpTo
}

// TestConsoleDrivesASale signs in, creates a drop, pauses it and sees a
// buyer's page say so while nobody is admitted, resumes and watches the
// live page follow a small rush, restocks, and opens the report, whose
// figures match the orders list and the rush's own summary.
func TestConsoleDrivesASale(t *testing.T) {
	needChromium(t)
	n := testkit.StartNode(t, testkit.Options{})
	b := newBrowser(t, "en", 1280, 900)
	const drop = "console-drop"

	// Sign in: a wrong token is refused beside the field, the right one
	// lands on the drops list.
	b.do("open the console", chromedp.Navigate(n.URL+"/admin/"))
	b.visible("#token")
	b.do("wrong token", chromedp.SendKeys(chromedp.CSS("#token"), "not-the-token"), chromedp.Submit(chromedp.CSS("#token")))
	b.visible("#token-err")
	b.do("right token", chromedp.SetValue(chromedp.CSS("#token"), n.AdminToken), chromedp.Submit(chromedp.CSS("#token")))
	b.visible("a[href='/admin/drops/new']")
	if c := evalJS[string](b, "document.cookie"); strings.Contains(c, "fg_console") {
		t.Fatalf("the session cookie is readable by scripts: %q", c)
	}

	// Create a drop: a bad id is answered beside its field with the API's
	// message, and the form keeps what was typed.
	b.do("new drop", chromedp.Navigate(n.URL+"/admin/drops/new"))
	b.do("fill", chromedp.SetValue(chromedp.CSS("#f-id"), "Bad Id"), chromedp.SetValue(chromedp.CSS("#f-name"), "Console speaker"),
		chromedp.SetValue(chromedp.CSS("#f-stock"), "40"), chromedp.SetValue(chromedp.CSS("#f-admit_per_second"), "25"),
		chromedp.SetValue(chromedp.CSS("#f-hold_seconds"), "60"),
		chromedp.SetValue(chromedp.CSS("#f-starts_at"), time.Now().Add(-time.Minute).UTC().Format("2006-01-02T15:04")))
	// The page sends its time zone; the value above is UTC.
	b.do("utc", chromedp.Evaluate[chromedp.Void]("document.querySelector('.tz-offset').value='0'; document.querySelector('.tz-offset').className=''"))
	b.do("submit", chromedp.Submit(chromedp.CSS("#f-id")))
	b.visible("#e-id")
	if msg := evalJS[string](b, "document.getElementById('e-id').textContent"); !strings.Contains(msg, `"id"`) {
		t.Fatalf("the id error says %q", msg)
	}
	if v := evalJS[string](b, "document.getElementById('f-name').value"); v != "Console speaker" {
		t.Fatalf("the form lost the name: %q", v)
	}
	b.do("fix id", chromedp.SetValue(chromedp.CSS("#f-id"), drop),
		chromedp.Evaluate[chromedp.Void]("document.querySelector('input[name=tz_offset]').value='0'"),
		chromedp.Submit(chromedp.CSS("#f-id")))
	b.visible("#figures")
	if got := b.number("#v-stock"); got != 40 {
		t.Fatalf("the live page shows stock %d", got)
	}

	// Pause before anyone comes: a buyer who joins waits, and the page
	// says the line is paused, with the reason.
	b.do("pause", chromedp.SetValue(chromedp.CSS("#c-reason"), "Payment check / 결제 점검"), chromedp.Click(chromedp.CSS("#btn-pause")))
	b.landed("notice_paused")
	b.visible("#v-paused")
	buyer := newBrowser(t, "ko", 390, 844)
	buyer.do("open the drop", chromedp.Navigate(n.URL+"/d/"+drop))
	buyer.do("join", chromedp.Click(chromedp.CSS("#join"), chromedp.NodeVisible))
	buyer.visible("#view-waiting")
	buyer.visible("#w-paused")
	if s := buyer.text("#w-paused"); !strings.Contains(s, "결제 점검") || !strings.Contains(s, "멈췄") {
		t.Fatalf("the buyer's page says %q while paused", s)
	}

	// A small rush arrives while paused: nobody is admitted.
	rushDone := make(chan *rush.Result, 1)
	rushErr := make(chan error, 1)
	go func() {
		res, err := rush.Run(context.Background(), rush.Config{
			Target: n.URL, AdminToken: n.AdminToken, Drop: drop,
			Visitors: 150, BotShare: 0.02, Window: 3 * time.Second,
			// The drop opened before the rush: its deadline counts from then.
			Deadline: 5 * time.Minute, InFlight: 24, Seed: 11,
		})
		if err != nil {
			rushErr <- err
			return
		}
		rushDone <- res
	}()
	b.waitJS("the live page sees the rush join", "Number(document.getElementById('v-waiting').textContent.replace(/,/g,'')) >= 50")
	before := admittedUpTo(t, n, drop)
	time.Sleep(2 * time.Second) // several ticks of 50 ms: admission must not move
	if after := admittedUpTo(t, n, drop); after != before || before != 0 {
		t.Fatalf("admission moved from %d to %d while paused", before, after)
	}
	b.shot("console-live-paused")

	// Resume: the buyer (first in line) is admitted, and the live page
	// follows the rush without a reload.
	b.do("resume", chromedp.Click(chromedp.CSS("#btn-resume")))
	b.landed("notice_resumed")
	b.waitJS("the paused badge goes", "document.getElementById('v-paused').hidden")
	buyer.visible("#view-turn")
	b.do("mark the page", chromedp.Evaluate[chromedp.Void]("window.__same = 1"))
	b.waitJS("sold rises live", "Number(document.getElementById('v-sold').textContent.replace(/,/g,'')) >= 10")
	b.waitJS("the charts move", "document.querySelector('[data-chart=counts] polyline.series').getAttribute('points').split(' ').length > 5")
	if !evalJS[bool](b, "window.__same === 1") {
		t.Fatal("the live page reloaded instead of updating")
	}
	b.shot("console-live")

	var res *rush.Result
	select {
	case res = <-rushDone:
	case err := <-rushErr:
		t.Fatal(err)
	case <-time.After(90 * time.Second):
		t.Fatal("the rush did not end")
	}
	sum := res.Summary
	t.Logf("rush: visitors %d, sold %d, server orders %d, 5xx %d", sum.Visitors, sum.Sold, sum.ServerOrders, sum.Errors5xx)
	if !sum.Clean() {
		t.Fatalf("the rush broke a promise: %+v", sum)
	}

	// Restock: 20 more units; the live page shows them without a reload.
	b.do("restock", chromedp.SetValue(chromedp.CSS("#c-stock"), "60"), chromedp.Click(chromedp.CSS("#btn-update")))
	b.landed("notice_updated")
	b.waitJS("stock 60", "document.getElementById('v-stock').textContent.replace(/,/g,'') === '60'")
	// Below what is sold: refused beside the field.
	b.do("stock too low", chromedp.SetValue(chromedp.CSS("#c-stock"), "1"), chromedp.Click(chromedp.CSS("#btn-update")))
	b.visible("#e-stock")

	// The report: the same numbers as the orders list and the rush.
	b.do("report", chromedp.Navigate(n.URL+"/admin/drops/"+drop+"/report"))
	b.visible("#report-figures")
	orders := n.MustOrders(t, drop)
	if got := b.number("#r-sold"); got != sum.Sold {
		t.Fatalf("the report says %d sold, the rush %d", got, sum.Sold)
	}
	if got := b.number("#r-orders"); got != int64(len(orders)) || got != sum.ServerOrders {
		t.Fatalf("the report says %d orders; the list has %d, the rush counted %d", got, len(orders), sum.ServerOrders)
	}
	if got := evalJS[string](b, "document.querySelector('[data-step=ordered]').textContent"); strings.ReplaceAll(got, ",", "") != strconv.Itoa(len(orders)) {
		t.Fatalf("the funnel says %q ordered for %d orders", got, len(orders))
	}
	if n := evalJS[int](b, "document.querySelectorAll('svg.chart').length"); n < 3 {
		t.Fatalf("the report has %d charts", n)
	}
	b.shot("console-report")

	// The report as JSON through the API says the same.
	var rep struct {
		Sold   int64 `json:"sold"`
		Orders int64 `json:"orders"`
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := n.Call(ctx, http.MethodGet, "/api/v1/drops/"+drop+"/report", testkit.Bearer(n.AdminToken), nil, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Sold != sum.Sold || rep.Orders != int64(len(orders)) {
		b, _ := json.Marshal(rep)
		t.Fatalf("the API report %s", b)
	}

	// The audit log lists the operator's changes.
	b.do("audit", chromedp.Navigate(n.URL+"/admin/audit"))
	audit := b.text("#audit")
	for _, a := range []string{"drop.create", "drop.pause", "drop.resume", "drop.update"} {
		if !strings.Contains(audit, a) {
			t.Fatalf("the audit log lacks %s:\n%s", a, audit)
		}
	}

	// A tablet shows the live page without sideways scrolling.
	tab := newBrowser(t, "ko", 768, 1024)
	tab.do("sign in on the tablet", chromedp.Navigate(n.URL+"/admin/drops/"+drop))
	tab.visible("#token")
	tab.do("token", chromedp.SetValue(chromedp.CSS("#token"), n.AdminToken), chromedp.Submit(chromedp.CSS("#token")))
	tab.visible("#figures")
	if evalJS[bool](tab, "document.documentElement.scrollWidth > window.innerWidth + 1") {
		t.Fatal("the live page scrolls sideways on a tablet")
	}
	tab.shot("console-live-tablet-ko")

	// Sign out ends the session: the console asks to sign in again.
	b.do("home", chromedp.Navigate(n.URL+"/admin/"))
	b.do("sign out", chromedp.Click(chromedp.CSS("form[action='/admin/logout'] button"), chromedp.NodeVisible))
	b.visible("#token")
	b.do("back", chromedp.Navigate(n.URL+"/admin/audit"))
	b.visible("#token")
}
