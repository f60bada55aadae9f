package systemtest

import (
	"bufio"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/floodgate/floodgate"
	"github.com/floodgate/floodgate/internal/testkit"
)

// TestEdgeKilledMidWait: a visitor waits on one edge, the edge is killed
// with SIGKILL, and the visitor carries on at another edge with the same
// ticket and the same place, then buys through it.
func TestEdgeKilledMidWait(t *testing.T) {
	node := testkit.StartNode(t, testkit.Options{})
	// Admission starts slowly: one per second, so the visitor waits.
	node.MustCreateDrop(t, testkit.DropRequest{ID: "wait", Name: "Edge drop", Stock: 50, AdmitPerSecond: 1})
	edge1 := testkit.StartEdge(t, []string{node.URL})
	edge2 := testkit.StartEdge(t, []string{node.URL})

	// Others ahead in the queue, through the first edge.
	for range 5 {
		edge1.MustJoin(t, "wait")
	}
	tk := edge1.MustJoin(t, "wait")
	if tk.Position != 6 {
		t.Fatalf("position %d, want 6", tk.Position)
	}

	// The visitor follows its place over SSE on edge1.
	ctx := testkit.Context(t, 30*time.Second)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, edge1.URL+"/api/v1/drops/wait/queue", nil)
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Authorization", "Bearer "+tk.Ticket)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		t.Fatalf("Content-Type %q, want text/event-stream", ct)
	}
	sc := bufio.NewScanner(resp.Body)
	var first testkit.QueueStatus
	for sc.Scan() {
		if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			if err := json.Unmarshal([]byte(data), &first); err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	if first.State != floodgate.QueueWaiting || first.Position != 6 {
		t.Fatalf("first event %+v, want waiting at 6", first)
	}

	edge1.Kill()
	// The stream ends with the edge.
	for sc.Scan() {
	}

	st, err := edge2.QueueStatus(ctx, "wait", tk.Ticket)
	if err != nil {
		t.Fatal(err)
	}
	if st.Position != 6 {
		t.Fatalf("edge2 says position %d, want the same 6", st.Position)
	}
	// The edge's answer agrees with the node's.
	direct, err := node.QueueStatus(ctx, "wait", tk.Ticket)
	if err != nil {
		t.Fatal(err)
	}
	if direct.Position != st.Position {
		t.Fatalf("node says %d, edge says %d", direct.Position, st.Position)
	}

	// Admission reaches the visitor at edge2 (the edge follows the counter
	// from the node's stream), and the purchase goes through edge2.
	if _, err := edge2.WaitAdmitted(ctx, "wait", tk.Ticket, 100*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	h := edge2.MustHold(t, "wait", tk.Ticket, 1)
	o := edge2.MustOrder(t, h.ID, tk.Ticket, edge2.MustSession(t, "edge@example.com"), "edge-order-1")
	// The edge's counters follow the cluster's within a tick or so.
	var d floodgate.Drop
	testkit.WaitFor(t, "the edge's counters to show the sale", func() bool {
		d = edge2.MustDrop(t, "wait")
		return d.Sold == 1
	})
	if d.Sold != 1 || d.Available+d.Held+d.Sold != d.Stock {
		t.Fatalf("drop through the edge: %+v", d)
	}
	orders := node.MustOrders(t, "wait")
	if len(orders) != 1 || orders[0].ID != o.ID {
		t.Fatalf("the node has orders %+v, want only %s", orders, o.ID)
	}

	// JWKS through the edge is the cluster's.
	var a, b map[string]any
	if _, err := edge2.Call(ctx, http.MethodGet, "/.well-known/jwks.json", nil, nil, &a); err != nil {
		t.Fatal(err)
	}
	if _, err := node.Call(ctx, http.MethodGet, "/.well-known/jwks.json", nil, nil, &b); err != nil {
		t.Fatal(err)
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if string(ja) != string(jb) {
		t.Fatalf("edge JWKS %s differs from the node's %s", ja, jb)
	}
	// A forged ticket is refused by the edge itself.
	if _, err := edge2.QueueStatus(ctx, "wait", tk.Ticket[:len(tk.Ticket)-4]+"AAAA"); testkit.Code(err) != floodgate.EUnauthenticated {
		t.Fatalf("forged ticket: %v, want unauthenticated", err)
	}
}

// TestEdgeSurvivesNodeLoss: an edge in front of a 3-node cluster keeps
// answering queue status and passing orders when the node it streams from
// is killed.
func TestEdgeSurvivesNodeLoss(t *testing.T) {
	c := testkit.StartCluster(t, 3, testkit.ClusterOptions{})
	leader := c.WaitLeader(t, nil, 10*time.Second)
	createDrop(t, c.Nodes[leader], "edgy", 20)
	// The edge lists the leader first, so it streams from it and loses it.
	order := []string{c.Nodes[leader].URL}
	for i, n := range c.Nodes {
		if i != leader {
			order = append(order, n.URL)
		}
	}
	e := testkit.StartEdge(t, order)
	r := newRush("edgy", []string{e.URL})
	ctx := testkit.Context(t, 60*time.Second)
	r.joinAll(ctx, t, 10)
	e.MustWaitAdmitted(t, "edgy", r.tickets[0].Ticket)
	c.Nodes[leader].Kill()
	r.run(ctx, 10, 4)
	if r.acked.Load() != 10 {
		r.explain(t, c.Nodes)
		t.Fatalf("%d of 10 buyers got their order through the edge after the node it used died", r.acked.Load())
	}
	sold := r.waitConverged(t, c.Running(), 20)
	r.check(t, 20, sold)
}
