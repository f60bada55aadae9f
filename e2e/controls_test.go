package e2e

import (
	"encoding/json"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/floodgate/floodgate"
	"github.com/floodgate/floodgate/internal/testkit"
)

// TestLiveControls pauses, changes and closes a selling drop through the
// API on a real node, and reads the audit log.
func TestLiveControls(t *testing.T) {
	n := testkit.StartNode(t, testkit.Options{})
	ctx := testkit.Context(t, 60*time.Second)
	n.MustCreateDrop(t, testkit.DropRequest{ID: "live", Name: "Live", Stock: 5, AdmitPerSecond: 1})
	admin := testkit.Bearer(n.AdminToken)

	call := func(method, path string, body any) (floodgate.Drop, error) {
		t.Helper()
		var d floodgate.Drop
		_, err := n.Call(ctx, method, path, admin, body, &d)
		return d, err
	}
	// Pause twice (a double click): both answer the paused drop.
	for range 2 {
		d, err := call(http.MethodPost, "/api/v1/drops/live/pause", map[string]string{"reason": "결제 점검 / payment check"})
		if err != nil || !d.Paused || d.PauseReason != "결제 점검 / payment check" {
			t.Fatalf("pause: %+v, %v", d, err)
		}
	}
	// A visitor who joins while paused waits, sees the pause, and is not
	// admitted however long it waits.
	var tickets []testkit.Ticket
	for range 3 {
		tickets = append(tickets, n.MustJoin(t, "live"))
	}
	time.Sleep(2500 * time.Millisecond)
	var st struct {
		State       string `json:"state"`
		Position    int64  `json:"position"`
		Paused      bool   `json:"paused"`
		PauseReason string `json:"pause_reason"`
	}
	if _, err := n.Call(ctx, http.MethodGet, "/api/v1/drops/live/queue", testkit.Bearer(tickets[2].Ticket), nil, &st); err != nil {
		t.Fatal(err)
	}
	if st.State != floodgate.QueueWaiting || !st.Paused || st.PauseReason == "" || st.Position != 3 {
		t.Fatalf("status while paused: %+v", st)
	}
	if d := n.MustDrop(t, "live"); d.AdmittedUpTo != 0 {
		t.Fatalf("admitted up to %d while paused", d.AdmittedUpTo)
	}

	// Bad changes are refused with a clear message and change nothing.
	for _, tc := range []struct {
		body string
		code string
		want string
	}{
		{`{"admit_per_second": 0}`, floodgate.EInvalid, "admit_per_second"},
		{`{"admit_per_second": -1}`, floodgate.EInvalid, "admit_per_second"},
		{`{"ends_at": "2001-01-01T00:00:00Z"}`, floodgate.EInvalid, "in the past"},
		{`{}`, floodgate.EInvalid, "Nothing to change"},
		{`{"stock": "many"}`, floodgate.EInvalid, "stock"},
		{`{"colour": "red"}`, floodgate.EInvalid, "colour"},
		{`{"stock": 0}`, floodgate.EInvalid, "stock"},
	} {
		resp, err := n.Do(ctx, http.MethodPatch, "/api/v1/drops/live", admin, []byte(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		e := testkit.ParseError(resp)
		if resp.Status != http.StatusBadRequest || e == nil || e.Code != tc.code || !strings.Contains(e.Message, tc.want) {
			t.Fatalf("PATCH %s: %d %s", tc.body, resp.Status, resp.Body)
		}
	}
	if resp, _ := n.Do(ctx, http.MethodPatch, "/api/v1/drops/live", nil, []byte(`{"stock": 9}`)); resp == nil || resp.Status != http.StatusUnauthorized {
		t.Fatalf("PATCH without the admin token: %+v", resp)
	}

	// Resume at a higher rate, with a restock.
	if _, err := call(http.MethodPatch, "/api/v1/drops/live", map[string]any{"admit_per_second": 50, "stock": 8, "name": "Live, restocked"}); err != nil {
		t.Fatal(err)
	}
	if d, err := call(http.MethodPost, "/api/v1/drops/live/resume", nil); err != nil || d.Paused {
		t.Fatalf("resume: %+v, %v", d, err)
	}
	n.MustWaitAdmitted(t, "live", tickets[2].Ticket)
	d := n.MustDrop(t, "live")
	if d.Stock != 8 || d.Available != 8 || d.Name != "Live, restocked" || d.AdmitPerSecond != 50 {
		t.Fatalf("after the patch: %+v", d)
	}
	// Stock cannot go below what is held.
	n.MustHold(t, "live", tickets[0].Ticket, 1)
	resp, _ := n.Do(ctx, http.MethodPatch, "/api/v1/drops/live", admin, []byte(`{"stock": 0}`))
	if resp.Status != http.StatusBadRequest || !strings.Contains(string(resp.Body), "stock") {
		t.Fatalf("stock below held: %d %s", resp.Status, resp.Body)
	}
	if _, err := call(http.MethodPost, "/api/v1/drops/live/close", nil); err != nil {
		t.Fatal(err)
	}
	resp, _ = n.Do(ctx, http.MethodPatch, "/api/v1/drops/live", admin, []byte(`{"stock": 9}`))
	if resp.Status != http.StatusConflict {
		t.Fatalf("editing a closed drop: %d %s", resp.Status, resp.Body)
	}

	var audit struct {
		Entries []struct {
			At     time.Time `json:"at"`
			Actor  string    `json:"actor"`
			Action string    `json:"action"`
			Target string    `json:"target"`
			From   string    `json:"from"`
			Detail string    `json:"detail"`
		} `json:"entries"`
	}
	if _, err := n.Call(ctx, http.MethodGet, "/api/v1/audit", admin, nil, &audit); err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range audit.Entries {
		if e.Actor != "root" || e.Target != "live" || e.From != "127.0.0.1" || e.At.IsZero() {
			t.Fatalf("audit entry %+v", e)
		}
		actions = append(actions, e.Action)
	}
	// Newest first; the second pause changed nothing and is not listed.
	if got := strings.Join(actions, " "); got != "drop.close drop.resume drop.update drop.pause drop.create" {
		b, _ := json.Marshal(audit)
		t.Fatalf("audit actions %q: %s", got, b)
	}
	if resp, _ := n.Do(ctx, http.MethodGet, "/api/v1/audit", nil, nil); resp.Status != http.StatusUnauthorized {
		t.Fatalf("audit without the admin token: %d", resp.Status)
	}

	// A hold on the closed drop is refused, and counted by reason.
	if _, _, err := n.Hold(ctx, "live", tickets[2].Ticket, 1); err == nil {
		t.Fatal("a hold on a closed drop was taken")
	}
	// Every metric the Grafana dashboard in docs/ queries is on /metrics.
	resp, err := n.Do(ctx, http.MethodGet, "/metrics", admin, nil)
	if err != nil {
		t.Fatal(err)
	}
	dash, err := os.ReadFile("../docs/grafana-floodgate.json")
	if err != nil {
		t.Fatal(err)
	}
	names := regexp.MustCompile(`floodgate_[a-z_]+`).FindAllString(string(dash), -1)
	if len(names) < 10 {
		t.Fatalf("the dashboard queries only %v", names)
	}
	for _, name := range names {
		if !strings.Contains(string(resp.Body), "\n"+name) {
			t.Errorf("the dashboard queries %s, which /metrics does not have", name)
		}
	}
	for _, want := range []string{`floodgate_drop_paused{drop="live"} 0`, `floodgate_drop_stock_units{drop="live"} 8`, `floodgate_drop_refusals_total{code="conflict",drop="live"} 1`} {
		if !strings.Contains(string(resp.Body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
