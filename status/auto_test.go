package status

import (
	"encoding/json"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/floodgate/floodgate/internal/testkit"
)

func openIncidents(s *Service) []Incident {
	var out []Incident
	for _, inc := range s.Incidents() {
		if !isResolved(inc.Status) {
			out = append(out, inc)
		}
	}
	return out
}

func TestAutomaticIncidentLifecycle(t *testing.T) {
	clock := newFakeClock()
	s, _ := MustOpen(t, func(c *Config) {
		c.Now = clock.Now
		c.AutoOpenAfter = 30 * time.Second
		c.AutoResolveAfter = 2 * time.Minute
	})
	noLeader := Signal{Key: "raft_leader", Component: "checkout,orders", Impact: ImpactCritical, Title: "No leader", Message: "The core has no Raft leader."}
	healthy := Signal{Key: "raft_leader", OK: true}

	// A short blip opens nothing.
	s.Observe(noLeader)
	clock.Add(10 * time.Second)
	s.Observe(healthy)
	clock.Add(time.Minute)
	s.evaluateSignals()
	if n := len(s.Incidents()); n != 0 {
		t.Fatalf("a 10 s blip opened %d incidents", n)
	}

	// Bad for longer than AutoOpenAfter opens one incident.
	s.Observe(noLeader)
	clock.Add(31 * time.Second)
	s.Observe(noLeader)
	open := openIncidents(s)
	if len(open) != 1 || open[0].SignalKey != "raft_leader" || open[0].Impact != ImpactCritical || open[0].Status != StatusInvestigating {
		t.Fatalf("after 31 s bad: %+v", open)
	}
	id := open[0].ID
	if sum := s.Summary(); sum.Status.Indicator != ImpactCritical || componentStatus(sum, "checkout") != ComponentMajorOutage || componentStatus(sum, "login") != ComponentOperational {
		t.Fatalf("summary while down: %+v", sum.Status)
	}

	// Recovering moves it to monitoring; flapping reuses the same incident.
	s.Observe(healthy)
	if inc, _ := s.Incident(id); inc.Status != StatusMonitoring {
		t.Fatalf("after recovery: %s", inc.Status)
	}
	clock.Add(30 * time.Second)
	s.Observe(noLeader)
	if inc, _ := s.Incident(id); inc.Status != StatusInvestigating || len(openIncidents(s)) != 1 {
		t.Fatalf("relapse: %s, %d open", inc.Status, len(openIncidents(s)))
	}
	for i := 0; i < 5; i++ { // rapid flapping: still one incident
		s.Observe(healthy)
		clock.Add(5 * time.Second)
		s.Observe(noLeader)
		clock.Add(5 * time.Second)
	}
	if n := len(s.Incidents()); n != 1 {
		t.Fatalf("flapping made %d incidents", n)
	}

	// A person can edit it; the edit survives the automatic updates.
	if _, err := s.EditIncident(id, UpdateInput{Name: "Checkout paused: no leader", Cause: "A network partition between zones."}); err != nil {
		t.Fatal(err)
	}
	// Healthy for AutoResolveAfter resolves it.
	s.Observe(healthy)
	clock.Add(2*time.Minute + time.Second)
	s.evaluateSignals()
	inc, _ := s.Incident(id)
	if inc.Status != StatusResolved || inc.Name != "Checkout paused: no leader" || inc.Cause == "" || inc.EditedBy != "admin" {
		t.Fatalf("after a healthy stretch: %+v", inc)
	}
	if sum := s.Summary(); sum.Status.Indicator != ImpactNone || len(sum.Incidents) != 0 {
		t.Fatalf("summary after resolve: %+v", sum.Status)
	}

	// A person resolves an automatic incident while the signal is still
	// bad: a new one opens only after a fresh AutoOpenAfter.
	s.Observe(noLeader)
	clock.Add(31 * time.Second)
	s.evaluateSignals()
	open = openIncidents(s)
	if len(open) != 1 || open[0].ID == id {
		t.Fatalf("second outage: %+v", open)
	}
	if _, err := s.AddUpdate(open[0].ID, UpdateInput{Status: StatusResolved, Message: "False alarm; the check was wrong."}); err != nil {
		t.Fatal(err)
	}
	s.evaluateSignals()
	clock.Add(10 * time.Second)
	s.evaluateSignals()
	if n := len(openIncidents(s)); n != 0 {
		t.Fatalf("reopened at once after a person resolved it: %d open", n)
	}
}

func componentStatus(sum Summary, id string) string {
	for _, c := range sum.Components {
		if c.ID == id {
			return c.Status
		}
	}
	return ""
}

func TestSoldOutNoticeIsInformational(t *testing.T) {
	clock := newFakeClock()
	hook := newReceiver(t, 0)
	s, _ := MustOpen(t, func(c *Config) { c.Now = clock.Now; c.AutoOpenAfter = time.Minute })
	s.SetComponents([]string{"mini-speaker"})
	if _, err := s.Subscribe(SubscriberInput{Channel: ChannelWebhook, Target: hook.URL, Secret: "0123456789abcdef"}); err != nil {
		t.Fatal(err)
	}
	s.Observe(Signal{Key: "sold_out:mini-speaker", Component: "mini-speaker", Impact: ImpactNone, Title: "Mini AI speaker is sold out",
		Message: "All 3,000 units are sold. 준비된 3,000대가 모두 판매되었습니다."})
	open := openIncidents(s)
	if len(open) != 1 || open[0].Impact != ImpactNone || !slices.Contains(open[0].Components, "mini-speaker") {
		t.Fatalf("sold-out notice: %+v", open)
	}
	sum := s.Summary()
	if sum.Status.Indicator != ImpactNone || componentStatus(sum, "mini-speaker") != ComponentOperational || len(sum.Incidents) != 1 {
		t.Fatalf("a sold-out notice must not look like an outage: %+v", sum.Status)
	}
	if b := s.Banner(); !b.Active || b.Level != "info" || !strings.Contains(b.Title, "sold out") {
		t.Fatalf("banner %+v", b)
	}
	testkit.WaitFor(t, "the notice webhook", func() bool { return len(hook.accepted()) == 1 })
	var p webhookPayload
	_ = json.Unmarshal(hook.accepted()[0].Body, &p)
	if p.Incident == nil || p.Incident.Impact != ImpactNone {
		t.Fatalf("payload %s", hook.accepted()[0].Body)
	}
}

