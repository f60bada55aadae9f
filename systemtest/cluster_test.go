package systemtest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/floodgate/floodgate/internal/testkit"
)

func urls(nodes []*testkit.Node) []string {
	var out []string
	for _, n := range nodes {
		out = append(out, n.URL)
	}
	return out
}

func createDrop(t *testing.T, n *testkit.Node, id string, stock int64) {
	t.Helper()
	n.MustCreateDrop(t, testkit.DropRequest{ID: id, Name: "Cluster drop", Stock: stock, AdmitPerSecond: 2000, HoldSeconds: 600})
}

// TestLeaderKillDuringRush kills the leader with SIGKILL while buyers hold
// and order through every node, then checks that every acknowledged order
// is on every surviving node (and on the old leader once it is back), that
// nothing is oversold, and that the history is linearizable.
func TestLeaderKillDuringRush(t *testing.T) {
	sizes := []int{3}
	if soak() {
		sizes = []int{3, 5}
	}
	for _, size := range sizes {
		t.Run(map[int]string{3: "3nodes", 5: "5nodes"}[size], func(t *testing.T) {
			c := testkit.StartCluster(t, size, testkit.ClusterOptions{})
			leader := c.WaitLeader(t, nil, 10*time.Second)
			stock, buyers, workers := int64(80), 120, 12
			if soak() {
				stock, buyers, workers = 400, 600, 32
			}
			createDrop(t, c.Nodes[leader], "rush", stock)

			r := newRush("rush", urls(c.Nodes))
			ctx := testkit.Context(t, 90*time.Second)
			r.joinAll(ctx, t, buyers)
			r.watch(ctx, c.Nodes)
			killed := r.afterAcked(ctx, stock/4, func() {
				r.markKill()
				c.Nodes[leader].Kill()
				r.note("killed %s", c.IDs[leader])
			})
			r.run(ctx, buyers, workers)
			<-killed
			r.mustFinish(ctx, t, c.Nodes)
			if fo := r.failover(); fo > 0 {
				t.Logf("failover: %v from leader kill to the next committed order (%d nodes)", fo.Round(time.Millisecond), size)
			} else {
				t.Logf("failover: no order was committed after the kill (all %d acknowledged before)", r.acked.Load())
			}
			survivors := c.Running()
			sold := r.waitConverged(t, survivors, stock)
			t.Logf("%d orders acknowledged, %d sold of %d", r.acked.Load(), sold, stock)
			if int64(sold) != stock {
				t.Errorf("sold %d of %d although there were more buyers than stock", sold, stock)
			}
			r.check(t, int(stock), sold)

			// The old leader comes back as a follower with everything.
			c.Nodes[leader].Restart(t)
			r.waitConverged(t, []*testkit.Node{c.Nodes[leader]}, stock)
		})
	}
}

