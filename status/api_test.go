package status

import (
	"encoding/csv"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestIncidentAPI(t *testing.T) {
	s, _ := MustOpen(t, nil)
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	u := srv.URL + "/api/v1/incidents"
	body := map[string]any{"name": "Waiting room stalls", "status": "investigating", "impact": "critical",
		"message": "Positions do not move.", "components": []string{"waiting-room"}}

	var e map[string]any
	if code := doJSON(t, "POST", u, "", body, &e); code != http.StatusUnauthorized || errorCode(e) != "unauthenticated" {
		t.Fatalf("no token: %d %v", code, e)
	}
	if code := doJSON(t, "POST", u, "wrong", body, &e); code != http.StatusUnauthorized {
		t.Fatalf("wrong token: %d", code)
	}
	var inc Incident
	if code := doJSON(t, "POST", u, testToken, body, &inc); code != http.StatusCreated || inc.ID == "" {
		t.Fatalf("create: %d %+v", code, inc)
	}

	bad := []struct {
		name string
		body any
	}{
		{"unknown field", `{"name":"x","impact":"minor","message":"m","colour":"red"}`},
		{"bad impact", map[string]any{"name": "x", "impact": "apocalyptic", "message": "m"}},
		{"bad status", map[string]any{"name": "x", "impact": "minor", "status": "panicking", "message": "m"}},
		{"unknown component", map[string]any{"name": "x", "impact": "minor", "message": "m", "components": []string{"moon"}}},
		{"missing name", map[string]any{"impact": "minor", "message": "m"}},
		{"missing impact", map[string]any{"name": "x", "message": "m"}},
		{"not json", `{"name":`},
		{"too long", map[string]any{"name": strings.Repeat("x", 300), "impact": "minor", "message": "m"}},
	}
	for _, c := range bad {
		e = nil
		if code := doJSON(t, "POST", u, testToken, c.body, &e); code != http.StatusBadRequest || errorCode(e) != "invalid_argument" {
			t.Errorf("%s: %d %v", c.name, code, e)
		}
	}
	e = nil
	if code := doJSON(t, "POST", u, testToken, `{"name":"`+strings.Repeat("x", 2<<20)+`"}`, &e); code != http.StatusRequestEntityTooLarge {
		t.Errorf("2 MiB body: %d %v", code, e)
	}

	// Updates move the status; resolving stamps resolved_at.
	var upd Incident
	if code := doJSON(t, "POST", u+"/"+inc.ID+"/updates", testToken, map[string]any{"status": "identified", "message": "A bad deploy.", "cause": "Config push"}, &upd); code != http.StatusCreated {
		t.Fatalf("update: %d", code)
	}
	if upd.Status != StatusIdentified || len(upd.Updates) != 2 || upd.Cause != "Config push" {
		t.Fatalf("after update: %+v", upd)
	}
	if code := doJSON(t, "POST", u+"/"+inc.ID+"/updates", testToken, map[string]any{"status": "resolved"}, &e); code != http.StatusBadRequest {
		t.Fatalf("update without message: %d", code)
	}
	if code := doJSON(t, "POST", u+"/inc_nope/updates", testToken, map[string]any{"message": "x"}, &e); code != http.StatusNotFound || errorCode(e) != "not_found" {
		t.Fatalf("unknown incident: %d %v", code, e)
	}
	// A person edits the impact without a public update.
	if code := doJSON(t, "PATCH", u+"/"+inc.ID, testToken, map[string]any{"impact": "major", "response": "Rolled back."}, &upd); code != http.StatusOK || upd.Impact != ImpactMajor || len(upd.Updates) != 2 {
		t.Fatalf("edit: %d %+v", code, upd)
	}
	if code := doJSON(t, "POST", u+"/"+inc.ID+"/updates", testToken, map[string]any{"status": "resolved", "message": "Fixed."}, &upd); code != http.StatusCreated || upd.ResolvedAt.IsZero() {
		t.Fatalf("resolve: %d %+v", code, upd)
	}
	var list struct{ Incidents []Incident }
	if code := doJSON(t, "GET", u, testToken, nil, &list); code != http.StatusOK || len(list.Incidents) != 1 || list.Incidents[0].Status != StatusResolved {
		t.Fatalf("list: %d %+v", code, list)
	}

	// The store is durable: a reopened service has the same incident.
	dir := s.cfg.DataDir
	s.Close()
	s2, _ := MustOpen(t, func(c *Config) { c.DataDir = dir })
	got, err := s2.Incident(inc.ID)
	if err != nil || got.Status != StatusResolved || len(got.Updates) != 3 {
		t.Fatalf("after reopen: %+v %v", got, err)
	}
}

func TestSubscriberAPI(t *testing.T) {
	s, _ := MustOpen(t, func(c *Config) { c.Dev = false })
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	var e map[string]any
	if code := doJSON(t, "POST", srv.URL+"/api/v1/subscribers", testToken,
		map[string]any{"channel": "webhook", "target": "http://127.0.0.1:8080/hook", "secret": "0123456789abcdef"}, &e); code != http.StatusBadRequest || errorCode(e) != "invalid_argument" {
		t.Fatalf("loopback target outside dev: %d %v", code, e)
	}
	if code := doJSON(t, "POST", srv.URL+"/api/v1/subscribers", testToken,
		map[string]any{"channel": "webhook", "target": "https://hooks.example.com/x"}, &e); code != http.StatusBadRequest {
		t.Fatalf("webhook without secret: %d", code)
	}
	var sub SubscriberView
	if code := doJSON(t, "POST", srv.URL+"/api/v1/subscribers", testToken,
		map[string]any{"channel": "email", "target": "buyer@example.com"}, &sub); code != http.StatusCreated || sub.ID == "" || sub.UnsubscribeToken == "" {
		t.Fatalf("subscribe: %d %+v", code, sub)
	}
	if !strings.HasPrefix(sub.UnsubscribeURL, "https://status.example.com/api/v1/unsubscribe/") {
		t.Fatalf("unsubscribe url %q", sub.UnsubscribeURL)
	}
	// The link shows a form (mail scanners open links); POST unsubscribes.
	resp, err := http.Get(srv.URL + "/api/v1/unsubscribe/" + sub.UnsubscribeToken)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("unsubscribe page: %v %v", resp, err)
	}
	resp.Body.Close()
	if len(s.Subscribers()) != 1 {
		t.Fatal("GET must not unsubscribe")
	}
	var out map[string]bool
	if code := doJSON(t, "POST", srv.URL+"/api/v1/unsubscribe/"+sub.UnsubscribeToken, "", nil, &out); code != http.StatusOK || !out["unsubscribed"] {
		t.Fatalf("unsubscribe: %d %v", code, out)
	}
	if len(s.Subscribers()) != 0 {
		t.Fatal("still subscribed")
	}
	if code := doJSON(t, "POST", srv.URL+"/api/v1/unsubscribe/"+sub.UnsubscribeToken, "", nil, &e); code != http.StatusNotFound {
		t.Fatalf("second unsubscribe: %d", code)
	}
}

