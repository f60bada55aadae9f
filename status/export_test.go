package status

import (
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/floodgate/floodgate/internal/testkit/chrome"
)

// seedDemo gives a service the state of a bad day: a critical incident with
// its fact, cause and response, a sold-out notice, maintenance and history.
func seedDemo(t *testing.T, s *Service, clock *fakeClock) {
	t.Helper()
	s.SetComponents([]string{"mini-speaker"})
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	old, err := s.CreateIncident(IncidentInput{Name: "Slow sign-in · 로그인 지연", Impact: ImpactMinor, Message: "Sign-in took up to 20 seconds. 로그인이 최대 20초 걸렸습니다.",
		Components: []string{"login"}, Cause: "The identity provider was slow.", Response: "Holds were paused, not lost."})
	must(old, err)
	clock.Add(25 * time.Minute)
	must(s.AddUpdate(old.ID, UpdateInput{Status: StatusResolved, Message: "Sign-in is fast again. 로그인이 정상화되었습니다."}))
	clock.Add(2 * time.Hour)
	inc, err := s.CreateIncident(IncidentInput{Name: "Checkout is failing · 결제 장애", Impact: ImpactCritical, Message: "Orders cannot be placed; your place in the queue and your hold are kept. 주문을 할 수 없으며, 대기 순번과 보류된 상품은 유지됩니다.",
		Components: []string{"checkout", "orders"}, Cause: "A power failure at one data centre. 데이터센터 한 곳의 전원 장애.",
		Response: "The core is moving to the second site; holds are extended. 두 번째 사이트로 전환 중이며, 보류 시간을 연장합니다."})
	must(inc, err)
	clock.Add(12 * time.Minute)
	must(s.AddUpdate(inc.ID, UpdateInput{Status: StatusIdentified, Message: "We know the cause and are switching sites. 원인을 파악했고 사이트를 전환하고 있습니다."}))
	clock.Add(3 * time.Minute)
	s.Observe(Signal{Key: "sold_out:mini-speaker", Component: "mini-speaker", Impact: ImpactNone, Title: "Mini AI speaker sold out · 미니 AI 스피커 품절",
		Message: "All 3,000 units are sold. 준비된 3,000대가 모두 판매되었습니다."})
	now := s.now()
	must(s.ScheduleMaintenance(MaintenanceInput{Name: "Database upgrade · 데이터베이스 업그레이드", Message: "Orders pause for about 10 minutes. 주문이 약 10분간 중단됩니다.",
		Components: []string{"orders"}, ScheduledFor: now.Add(48 * time.Hour), ScheduledUntil: now.Add(49 * time.Hour)}))
}

func TestStaticExportInChromium(t *testing.T) {
	// A fixed clock makes the screenshot the same on every run.
	clock := newFakeClock()
	s, _ := MustOpen(t, func(c *Config) { c.Now = clock.Now })
	exportNow = clock.Now
	defer func() { exportNow = time.Now }()
	seedDemo(t, s, clock)
	srv := httptest.NewServer(s.Handler())
	dir := t.TempDir()
	if err := Export(t.Context(), nil, srv.URL, dir); err != nil {
		t.Fatal(err)
	}
	// The export stands alone: the server is gone before the page is read.
	srv.Close()
	for _, name := range []string{"index.html", "history.atom", "api/v2/summary.json", "api/v2/status.json", "api/v2/incidents.json"} {
		info, err := os.Stat(filepath.Join(dir, name))
		if err != nil || info.Size() == 0 {
			t.Fatalf("export lacks %s: %v", name, err)
		}
	}
	var sum Summary
	raw, _ := os.ReadFile(filepath.Join(dir, "api/v2/summary.json"))
	if err := json.Unmarshal(raw, &sum); err != nil || sum.Status.Indicator != ImpactCritical || len(sum.Incidents) != 2 {
		t.Fatalf("exported summary: %v %+v", err, sum.Status)
	}
	html, _ := os.ReadFile(filepath.Join(dir, "index.html"))
	if strings.Contains(strings.ToLower(string(html)), "<script") {
		t.Fatal("the exported page must work without JavaScript")
	}

	b := chrome.New(t, chrome.Options{Width: 420, Height: 900, Scale: 2, Mobile: true})
	b.Do("open the export", chromedp.Navigate("file://"+filepath.Join(dir, "index.html")), chromedp.WaitVisible(chromedp.CSS(".hero")))
	text := chrome.Eval[string](b, `document.body.innerText`)
	for _, want := range []string{"주요 서비스 장애", "Major Service Outage", "Checkout is failing", "A power failure at one data centre",
		"미니 AI 스피커 품절", "Database upgrade", "Slow sign-in", "결제", "Major outage", "점검 일정"} {
		if !strings.Contains(text, want) {
			t.Errorf("the page in chromium lacks %q", want)
		}
	}
	b.Shot("status-export")
}
