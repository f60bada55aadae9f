package systemtest

import (
	"net/http"
	"testing"
	"time"

	"github.com/floodgate/floodgate/internal/testkit"
)

// TestKeyRevokedEverywhere: a tenant's key works on every node of a 3-node
// cluster and through an edge; once DELETE /api/v1/keys/{id} answers 204
// (sent to a follower), the very next call with the key is refused 401 on
// every node and on the edge.
func TestKeyRevokedEverywhere(t *testing.T) {
	c := testkit.StartCluster(t, 3, testkit.ClusterOptions{})
	leader := c.WaitLeader(t, nil, 10*time.Second)
	follower := (leader + 1) % 3
	edge := testkit.StartEdge(t, urls(c.Nodes))

	root := c.Nodes[follower].Client
	root.MustCreateTenant(t, testkit.TenantRequest{ID: "acme", Name: "Acme Audio", MaxDrops: 3})
	key := root.MustCreateKey(t, "acme", "operator")

	type target struct {
		name string
		cl   *testkit.Client
	}
	var targets []target
	for i, n := range c.Nodes {
		role := "follower"
		if i == leader {
			role = "leader"
		}
		targets = append(targets, target{c.IDs[i] + " (" + role + ")", testkit.NewClient(n.URL, "")})
	}
	targets = append(targets, target{"the edge", testkit.NewClient(edge.URL, "")})

	ctx := testkit.Context(t, 60*time.Second)
	status := func(cl *testkit.Client, method, path string, body []byte) int {
		t.Helper()
		resp, err := cl.Do(ctx, method, path, testkit.Bearer(key.Key), body)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		return resp.Status
	}
	// The key creates a drop through a follower, and reads it everywhere.
	if st := status(targets[follower].cl, http.MethodPost, "/api/v1/drops", []byte(`{"id":"acme-1","name":"Acme speaker","stock":5}`)); st != http.StatusCreated {
		t.Fatalf("create a drop with the key through a follower: %d, want 201", st)
	}
	for _, tg := range targets {
		if st := status(tg.cl, http.MethodGet, "/api/v1/drops/acme-1/orders", nil); st != http.StatusOK {
			t.Fatalf("the key on %s before the revocation: %d, want 200", tg.name, st)
		}
	}
	// Its use reaches the key list on every node (written by the leader,
	// apart from the call that used it).
	for i, n := range c.Nodes {
		testkit.WaitFor(t, "last_used_at of the key on "+c.IDs[i], func() bool {
			keys, err := n.Keys(ctx, "acme")
			return err == nil && len(keys) == 1 && keys[0].LastUsedAt != nil
		})
	}

	start := time.Now()
	if err := root.RevokeKey(ctx, key.ID); err != nil {
		t.Fatalf("revoke through a follower: %v", err)
	}
	for _, tg := range targets {
		st := status(tg.cl, http.MethodGet, "/api/v1/drops/acme-1/orders", nil)
		if st != http.StatusUnauthorized {
			t.Errorf("the revoked key on %s, %v after the 204: %d, want 401", tg.name, time.Since(start).Round(time.Millisecond), st)
		}
		if st := status(tg.cl, http.MethodPost, "/api/v1/drops/acme-1/close", nil); st != http.StatusUnauthorized {
			t.Errorf("a write with the revoked key on %s: %d, want 401", tg.name, st)
		}
	}
	t.Logf("every node and the edge refused the key within %v of the 204", time.Since(start).Round(time.Millisecond))
	// The drop was not closed by the refused writes.
	if d := c.Nodes[leader].MustDrop(t, "acme-1"); d.State == "closed" {
		t.Error("a revoked key closed the drop")
	}
}