// buyerBook is the core's side of AffectedSource in these tests: buyers
// with the time they were queued or holding.
type buyerBook struct {
	buyers []Buyer
	at     []time.Time
}

func (b *buyerBook) Affected(from, to time.Time) ([]Buyer, error) {
	var out []Buyer
	for i, t := range b.at {
		if !t.Before(from) && !t.After(to) {
			out = append(out, b.buyers[i])
		}
	}
	return out, nil
}

func TestAffectedBuyers(t *testing.T) {
	clock := newFakeClock()
	s, _ := MustOpen(t, func(c *Config) { c.Now = clock.Now })
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	inc, err := s.CreateIncident(IncidentInput{Name: "Checkout down", Impact: ImpactCritical, Message: "Orders fail.", Components: []string{"checkout"}})
	if err != nil {
		t.Fatal(err)
	}
	var e map[string]any
	if code := doJSON(t, "GET", srv.URL+"/api/v1/incidents/"+inc.ID+"/affected", testToken, nil, &e); code != http.StatusServiceUnavailable {
		t.Fatalf("without a source: %d %v", code, e)
	}
	start := clock.Now()
	s.SetAffectedSource(&buyerBook{
		buyers: []Buyer{{Customer: "before@example.com", Email: "before@example.com"}, {Customer: "kim@example.com", Email: "kim@example.com", Phone: "+821011112222"}, {Customer: "=cmd", Email: "lee@example.com"}},
		at:     []time.Time{start.Add(-time.Hour), start.Add(time.Minute), start.Add(2 * time.Minute)},
	})
	clock.Add(10 * time.Minute)
	var list AffectedList
	if code := doJSON(t, "GET", srv.URL+"/api/v1/incidents/"+inc.ID+"/affected", testToken, nil, &list); code != http.StatusOK || len(list.Buyers) != 2 {
		t.Fatalf("affected: %d %+v", code, list)
	}
	req, _ := http.NewRequest("GET", srv.URL+"/api/v1/incidents/"+inc.ID+"/affected.csv", nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rows, err := csv.NewReader(resp.Body).ReadAll()
	if err != nil || len(rows) != 3 || rows[0][0] != "customer" || rows[1][2] != "+821011112222" || rows[2][0] != "'=cmd" {
		t.Fatalf("csv %v %v", rows, err)
	}
}
