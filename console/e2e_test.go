package console_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/internal/testkit/chrome"
	"github.com/floodgate/floodgate/rush"
)

// The console's end-to-end test: the real binary through internal/testkit,
// a small rush through package rush, and Debian's headless Chromium.

func TestMain(m *testing.M) { os.Exit(testkit.RunMain(m)) }

func newBrowser(t *testing.T, lang string, w, h int64) *chrome.Browser {
	t.Helper()
	chrome.NeedE2E(t)
	return chrome.New(t, chrome.Options{Lang: lang, Width: w, Height: h})
}

// landed waits for the page a control's form redirects to, with its notice.
func landed(b *chrome.Browser, notice string) {
	b.T.Helper()
	b.WaitJS("land after "+notice, "location.search.indexOf('done="+notice+"') >= 0 && document.readyState === 'complete' && !!document.getElementById('figures')")
}

// number reads a figure such as "1,234" as an integer.
func number(b *chrome.Browser, sel string) int64 {
	b.T.Helper()
	s := strings.ReplaceAll(b.Text(sel), ",", "")
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		b.T.Fatalf("%s is %q, not a number", sel, s)
	}
	return n
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
	chrome.NeedE2E(t)
	n := testkit.StartNode(t, testkit.Options{})
	b := newBrowser(t, "en", 1280, 900)
	const drop = "console-drop"

	// Sign in: a wrong token is refused beside the field, the right one
	// lands on the drops list.
	b.Do("open the console", chromedp.Navigate(n.URL+"/admin/"))
	b.Visible("#token")
	b.Do("wrong token", chromedp.SendKeys(chromedp.CSS("#token"), "not-the-token"), chromedp.Submit(chromedp.CSS("#token")))
	b.Visible("#token-err")
	b.Do("right token", chromedp.SetValue(chromedp.CSS("#token"), n.AdminToken), chromedp.Submit(chromedp.CSS("#token")))
	b.Visible("a[href='/admin/drops/new']")
	if c := chrome.Eval[string](b, "document.cookie"); strings.Contains(c, "fg_console") {
		t.Fatalf("the session cookie is readable by scripts: %q", c)
	}

	// Create a drop: a bad id is answered beside its field with the API's
	// message, and the form keeps what was typed.
	b.Do("new drop", chromedp.Navigate(n.URL+"/admin/drops/new"))
	b.Do("fill", chromedp.SetValue(chromedp.CSS("#f-id"), "Bad Id"), chromedp.SetValue(chromedp.CSS("#f-name"), "Console speaker"),
		chromedp.SetValue(chromedp.CSS("#f-stock"), "40"), chromedp.SetValue(chromedp.CSS("#f-admit_per_second"), "25"),
		chromedp.SetValue(chromedp.CSS("#f-hold_seconds"), "60"),
		chromedp.SetValue(chromedp.CSS("#f-starts_at"), time.Now().Add(-time.Minute).UTC().Format("2006-01-02T15:04")))
	// The page sends its time zone; the value above is UTC.
	b.Do("utc", chromedp.Evaluate[chromedp.Void]("document.querySelector('.tz-offset').value='0'; document.querySelector('.tz-offset').className=''"))
	b.Do("submit", chromedp.Submit(chromedp.CSS("#f-id")))
	b.Visible("#e-id")
	if msg := chrome.Eval[string](b, "document.getElementById('e-id').textContent"); !strings.Contains(msg, `"id"`) {
		t.Fatalf("the id error says %q", msg)
	}
	if v := chrome.Eval[string](b, "document.getElementById('f-name').value"); v != "Console speaker" {
		t.Fatalf("the form lost the name: %q", v)
	}
	b.Do("fix id", chromedp.SetValue(chromedp.CSS("#f-id"), drop),
		chromedp.Evaluate[chromedp.Void]("document.querySelector('input[name=tz_offset]').value='0'"),
		chromedp.Submit(chromedp.CSS("#f-id")))
	b.Visible("#figures")
	if got := number(b, "#v-stock"); got != 40 {
		t.Fatalf("the live page shows stock %d", got)
	}

	// Pause before anyone comes: a buyer who joins waits, and the page
	// says the line is paused, with the reason.
	b.Do("pause", chromedp.SetValue(chromedp.CSS("#c-reason"), "Payment check / 결제 점검"), chromedp.Click(chromedp.CSS("#btn-pause")))
	landed(b, "notice_paused")
	b.Visible("#v-paused")
	buyer := newBrowser(t, "ko", 390, 844)
	buyer.Do("open the drop", chromedp.Navigate(n.URL+"/d/"+drop))
	buyer.Do("join", chromedp.Click(chromedp.CSS("#join"), chromedp.NodeVisible))
	buyer.Visible("#view-waiting")
	buyer.Visible("#w-paused")
	if s := buyer.Text("#w-paused"); !strings.Contains(s, "결제 점검") || !strings.Contains(s, "멈췄") {
		t.Fatalf("the buyer's page says %q while paused", s)
	}

	// A small rush arrives while paused: nobody is admitted.
	rushDone := make(chan *rush.Result, 1)
	rushErr := make(chan error, 1)
	go func() {
		res, err := rush.Run(context.Background(), rush.Config{
			Target: n.URL, AdminToken: n.AdminToken, Drop: drop, ServerPid: n.PID(),
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
	b.WaitJS("the live page sees the rush join", "Number(document.getElementById('v-waiting').textContent.replace(/,/g,'')) >= 50")
	before := admittedUpTo(t, n, drop)
	time.Sleep(2 * time.Second) // several ticks of 50 ms: admission must not move
	if after := admittedUpTo(t, n, drop); after != before || before != 0 {
		t.Fatalf("admission moved from %d to %d while paused", before, after)
	}
	b.Shot("console-live-paused")

	// Resume: the buyer (first in line) is admitted, and the live page
	// follows the rush without a reload.
	b.Do("resume", chromedp.Click(chromedp.CSS("#btn-resume")))
	landed(b, "notice_resumed")
	b.WaitJS("the paused badge goes", "document.getElementById('v-paused').hidden")
	buyer.Visible("#view-turn")
	b.Do("mark the page", chromedp.Evaluate[chromedp.Void]("window.__same = 1"))
	b.WaitJS("sold rises live", "Number(document.getElementById('v-sold').textContent.replace(/,/g,'')) >= 10")
	b.WaitJS("the charts move", "document.querySelector('[data-chart=counts] polyline.series').getAttribute('points').split(' ').length > 5")
	if !chrome.Eval[bool](b, "window.__same === 1") {
		t.Fatal("the live page reloaded instead of updating")
	}
	b.Shot("console-live")

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
	b.Do("restock", chromedp.SetValue(chromedp.CSS("#c-stock"), "60"), chromedp.Click(chromedp.CSS("#btn-update")))
	landed(b, "notice_updated")
	b.WaitJS("stock 60", "document.getElementById('v-stock').textContent.replace(/,/g,'') === '60'")
	// Below what is sold: refused beside the field.
	b.Do("stock too low", chromedp.SetValue(chromedp.CSS("#c-stock"), "1"), chromedp.Click(chromedp.CSS("#btn-update")))
	b.Visible("#e-stock")

	// The report: the same numbers as the orders list and the rush.
	b.Do("report", chromedp.Navigate(n.URL+"/admin/drops/"+drop+"/report"))
	b.Visible("#report-figures")
	orders := n.MustOrders(t, drop)
	if got := number(b, "#r-sold"); got != sum.Sold {
		t.Fatalf("the report says %d sold, the rush %d", got, sum.Sold)
	}
	if got := number(b, "#r-orders"); got != int64(len(orders)) || got != sum.ServerOrders {
		t.Fatalf("the report says %d orders; the list has %d, the rush counted %d", got, len(orders), sum.ServerOrders)
	}
	if got := chrome.Eval[string](b, "document.querySelector('[data-step=ordered]').textContent"); strings.ReplaceAll(got, ",", "") != strconv.Itoa(len(orders)) {
		t.Fatalf("the funnel says %q ordered for %d orders", got, len(orders))
	}
	if n := chrome.Eval[int](b, "document.querySelectorAll('svg.chart').length"); n < 3 {
		t.Fatalf("the report has %d charts", n)
	}
	b.Shot("console-report")

	// The report as JSON through the API says the same.
	var rep struct {
		Sold   int64 `json:"sold"`
		Orders int64 `json:"orders"`
	}
	ctx := testkit.Context(t, 20*time.Second)
	if _, err := n.Call(ctx, http.MethodGet, "/api/v1/drops/"+drop+"/report", testkit.Bearer(n.AdminToken), nil, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Sold != sum.Sold || rep.Orders != int64(len(orders)) {
		b, _ := json.Marshal(rep)
		t.Fatalf("the API report %s", b)
	}

	// The audit log lists the operator's changes.
	b.Do("audit", chromedp.Navigate(n.URL+"/admin/audit"))
	audit := b.Text("#audit")
	for _, a := range []string{"drop.create", "drop.pause", "drop.resume", "drop.update"} {
		if !strings.Contains(audit, a) {
			t.Fatalf("the audit log lacks %s:\n%s", a, audit)
		}
	}

	// A tablet shows the live page without sideways scrolling.
	tab := newBrowser(t, "ko", 768, 1024)
	tab.Do("sign in on the tablet", chromedp.Navigate(n.URL+"/admin/drops/"+drop))
	tab.Visible("#token")
	tab.Do("token", chromedp.SetValue(chromedp.CSS("#token"), n.AdminToken), chromedp.Submit(chromedp.CSS("#token")))
	tab.Visible("#figures")
	if chrome.Eval[bool](tab, "document.documentElement.scrollWidth > window.innerWidth + 1") {
		t.Fatal("the live page scrolls sideways on a tablet")
	}
	tab.Shot("console-live-tablet-ko")

	// Sign out ends the session: the console asks to sign in again.
	b.Do("home", chromedp.Navigate(n.URL+"/admin/"))
	b.Do("sign out", chromedp.Click(chromedp.CSS("form[action='/admin/logout'] button"), chromedp.NodeVisible))
	b.Visible("#token")
	b.Do("back", chromedp.Navigate(n.URL+"/admin/audit"))
	b.Visible("#token")
}