func TestOutageNoticeAfterTwoHours(t *testing.T) {
	clock := newFakeClock()
	hook := newReceiver(t, 0)
	gateway := newReceiver(t, 0)
	mb := testkit.StartSMTP(t)
	s, _ := MustOpen(t, func(c *Config) {
		c.Now = clock.Now
		c.SMTP = SMTPConfig{Addr: mb.Addr, From: "status@floodgate.example"}
		c.SMS = SMSConfig{URL: gateway.URL + "/sms", From: "+15550001"}
	})
	const secret = "maker-secret-0123456789"
	if _, err := s.Subscribe(SubscriberInput{Channel: ChannelWebhook, Target: hook.URL + "/maker", Secret: secret}); err != nil {
		t.Fatal(err)
	}
	start := clock.Now()
	s.SetAffectedSource(&buyerBook{
		buyers: []Buyer{{Customer: "kim", Email: "kim@example.com", Phone: "+821011112222"}, {Customer: "lee", Email: "lee@example.com"}},
		at:     []time.Time{start.Add(time.Minute), start.Add(30 * time.Minute)},
	})
	inc, err := s.CreateIncident(IncidentInput{Name: "Checkout is down", Impact: ImpactCritical, Message: "No order can be placed.",
		Components: []string{"checkout"}, Cause: "The data centre lost power.", Response: "We are moving the core to the second site."})
	if err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, "the incident webhook", func() bool { return len(hook.accepted()) == 1 })

	clock.Add(119 * time.Minute)
	s.checkOutageNotices()
	if got, _ := s.Incident(inc.ID); !got.OutageNoticeAt.IsZero() {
		t.Fatal("notice sent before two hours")
	}
	clock.Add(time.Minute)
	s.checkOutageNotices()
	testkit.WaitFor(t, "the notices to every buyer and maker", func() bool {
		return len(hook.accepted()) == 2 && len(gateway.accepted()) == 1 && len(mb.Messages()) == 2
	})
	// Buyers: SMS to the one with a phone, email to both, each with the fact, cause and response.
	sms := gateway.accepted()[0].Form
	if sms["To"][0] != "+821011112222" {
		t.Fatalf("sms to %v", sms["To"])
	}
	for _, want := range []string{"No order can be placed.", "The data centre lost power.", "moving the core"} {
		if !strings.Contains(sms["Body"][0], want) {
			t.Fatalf("sms lacks %q: %s", want, sms["Body"][0])
		}
	}
	to := map[string]bool{}
	for _, m := range mb.Messages() {
		to[m.To[0]] = true
		subject, body, _ := decodeMail(t, m.Data)
		if !strings.Contains(subject, "장애 안내") || !strings.Contains(body, "The data centre lost power.") || !strings.Contains(body, "second site") {
			t.Fatalf("notice mail %q:\n%s", subject, body)
		}
	}
	if !to["kim@example.com"] || !to["lee@example.com"] {
		t.Fatalf("mail went to %v", to)
	}
	// Makers: the same by signed webhook.
	w := hook.accepted()[1]
	if err := VerifySignature(secret, w.Header.Get(SignatureHeader), w.Body, clock.Now(), time.Minute); err != nil {
		t.Fatal(err)
	}
	var p webhookPayload
	if err := json.Unmarshal(w.Body, &p); err != nil || p.Type != EventOutageNotice || p.Notice == nil ||
		p.Notice.Cause != "The data centre lost power." || p.Notice.AffectedBuyers != 2 {
		t.Fatalf("maker notice %s (%v)", w.Body, err)
	}
	// Once only.
	clock.Add(time.Hour)
	s.checkOutageNotices()
	time.Sleep(100 * time.Millisecond)
	if n := len(hook.accepted()); n != 2 {
		t.Fatalf("notice sent again: %d webhooks", n)
	}
}

// TestOpenMirrorsMirrorFrom: a Service opened with MirrorFrom copies the
// core's incidents on its own, marks them as mirrored, and stops at Close.
func TestOpenMirrorsMirrorFrom(t *testing.T) {
	core, _ := MustOpen(t, nil)
	inc, err := core.CreateIncident(IncidentInput{Name: "Checkout down", Impact: ImpactCritical, Message: "Orders fail.", Components: []string{"checkout"}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(core.Handler())
	t.Cleanup(srv.Close)
	mirror, cfg := MustOpen(t, func(c *Config) { c.MirrorFrom = srv.URL; c.MirrorInterval = 50 * time.Millisecond })
	if cfg.MirrorFrom == "" || !mirror.cfg.Mirror {
		t.Fatal("MirrorFrom does not imply Mirror")
	}
	testkit.WaitFor(t, "the core's incident on the mirror", func() bool {
		got, err := mirror.Incident(inc.ID)
		return err == nil && got.Source == incidentSourceMirror
	})
	if err := mirror.Close(); err != nil {
		t.Fatal(err)
	}
}
