package systemtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/floodgate/floodgate"
	"github.com/floodgate/floodgate/internal/testkit"
)

// statusDoc is what the test reads of /api/v2/incidents.json.
type statusDoc struct {
	Incidents []struct {
		ID              string `json:"id"`
		Name            string `json:"name"`
		Status          string `json:"status"`
		IncidentUpdates []struct {
			Body string `json:"body"`
		} `json:"incident_updates"`
	} `json:"incidents"`
}

// incidentOn returns the status and the number of updates of incident id as
// base serves it ("" when it does not have it).
func incidentOn(base *testkit.Client, id string) (status string, updates int, names []string) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var doc statusDoc
	if _, err := base.Call(ctx, http.MethodGet, "/api/v2/incidents.json", nil, nil, &doc); err != nil {
		return "", 0, nil
	}
	for _, inc := range doc.Incidents {
		names = append(names, inc.Name)
		if inc.ID == id {
			status, updates = inc.Status, len(inc.IncidentUpdates)
		}
	}
	return status, updates, names
}

// within waits up to d for cond on every reader, and fails with what each
// one answered last.
func within(t *testing.T, d time.Duration, what string, readers map[string]*testkit.Client, cond func(c *testkit.Client) bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		var behind []string
		for name, c := range readers {
			if !cond(c) {
				behind = append(behind, name)
			}
		}
		if len(behind) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not on %v within %v", what, behind, d)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestStatusReplicatedAcrossNodes: an incident posted to a follower is on
// every node and on an edge within 2 s; an update posted to another node
// too; the leader is killed with SIGKILL and nothing is lost; the old
// leader comes back and catches up.
func TestStatusReplicatedAcrossNodes(t *testing.T) {
	c := testkit.StartCluster(t, 3, testkit.ClusterOptions{})
	leader := c.WaitLeader(t, nil, 10*time.Second)
	f1, f2 := (leader+1)%3, (leader+2)%3
	edge := testkit.StartEdge(t, urls(c.Nodes))
	readers := map[string]*testkit.Client{"edge": edge.Client}
	for i, n := range c.Nodes {
		readers[c.IDs[i]] = n.Client
	}
	admin := testkit.Bearer(testkit.DefaultAdminToken)
	ctx := testkit.Context(t, 90*time.Second)

	// A maker's webhook, subscribed through a follower: every event must
	// reach it once, from whichever node leads.
	hook := startEventCounter(t)
	if _, err := c.Nodes[f2].Call(ctx, http.MethodPost, "/api/v1/subscribers", admin, map[string]any{
		"channel": "webhook", "target": hook.URL, "secret": "a-shared-secret-of-the-maker",
	}, nil); err != nil {
		t.Fatalf("subscribe a webhook on %s: %v", c.IDs[f2], err)
	}

	var inc struct{ ID string }
	if _, err := c.Nodes[f1].Call(ctx, http.MethodPost, "/api/v1/incidents", admin, map[string]any{
		"name": "Checkout is failing", "status": "investigating", "impact": "major",
		"message": "Orders cannot be placed.", "components": []string{"checkout"},
	}, &inc); err != nil {
		t.Fatalf("post an incident to follower %s: %v", c.IDs[f1], err)
	}
	within(t, 2*time.Second, "the incident posted to a follower", readers, func(r *testkit.Client) bool {
		st, n, _ := incidentOn(r, inc.ID)
		return st == "investigating" && n == 1
	})

	if _, err := c.Nodes[f2].Call(ctx, http.MethodPost, "/api/v1/incidents/"+inc.ID+"/updates", admin, map[string]any{
		"status": "identified", "message": "A database node is down; we are moving to the standby.",
	}, nil); err != nil {
		t.Fatalf("post an update to %s: %v", c.IDs[f2], err)
	}
	var mnt struct{ ID string }
	if _, err := c.Nodes[f2].Call(ctx, http.MethodPost, "/api/v1/maintenances", admin, map[string]any{
		"name": "Database upgrade", "message": "Orders pause for ten minutes.", "components": []string{"orders"},
		"scheduled_for": time.Now().Add(48 * time.Hour), "scheduled_until": time.Now().Add(49 * time.Hour),
	}, &mnt); err != nil {
		t.Fatalf("schedule maintenance on %s: %v", c.IDs[f2], err)
	}
	if _, err := c.Nodes[f1].Call(ctx, http.MethodPost, "/api/v1/subscribers", admin, map[string]any{
		"channel": "sms", "target": "+821012345678",
	}, nil); err != nil {
		t.Fatalf("add a subscriber on %s: %v", c.IDs[f1], err)
	}
	within(t, 2*time.Second, "the update posted to another node", readers, func(r *testkit.Client) bool {
		st, n, _ := incidentOn(r, inc.ID)
		return st == "identified" && n == 2
	})
	hasMaintenance := func(r *testkit.Client) bool {
		resp, err := r.Do(ctx, http.MethodGet, "/api/v2/summary.json", nil, nil)
		return err == nil && resp.Status == 200 && bytes.Contains(resp.Body, []byte(mnt.ID))
	}
	within(t, 2*time.Second, "the maintenance", readers, hasMaintenance)
	subscribers := func(r *testkit.Client) bool {
		var list struct{ Subscribers []struct{ Target string } }
		_, err := r.Call(ctx, http.MethodGet, "/api/v1/subscribers", admin, nil, &list)
		if err != nil || len(list.Subscribers) != 2 {
			return false
		}
		return list.Subscribers[0].Target == "+821012345678" || list.Subscribers[1].Target == "+821012345678"
	}
	nodesOnly := map[string]*testkit.Client{}
	for i, n := range c.Nodes {
		nodesOnly[c.IDs[i]] = n.Client
	}
	within(t, 2*time.Second, "the subscriber", nodesOnly, subscribers)
	// Three events so far (incident, update, maintenance), each delivered,
	// and every node knows the outbox is empty.
	testkit.WaitFor(t, "three webhook deliveries", func() bool { return hook.total() == 3 })
	within(t, 5*time.Second, "an empty outbox", nodesOnly, func(r *testkit.Client) bool {
		var d struct{ Queued []json.RawMessage }
		_, err := r.Call(ctx, http.MethodGet, "/api/v1/deliveries", admin, nil, &d)
		return err == nil && len(d.Queued) == 0
	})

	// The leader dies without warning; nothing acknowledged is lost.
	c.Nodes[leader].Kill()
	survivors := map[string]*testkit.Client{"edge": edge.Client, c.IDs[f1]: c.Nodes[f1].Client, c.IDs[f2]: c.Nodes[f2].Client}
	c.WaitLeader(t, []int{f1, f2}, 15*time.Second)
	within(t, 2*time.Second, "the incident and its update after the leader's loss", survivors, func(r *testkit.Client) bool {
		st, n, _ := incidentOn(r, inc.ID)
		return st == "identified" && n == 2 && hasMaintenance(r)
	})
	// The new leader takes status writes, posted to either survivor.
	if err := testkit.Retry(ctx, func() error {
		_, err := c.Nodes[f1].Call(ctx, http.MethodPost, "/api/v1/incidents/"+inc.ID+"/updates", admin, map[string]any{
			"status": "resolved", "message": "Orders work again.",
		}, nil)
		return err
	}); err != nil {
		t.Fatalf("resolve after the failover: %v", err)
	}
	within(t, 2*time.Second, "the resolution", survivors, func(r *testkit.Client) bool {
		st, n, _ := incidentOn(r, inc.ID)
		return st == "resolved" && n == 3
	})

	// The old leader comes back and catches up from the others.
	c.Nodes[leader].Restart(t)
	back := map[string]*testkit.Client{c.IDs[leader]: c.Nodes[leader].Client}
	within(t, 10*time.Second, "the restarted node catching up", back, func(r *testkit.Client) bool {
		st, n, _ := incidentOn(r, inc.ID)
		return st == "resolved" && n == 3 && hasMaintenance(r) && subscribers(r)
	})
	// Every node serves the same documents.
	within(t, 5*time.Second, "the same summary.json everywhere", readers, func(r *testkit.Client) bool {
		want, err1 := c.Nodes[f1].Do(ctx, http.MethodGet, "/api/v2/summary.json", nil, nil)
		got, err2 := r.Do(ctx, http.MethodGet, "/api/v2/summary.json", nil, nil)
		return err1 == nil && err2 == nil && bytes.Equal(normalized(want.Body), normalized(got.Body))
	})
	resp, err := c.Nodes[leader].Do(ctx, http.MethodGet, "/status", nil, nil)
	if err != nil || !strings.Contains(string(resp.Body), "Checkout is failing") {
		t.Fatalf("the restarted node's page lacks the incident: %v", err)
	}
	// The new leader sent the resolution, and nobody sent anything twice.
	testkit.WaitFor(t, "the fourth webhook delivery", func() bool { return hook.total() == 4 })
	time.Sleep(time.Second)
	if n, ids := hook.total(), hook.ids(); n != 4 || len(ids) != 4 {
		t.Fatalf("the webhook took %d deliveries of %d events, want 4 distinct events once each: %v", n, len(ids), ids)
	}
}

// eventCounter is a maker's webhook endpoint that counts deliveries by
// Floodgate-Event-Id.
type eventCounter struct {
	URL string
	mu  sync.Mutex
	got map[string]int
	n   int
}

func startEventCounter(t *testing.T) *eventCounter {
	ec := &eventCounter{got: map[string]int{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ec.mu.Lock()
		ec.got[r.Header.Get("Floodgate-Event-Id")]++
		ec.n++
		ec.mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	ec.URL = srv.URL + "/floodgate"
	return ec
}

func (ec *eventCounter) total() int {
	ec.mu.Lock()
	defer ec.mu.Unlock()
	return ec.n
}

func (ec *eventCounter) ids() map[string]int {
	ec.mu.Lock()
	defer ec.mu.Unlock()
	out := map[string]int{}
	for k, v := range ec.got {
		out[k] = v
	}
	return out
}

// normalized drops the fields that are computed at read time from the
// reader's clock (none today), so that documents compare by content.
func normalized(b []byte) []byte {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return b
	}
	out, _ := json.Marshal(v)
	return []byte(fmt.Sprint(string(out)))
}

// TestIncidentPausesHolds: while an acknowledged incident of impact major
// touches checkout, holds are paused as during a login outage (their expiry
// moves on with time); once it is resolved they run again.
func TestIncidentPausesHolds(t *testing.T) {
	node := testkit.StartNode(t, testkit.Options{})
	node.MustCreateDrop(t, testkit.DropRequest{ID: "grace", Name: "Grace drop", Stock: 5, HoldSeconds: 30, AdmitPerSecond: 100})
	tk := node.MustJoin(t, "grace")
	node.MustWaitAdmitted(t, "grace", tk.Ticket)
	h := node.MustHold(t, "grace", tk.Ticket, 1)
	ctx := testkit.Context(t, 60*time.Second)
	hold := func() floodgate.Hold {
		t.Helper()
		var got floodgate.Hold
		if _, err := node.Call(ctx, http.MethodGet, "/api/v1/holds/"+h.ID, testkit.Bearer(tk.Ticket), nil, &got); err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got := hold(); got.Paused {
		t.Fatal("the hold is paused before any incident")
	}
	admin := testkit.Bearer(testkit.DefaultAdminToken)
	// A minor incident on checkout does not pause holds.
	var minor struct{ ID string }
	if _, err := node.Call(ctx, http.MethodPost, "/api/v1/incidents", admin, map[string]any{
		"name": "Checkout is slow", "impact": "minor", "message": "Slow.", "components": []string{"checkout"}}, &minor); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if got := hold(); got.Paused {
		t.Fatal("a minor incident paused the hold")
	}
	var inc struct{ ID string }
	if _, err := node.Call(ctx, http.MethodPost, "/api/v1/incidents", admin, map[string]any{
		"name": "Checkout is failing", "impact": "major", "message": "Orders fail.", "components": []string{"checkout"}}, &inc); err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, "the hold to pause", func() bool { return hold().Paused })
	paused := hold()
	time.Sleep(time.Second)
	later := hold()
	if !later.ExpiresAt.After(paused.ExpiresAt.Add(500*time.Millisecond)) || !later.ExpiresAt.After(h.ExpiresAt) {
		t.Fatalf("a paused hold's expiry did not move on: %v then %v (first %v)", paused.ExpiresAt, later.ExpiresAt, h.ExpiresAt)
	}
	if _, err := node.Call(ctx, http.MethodPost, "/api/v1/incidents/"+inc.ID+"/updates", admin, map[string]any{
		"status": "resolved", "message": "Orders work again."}, nil); err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, "the hold to run again", func() bool { return !hold().Paused })
	resumed := hold()
	time.Sleep(time.Second)
	if again := hold(); !again.ExpiresAt.Equal(resumed.ExpiresAt) || again.Status != floodgate.HoldActive {
		t.Fatalf("after the resolution the hold still moves: %v then %v (%s)", resumed.ExpiresAt, again.ExpiresAt, again.Status)
	}
}

// TestStatusServeFollowsTheCluster: a standalone status server follows all
// three nodes, keeps following when the node it read from dies, opens an
// incident when the core loses its majority, and keeps serving its own copy
// when the whole core is down.
func TestStatusServeFollowsTheCluster(t *testing.T) {
	c := testkit.StartCluster(t, 3, testkit.ClusterOptions{})
	leader := c.WaitLeader(t, nil, 10*time.Second)
	admin := testkit.Bearer(testkit.DefaultAdminToken)
	ctx := testkit.Context(t, 90*time.Second)

	addr := testkit.FreeAddr(t)
	cmd := exec.Command(testkit.Binary(t), "status", "serve", "--data-dir", t.TempDir(), "--http-addr", addr,
		"--admin-token", "status-server-token-0123", "--from", strings.Join(urls(c.Nodes), ","), "--poll-interval", "200ms", "--auto-open-after", "600ms", "--dev")
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("status serve log:\n%s", logs.String())
		}
	})
	mirror := map[string]*testkit.Client{"status serve": testkit.NewClient("http://"+addr, "")}

	var inc struct{ ID string }
	if _, err := c.Nodes[leader].Call(ctx, http.MethodPost, "/api/v1/incidents", admin, map[string]any{
		"name": "Queue moves slowly", "impact": "minor", "message": "Admission is slow.", "components": []string{"waiting-room"},
	}, &inc); err != nil {
		t.Fatal(err)
	}
	within(t, 15*time.Second, "the incident on the status server", mirror, func(r *testkit.Client) bool {
		st, _, _ := incidentOn(r, inc.ID)
		return st == "investigating"
	})
	// The first node of --from dies; the status server reads another.
	c.Nodes[0].Kill()
	var alive []int
	for i := 1; i < 3; i++ {
		alive = append(alive, i)
	}
	next := c.WaitLeader(t, alive, 15*time.Second)
	if err := testkit.Retry(ctx, func() error {
		_, err := c.Nodes[next].Call(ctx, http.MethodPost, "/api/v1/incidents/"+inc.ID+"/updates", admin, map[string]any{
			"status": "monitoring", "message": "Admission is back to speed.",
		}, nil)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	within(t, 10*time.Second, "the update read from another node", mirror, func(r *testkit.Client) bool {
		st, n, _ := incidentOn(r, inc.ID)
		return st == "monitoring" && n == 2
	})
	// Two of three nodes down: the last one still answers, but with no
	// leader nothing can be bought; the status server says so.
	c.Nodes[next].Kill()
	within(t, 15*time.Second, "the status server noticing the core cannot take writes", mirror, func(r *testkit.Client) bool {
		_, _, names := incidentOn(r, inc.ID)
		for _, n := range names {
			if strings.Contains(n, "unreachable") {
				return true
			}
		}
		return false
	})
	// The whole core goes down: the status server keeps its copy.
	for _, n := range c.Nodes {
		n.Kill()
	}
	time.Sleep(time.Second)
	within(t, 2*time.Second, "the copy after the core is gone", mirror, func(r *testkit.Client) bool {
		st, n, _ := incidentOn(r, inc.ID)
		return st == "monitoring" && n == 2
	})
}
