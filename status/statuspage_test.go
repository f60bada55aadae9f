package status

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/floodgate/floodgate/internal/testkit"
)

// The Statuspage v2 field names and value sets that aggregators read. A
// document passes when every object has at least these keys, and every
// enumerated value is one of the listed ones.
var (
	spPageKeys      = []string{"id", "name", "url", "time_zone", "updated_at"}
	spComponentKeys = []string{"id", "name", "status", "created_at", "updated_at", "position", "description", "showcase",
		"start_date", "group_id", "page_id", "group", "only_show_if_degraded"}
	spIncidentKeys = []string{"id", "name", "status", "created_at", "updated_at", "monitoring_at", "resolved_at", "impact",
		"shortlink", "started_at", "page_id", "incident_updates", "components"}
	spUpdateKeys = []string{"id", "status", "body", "incident_id", "created_at", "updated_at", "display_at",
		"affected_components", "deliver_notifications", "custom_tweet", "tweet_id"}
	spMaintenanceKeys = append(append([]string{}, spIncidentKeys...), "scheduled_for", "scheduled_until")

	spIndicators        = []string{"none", "minor", "major", "critical"}
	spComponentStatuses = []string{"operational", "degraded_performance", "partial_outage", "major_outage", "under_maintenance"}
	spIncidentStatuses  = []string{"investigating", "identified", "monitoring", "resolved", "postmortem"}
	spImpacts           = []string{"none", "minor", "major", "critical"}
	spMaintStatuses     = []string{"scheduled", "in_progress", "verifying", "verified", "completed"}
)

type schemaChecker struct {
	t    *testing.T
	errs []string
}

func (c *schemaChecker) fail(path, format string, args ...any) {
	c.errs = append(c.errs, path+": "+sprintf(format, args...))
}

func sprintf(format string, args ...any) string {
	b, _ := json.Marshal(args)
	return format + " " + string(b)
}

func (c *schemaChecker) object(path string, v any, keys []string) map[string]any {
	m, ok := v.(map[string]any)
	if !ok {
		c.fail(path, "is not an object")
		return nil
	}
	for _, k := range keys {
		if _, ok := m[k]; !ok {
			c.fail(path, "lacks %q", k)
		}
	}
	for _, k := range []string{"created_at", "updated_at", "started_at", "display_at", "scheduled_for", "scheduled_until", "monitoring_at", "resolved_at"} {
		if s, ok := m[k].(string); ok {
			if _, err := time.Parse(time.RFC3339, s); err != nil {
				c.fail(path+"."+k, "is not RFC 3339: %s", s)
			}
		}
	}
	return m
}

func (c *schemaChecker) enum(path string, v any, set []string) {
	s, ok := v.(string)
	if !ok || !slices.Contains(set, s) {
		c.fail(path, "value %v not in %v", v, set)
	}
}

func (c *schemaChecker) array(path string, v any) []any {
	a, ok := v.([]any)
	if !ok {
		c.fail(path, "is not an array")
	}
	return a
}

func (c *schemaChecker) components(path string, v any) {
	for i, comp := range c.array(path, v) {
		p := path + "[" + itoa(i) + "]"
		if m := c.object(p, comp, spComponentKeys); m != nil {
			c.enum(p+".status", m["status"], spComponentStatuses)
		}
	}
}

