package status

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/floodgate/floodgate"
	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/internal/testkit/chrome"
)

// historyServer serves a service whose clock has run through seedHistory.
func historyServer(t *testing.T) (*Service, *httptest.Server, string) {
	t.Helper()
	clock := newFakeClock()
	clock.Add(-80 * 24 * time.Hour)
	s, _ := MustOpen(t, func(c *Config) { c.Now = clock.Now })
	outageDay := seedHistory(t, s, clock)
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return s, srv, outageDay
}

// seedHistory gives a service 80 days of history: a three-hour critical
// checkout outage 32 days ago, a major login incident with a postmortem 12
// days ago, a minor slowdown today, and a "Sale" group of the waiting room,
// checkout and orders.
func seedHistory(t *testing.T, s *Service, clock *fakeClock) (outageDay string) {
	t.Helper()
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	// The components exist from the start of the clock.
	testkit.WaitFor(t, "the fixed components", func() bool { return len(s.Summary().Components) >= 4 })
	clock.Add(48 * 24 * time.Hour)
	outageDay = dayStart(clock.Now()).Format("2006-01-02")
	inc, err := s.CreateIncident(IncidentInput{Name: "Checkout down · 결제 중단", Impact: ImpactCritical, Message: "Orders fail. 주문이 실패합니다.", Components: []string{"checkout"}})
	must(inc, err)
	clock.Add(3 * time.Hour)
	must(s.AddUpdate(inc.ID, UpdateInput{Status: StatusResolved, Message: "Orders work again. 주문이 정상화되었습니다."}))
	clock.Add(20*24*time.Hour + 2*time.Hour) // 01:00 KST: the incident stays within one day
	login, err := s.CreateIncident(IncidentInput{Name: "Sign-in fails · 로그인 실패", Impact: ImpactMajor, Message: "The identity provider rejects logins. 로그인이 거부됩니다.",
		Components: []string{"login"}, Cause: "An expired certificate at the identity provider.", Response: "Holds were paused; nobody lost a unit."})
	must(login, err)
	clock.Add(5 * time.Hour)
	must(s.AddUpdate(login.ID, UpdateInput{Status: StatusResolved, Message: "Sign-in works again. 로그인이 정상화되었습니다."}))
	must(s.AttachPostmortem(login.ID, PostmortemInput{Body: "The provider's certificate expired at 03:12 KST. We now watch its expiry and page two weeks ahead.\n공급자의 인증서가 만료되었습니다. 이제 만료 2주 전에 알립니다."}))
	clock.Add(12 * 24 * time.Hour)
	must(s.PutGroup("sale", GroupInput{Name: "Sale", NameKO: "판매", Components: []string{"waiting-room", "checkout", "orders"}}))
	must(s.CreateIncident(IncidentInput{Name: "Slow queue updates · 대기열 갱신 지연", Impact: ImpactMinor, Message: "Positions update every 20 s. 순번이 20초마다 갱신됩니다.",
		Components: []string{"waiting-room"}}))
	return outageDay
}