// TestIsolatedLeaderStepsDown cuts the leader off from its peers in the
// middle of a rush, with buyers still sending to it: no write may be
// acknowledged that the majority does not have; the old leader steps down;
// after the heal every node converges.
func TestIsolatedLeaderStepsDown(t *testing.T) {
	c := testkit.StartCluster(t, 3, testkit.ClusterOptions{Faults: true})
	leader := c.WaitLeader(t, nil, 10*time.Second)
	stock := int64(60)
	createDrop(t, c.Nodes[leader], "split", stock)

	r := newRush("split", urls(c.Nodes))
	ctx := testkit.Context(t, 90*time.Second)
	r.joinAll(ctx, t, 100)
	r.watch(ctx, c.Nodes)
	others := c.Others(leader)
	healed := r.afterAcked(ctx, stock/4, func() {
		c.Isolate(t, leader)
		r.markKill()
		r.note("isolated %s (%s)", c.IDs[leader], c.Nodes[leader].URL)
		// The majority elects a new leader and keeps selling.
		newLeader := c.WaitLeader(t, others, 20*time.Second)
		r.note("new leader %s", c.IDs[newLeader])
		if newLeader == leader {
			t.Errorf("the isolated node is still the leader of the majority")
		}
		// The old leader must notice it lost its followers.
		deadline := time.Now().Add(10 * time.Second)
		for {
			cctx, ccancel := context.WithTimeout(ctx, 2*time.Second)
			info, err := c.Nodes[leader].ClusterInfo(cctx)
			ccancel()
			if err == nil {
				state := ""
				for _, n := range info.Nodes {
					if n.ID == c.IDs[leader] {
						state = n.State
					}
				}
				if state != "leader" {
					r.note("%s stepped down (%s)", c.IDs[leader], state)
					break
				}
			}
			if time.Now().After(deadline) {
				t.Errorf("the isolated leader did not step down within 10s")
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		time.Sleep(2 * time.Second) // let buyers hit the cut-off node for a while
		c.Heal()
		r.note("healed")
	})
	r.run(ctx, 100, 10)
	<-healed
	r.mustFinish(ctx, t, c.Nodes)
	if fo := r.failover(); fo > 0 {
		t.Logf("leader isolated: %v to the next committed order", fo.Round(time.Millisecond))
	}
	c.WaitLeader(t, nil, 20*time.Second)
	sold := r.waitConverged(t, c.Nodes, stock)
	t.Logf("%d orders acknowledged, %d sold of %d", r.acked.Load(), sold, stock)
	r.check(t, int(stock), sold)

	// While isolated, the old leader appended the writes it took alone;
	// back with the majority it cut them from its log (a conflicting
	// suffix). Killed and started again, it opens that log and agrees
	// with the others. (raft-wal before v0.4.1 could not read a log whose
	// tail had been cut, and the node panicked at start.)
	cut := strings.Contains(c.Nodes[leader].Logs(), "clearing log suffix")
	t.Logf("the old leader cut a conflicting suffix: %v", cut)
	c.Nodes[leader].Restart(t)
	if again := r.waitConverged(t, c.Nodes, stock); again != sold {
		t.Fatalf("after the old leader's restart the nodes agree on %d sold, before on %d", again, sold)
	}
}

// TestFollowerCatchesUpFromSnapshot wipes a follower's disk while the
// cluster keeps selling and compacting its log; the follower comes back
// empty and must be sent a snapshot.
func TestFollowerCatchesUpFromSnapshot(t *testing.T) {
	c := testkit.StartCluster(t, 3, testkit.ClusterOptions{Node: testkit.Options{
		Args: []string{"--snapshot-threshold", "64", "--trailing-logs", "16", "--snapshot-interval", "200ms"},
	}})
	leader := c.WaitLeader(t, nil, 10*time.Second)
	follower := (leader + 1) % 3
	stock := int64(40)
	createDrop(t, c.Nodes[leader], "snap", stock)

	c.Nodes[follower].Kill()
	if err := os.RemoveAll(c.Nodes[follower].DataDir); err != nil {
		t.Fatal(err)
	}
	var live []*testkit.Node
	for i, n := range c.Nodes {
		if i != follower {
			live = append(live, n)
		}
	}
	// Enough commands (and leader ticks) for several snapshots.
	r := newRush("snap", urls(live))
	ctx := testkit.Context(t, 60*time.Second)
	r.joinAll(ctx, t, 30)
	r.run(ctx, 30, 6)
	if ctx.Err() != nil || r.acked.Load() != 30 {
		r.explain(t, live)
		t.Fatalf("%d of 30 buyers got an order with %d in stock (context: %v)", r.acked.Load(), stock, ctx.Err())
	}
	// Wait until the leader has taken a snapshot and dropped the log
	// before it (the leader's ticks keep adding entries while the drop is
	// open), so the empty follower cannot be served from the log.
	for _, n := range live {
		waitSnapshot(t, n.DataDir, 100)
	}

	c.Nodes[follower].Restart(t)
	sold := r.waitConverged(t, c.Nodes, stock)
	if sold != int(r.acked.Load()) {
		t.Fatalf("sold %d, acknowledged %d", sold, r.acked.Load())
	}
	// Every live node had dropped the start of its log (snapshot past index
	// 100, 16 trailing entries), so the empty follower can only have been
	// caught up with a snapshot.
	if strings.Contains(c.Nodes[follower].Logs(), "Installed remote snapshot") {
		t.Logf("the follower logged the installation of the leader's snapshot")
	}
	waitSnapshot(t, c.Nodes[follower].DataDir, 100)
	t.Logf("follower caught up from a snapshot; %d orders", sold)
}

// waitSnapshot waits until dir holds a snapshot of a log index of at least
// min; the file snapshot store names them term-index-time.
func waitSnapshot(t *testing.T, dir string, min uint64) {
	t.Helper()
	testkit.WaitFor(t, fmt.Sprintf("a snapshot past index %d in %s", min, dir), func() bool {
		metas, _ := filepath.Glob(filepath.Join(dir, "snapshots", "*", "meta.json"))
		for _, m := range metas {
			var term, index, ts uint64
			if _, err := fmt.Sscanf(filepath.Base(filepath.Dir(m)), "%d-%d-%d", &term, &index, &ts); err == nil && index >= min {
				return true
			}
		}
		return false
	})
}