func (c *schemaChecker) incidents(path string, v any, maintenance bool) {
	keys, statuses := spIncidentKeys, spIncidentStatuses
	if maintenance {
		keys, statuses = spMaintenanceKeys, spMaintStatuses
	}
	for i, inc := range c.array(path, v) {
		p := path + "[" + itoa(i) + "]"
		m := c.object(p, inc, keys)
		if m == nil {
			continue
		}
		c.enum(p+".status", m["status"], statuses)
		c.enum(p+".impact", m["impact"], spImpacts)
		c.components(p+".components", m["components"])
		for j, u := range c.array(p+".incident_updates", m["incident_updates"]) {
			up := p + ".incident_updates[" + itoa(j) + "]"
			if um := c.object(up, u, spUpdateKeys); um != nil {
				c.enum(up+".status", um["status"], statuses)
			}
		}
	}
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

func (c *schemaChecker) done() {
	c.t.Helper()
	if len(c.errs) > 0 {
		sort.Strings(c.errs)
		c.t.Fatalf("not Statuspage-compatible:\n%s", strings.Join(c.errs, "\n"))
	}
}

func getDoc(t *testing.T, url string) map[string]any {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("GET %s: %s %s", url, resp.Status, resp.Header.Get("Content-Type"))
	}
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestSummaryIsStatuspageCompatible(t *testing.T) {
	s, _ := MustOpen(t, nil)
	s.SetComponents([]string{"mini-speaker"})
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()

	// An empty page is valid too.
	c := &schemaChecker{t: t}
	sum := getDoc(t, srv.URL+"/api/v2/summary.json")
	c.object("summary", sum, []string{"page", "components", "incidents", "scheduled_maintenances", "status"})
	c.done()

	for _, in := range []IncidentInput{
		{Name: "Login errors", Impact: ImpactMinor, Message: "Some sign-ins fail.", Components: []string{"login"}},
		{Name: "Checkout down", Impact: ImpactCritical, Status: StatusIdentified, Message: "Orders fail.", Components: []string{"checkout", "orders"}},
		{Name: "Old one", Impact: ImpactMajor, Status: StatusResolved, Message: "Was slow.", Components: []string{"waiting-room"}},
	} {
		if _, err := s.CreateIncident(in); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	if _, err := s.ScheduleMaintenance(MaintenanceInput{Name: "Database upgrade", Message: "Checkout pauses for 10 minutes.",
		Components: []string{"checkout"}, ScheduledFor: now.Add(-time.Minute), ScheduledUntil: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ScheduleMaintenance(MaintenanceInput{Name: "Network work", Message: "No impact expected.",
		ScheduledFor: now.Add(24 * time.Hour), ScheduledUntil: now.Add(25 * time.Hour)}); err != nil {
		t.Fatal(err)
	}

	c = &schemaChecker{t: t}
	sum = getDoc(t, srv.URL+"/api/v2/summary.json")
	c.object("summary", sum, []string{"page", "components", "incidents", "scheduled_maintenances", "status"})
	c.object("summary.page", sum["page"], spPageKeys)
	st := c.object("summary.status", sum["status"], []string{"indicator", "description"})
	c.enum("summary.status.indicator", st["indicator"], spIndicators)
	c.components("summary.components", sum["components"])
	c.incidents("summary.incidents", sum["incidents"], false)
	c.incidents("summary.scheduled_maintenances", sum["scheduled_maintenances"], true)

	status := getDoc(t, srv.URL+"/api/v2/status.json")
	c.object("status", status, []string{"page", "status"})
	c.object("status.page", status["page"], spPageKeys)
	c.enum("status.status.indicator", status["status"].(map[string]any)["indicator"], spIndicators)

	incs := getDoc(t, srv.URL+"/api/v2/incidents.json")
	c.object("incidents", incs, []string{"page", "incidents"})
	c.incidents("incidents.incidents", incs["incidents"], false)
	c.done()

	// The values follow the state: worst impact wins, resolved incidents
	// leave the summary but stay in the history, maintenance shows.
	if st["indicator"] != "critical" || st["description"] != "Major Service Outage" {
		t.Fatalf("status %v", st)
	}
	if n := len(sum["incidents"].([]any)); n != 2 {
		t.Fatalf("summary has %d unresolved incidents, want 2", n)
	}
	if n := len(incs["incidents"].([]any)); n != 3 {
		t.Fatalf("incidents.json has %d incidents, want 3", n)
	}
	want := map[string]string{"login": "degraded_performance", "checkout": "major_outage", "orders": "major_outage",
		"waiting-room": "operational", "mini-speaker": "operational"}
	for _, comp := range sum["components"].([]any) {
		m := comp.(map[string]any)
		if w, ok := want[m["id"].(string)]; ok && m["status"] != w {
			t.Errorf("component %s is %v, want %s", m["id"], m["status"], w)
		}
		delete(want, m["id"].(string))
	}
	if len(want) != 0 {
		t.Errorf("components missing: %v", want)
	}
	ms := sum["scheduled_maintenances"].([]any)
	if len(ms) != 2 || ms[0].(map[string]any)["status"] != "in_progress" || ms[1].(map[string]any)["status"] != "scheduled" {
		t.Fatalf("maintenances %v", ms)
	}
	// Page and feed render the same state.
	_, page := testkit.MustGet(t, srv.URL+"/status")
	for _, want := range []string{"주요 서비스 장애", "Major Service Outage", "Checkout down", "Database upgrade", "로그인", "Old one"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	_, feed := testkit.MustGet(t, srv.URL+"/history.atom")
	if !strings.Contains(feed, "<feed xmlns=\"http://www.w3.org/2005/Atom\"") || strings.Count(feed, "<entry>") != 3 {
		t.Fatalf("atom feed:\n%s", feed)
	}
}