func TestUptimeGroupsAndPostmortems(t *testing.T) {
	s, srv, outageDay := historyServer(t)

	var up UptimeDoc
	if code := doJSON(t, "GET", srv.URL+"/api/v2/uptime.json", "", nil, &up); code != 200 {
		t.Fatalf("uptime.json: %d", code)
	}
	byID := map[string]ComponentUptime{}
	for _, c := range up.Components {
		if len(c.History) != UptimeDays {
			t.Fatalf("%s has %d days, want %d", c.ID, len(c.History), UptimeDays)
		}
		byID[c.ID] = c
	}
	if _, ok := byID["sale"]; ok {
		t.Fatal("a group has its own uptime")
	}
	co := byID["checkout"]
	if co.GroupID != "sale" {
		t.Fatalf("checkout's group is %q", co.GroupID)
	}
	var found bool
	for _, d := range co.History {
		if d.Date == outageDay {
			found = true
			// Three hours of a full outage in a 24-hour day.
			if d.Uptime == nil || *d.Uptime != 87.5 || d.MajorSeconds != 3*3600 || d.Level != ComponentMajorOutage {
				t.Fatalf("the outage day: %+v (uptime %v)", d, d.Uptime)
			}
		}
	}
	if !found {
		t.Fatalf("no day %s in the history", outageDay)
	}
	if co.History[0].Level != "no_data" || co.History[0].Uptime != nil {
		t.Fatalf("the day before checkout existed: %+v", co.History[0])
	}
	// A major incident counts 30 %: five hours of it cost 1.5 hours.
	lg := byID["login"]
	var loginDay *UptimeDay
	for i := range lg.History {
		if lg.History[i].PartialSeconds > 0 {
			loginDay = &lg.History[i]
		}
	}
	if loginDay == nil || loginDay.PartialSeconds != 5*3600 || *loginDay.Uptime != 93.75 {
		t.Fatalf("the login incident's day: %+v", loginDay)
	}

	// The group in summary.json: Statuspage's group fields, the worst
	// status of its members.
	sum := s.Summary()
	var group *SPComponent
	for i := range sum.Components {
		if sum.Components[i].ID == "sale" {
			group = &sum.Components[i]
		}
	}
	if group == nil || !group.Group || group.Status != ComponentDegraded || strings.Join(group.Components, ",") != "waiting-room,checkout,orders" {
		t.Fatalf("the group in summary.json: %+v", group)
	}
	// A postmortem needs a resolved incident.
	open := sum.Incidents[0]
	if _, err := s.AttachPostmortem(open.ID, PostmortemInput{Body: "too early"}); err == nil {
		t.Fatal("a postmortem was attached to an open incident")
	}
	// Groups do not nest, and a component id is not a group.
	if _, err := s.PutGroup("inner", GroupInput{Name: "x", Components: []string{"sale"}}); err == nil {
		t.Fatal("a group took a group")
	}
	if _, err := s.PutGroup("checkout", GroupInput{Name: "x", Components: []string{"login"}}); err == nil {
		t.Fatal("a component was turned into a group")
	}
	// Its texts are checked in turn: a name, and a description of at most 500.
	for _, in := range []GroupInput{{Name: " "}, {Name: "x", Description: strings.Repeat("d", 501)}} {
		in.Components = []string{"login"}
		if _, err := s.PutGroup("texts", in); floodgate.ErrorCode(err) != floodgate.EInvalid {
			t.Fatalf("a group with name %q and a %d-byte description: %v, want invalid_argument", in.Name, len(in.Description), err)
		}
	}

	// The widget and the badge.
	resp, js := testkit.MustGet(t, srv.URL+"/status/widget.js")
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/javascript") || !strings.Contains(js, "/api/v2/status.json") || strings.Contains(js, "innerHTML") {
		t.Fatalf("widget.js: %s", resp.Header.Get("Content-Type"))
	}
	for path, want := range map[string]string{"/status/badge.svg": "degraded performance", "/status/badge.svg?component=login": "operational"} {
		resp, svg := testkit.MustGet(t, srv.URL+path)
		if resp.Header.Get("Content-Type") != "image/svg+xml" || !strings.Contains(svg, want) || !strings.HasPrefix(svg, "<svg") {
			t.Fatalf("%s: %s %s", path, resp.Header.Get("Content-Type"), svg)
		}
	}
	if resp, _ := testkit.MustGet(t, srv.URL+"/status/badge.svg?component=%3Cscript%3E"); resp.StatusCode != 404 {
		t.Fatalf("a badge of an unknown component: %d", resp.StatusCode)
	}
}

func TestMaintenanceOpensClosesAndNotifies(t *testing.T) {
	clock := newFakeClock()
	hook := newReceiver(t, 0)
	s, _ := MustOpen(t, func(c *Config) { c.Now = clock.Now })
	if _, err := s.Subscribe(SubscriberInput{Channel: ChannelWebhook, Target: hook.URL + "/h", Secret: "0123456789abcdef0123456789abcdef"}); err != nil {
		t.Fatal(err)
	}
	now := clock.Now()
	m, err := s.ScheduleMaintenance(MaintenanceInput{Name: "DB upgrade", Message: "Orders pause.", Components: []string{"orders"},
		ScheduledFor: now.Add(3 * time.Hour), ScheduledUntil: now.Add(4 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	kinds := func() []string {
		var out []string
		for _, r := range hook.accepted() {
			out = append(out, r.Header.Get("Floodgate-Event-Type"))
		}
		return out
	}
	status := func() string {
		for _, c := range s.Summary().Components {
			if c.ID == "orders" {
				return c.Status
			}
		}
		return ""
	}
	testkit.WaitFor(t, "the scheduled notice", func() bool { return len(kinds()) == 1 })
	clock.Add(2*time.Hour + 5*time.Minute) // within the hour before
	testkit.WaitFor(t, "the reminder", func() bool { return len(kinds()) == 2 })
	if status() != ComponentOperational {
		t.Fatalf("orders are %s before the window", status())
	}
	clock.Add(time.Hour)
	testkit.WaitFor(t, "the start notice", func() bool { return len(kinds()) == 3 })
	if status() != ComponentUnderMaintenance {
		t.Fatalf("orders are %s during the window", status())
	}
	clock.Add(time.Hour)
	testkit.WaitFor(t, "the end notice", func() bool { return len(kinds()) == 4 })
	if status() != ComponentOperational {
		t.Fatalf("orders are %s after the window", status())
	}
	want := []string{EventMaintenance, EventMaintenanceReminder, EventMaintenanceStarted, EventMaintenanceCompleted}
	if strings.Join(kinds(), ",") != strings.Join(want, ",") {
		t.Fatalf("notices %v, want %v", kinds(), want)
	}
	var p webhookPayload
	if err := json.Unmarshal(hook.accepted()[3].Body, &p); err != nil || p.Maintenance == nil || p.Maintenance.ID != m.ID || p.Maintenance.Status != maintenanceCompleted {
		t.Fatalf("the end notice: %s (%v)", hook.accepted()[3].Body, err)
	}
}

// TestStatusPageInChromium renders the live page with 90 days of uptime
// bars, a component group, a postmortem and the subscribe form, and keeps
// screenshots (see chrome.Save).
func TestStatusPageInChromium(t *testing.T) {
	_, srv, outageDay := historyServer(t)

	b := chrome.New(t, chrome.Options{Scale: 2})

	shots := map[string][]byte{}
	for _, v := range []struct {
		name          string
		width, height int64
		mobile        bool
	}{{"status-page-mobile", 420, 900, true}, {"status-page-desktop", 1100, 900, false}} {
		viewport := []chromedp.EmulateViewportOption{chromedp.EmulateScale(2)}
		if v.mobile {
			viewport = append(viewport, chromedp.EmulateMobile)
		}
		b.Do("open the page", chromedp.EmulateViewport(v.width, v.height, viewport...),
			chromedp.Navigate(srv.URL+"/status"), chromedp.WaitVisible(chromedp.CSS(".bars")))
		// textContent: the past incidents' details are folded.
		text := chrome.Eval[string](b, `document.body.textContent`)
		for _, want := range []string{"판매", "Sale", "90일", "구독하기", "Subscribe", "Postmortem", "certificate expired"} {
			if !strings.Contains(text, want) {
				t.Errorf("the page lacks %q", want)
			}
		}
		if bars := chrome.Eval[int](b, `document.querySelectorAll(".bars i").length`); bars != 4*UptimeDays {
			t.Fatalf("%d uptime bars, want %d", bars, 4*UptimeDays)
		}
		if red := chrome.Eval[int](b, `document.querySelectorAll(".bars .u-major_outage").length`); red != 1 {
			t.Fatalf("%d red bars, want the one outage day", red)
		}
		if title := chrome.Eval[string](b, `document.querySelector(".bars .u-major_outage").title`); title != outageDay+" · 87.50%" {
			t.Fatalf("the red bar says %q, want %q", title, outageDay+" · 87.50%")
		}
		shots[v.name] = chrome.Run(b, "screenshot "+v.name, chromedp.FullScreenshot(100))
		if v.mobile {
			for name, sel := range map[string]string{"status-subscribe-form": "form.subscribe", "status-components": "ul.components"} {
				shots[name] = chrome.Run(b, "screenshot "+name, chromedp.Screenshot(chromedp.CSS(sel)))
			}
		}
	}
	// The widget on a shop's page on another origin, and the badge.
	shop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, `<!doctype html><html lang="ko"><meta charset="utf-8"><body style="font-family:sans-serif;padding:16px">`+
			`<div id="shop"><h3 style="margin:0 0 8px">Mini AI speaker · 미니 AI 스피커</h3>`+
			`<script src="`+srv.URL+`/status/widget.js" async></script>`+
			`<p style="margin:12px 0 0"><img src="`+srv.URL+`/status/badge.svg" alt="status"> <img src="`+srv.URL+`/status/badge.svg?component=checkout" alt="checkout"></p></div></body></html>`)
	}))
	defer shop.Close()
	b.Do("open the shop's page", chromedp.EmulateViewport(420, 300, chromedp.EmulateScale(2)), chromedp.Navigate(shop.URL),
		chromedp.WaitVisible(chromedp.CSS(".floodgate-status-widget")))
	b.WaitJS("the widget to read the status", `document.querySelector(".floodgate-status-widget").textContent.includes("일부 서비스 장애")`)
	if widget := chrome.Eval[string](b, `document.querySelector(".floodgate-status-widget").textContent`); !strings.Contains(widget, "Minor Service Outage") {
		t.Fatalf("the widget says %q", widget)
	}
	shots["status-widget"] = chrome.Run(b, "screenshot the widget", chromedp.Screenshot(chromedp.CSS("#shop")))
	for name, png := range shots {
		chrome.Save(t, name, png)
	}
}
