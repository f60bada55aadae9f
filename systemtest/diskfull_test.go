package systemtest

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/status"
)

// TestDiskFullInACluster fills the data disk of one node of a 3-node
// cluster, a follower or the leader: the cluster goes on taking writes (a
// full leader steps down and another is elected; writes sent meanwhile
// answer 503 and are sent again), the full node says disk_full on /healthz
// and stays up, and once its space is freed the same process takes its log
// back into service and catches up with every write acknowledged meanwhile.
//
// The disk is a small tmpfs, which needs root (CI runs as root).
func TestDiskFullInACluster(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: a cluster and a full disk")
	}
	// node1 bootstraps the cluster and leads it; node3 follows.
	t.Run("follower", func(t *testing.T) { diskFullInCluster(t, 2) })
	t.Run("leader", func(t *testing.T) { diskFullInCluster(t, 0) })
}

func diskFullInCluster(t *testing.T, full int) {
	dir := testkit.SmallDisk(t, "300M")
	dirs := make([]string, 3)
	dirs[full] = filepath.Join(dir, "data")
	c := testkit.StartCluster(t, 3, testkit.ClusterOptions{DataDirs: dirs,
		Node: testkit.Options{Args: []string{"--auto-open-after", "2s"}}})
	leader := c.WaitLeader(t, nil, 30*time.Second)
	if full == 0 && leader != 0 {
		t.Skipf("node1 did not keep the lead (node%d leads); the leader case needs it", leader+1)
	}
	n := c.Nodes[full]
	pid := n.PID()
	// Writes go through a node whose disk is fine; it forwards them.
	other := (full + 1) % 3
	wc, fc := c.Nodes[other].Client, n.Client
	ctx := testkit.Context(t, 4*time.Minute)

	ballast := filepath.Join(dir, "ballast")
	testkit.FillDisk(t, ballast)
	var acked []string
	refused := 0
	// create sends one write until it is acknowledged; a 503 (the leader
	// changing) is sent again with the same body, which is idempotent.
	create := func(id string) {
		t.Helper()
		body := testkit.FillerDrop(id)
		deadline := time.Now().Add(30 * time.Second)
		for {
			resp, err := wc.Do(ctx, http.MethodPost, "/api/v1/drops", testkit.Bearer(testkit.DefaultAdminToken), body)
			if err == nil && (resp.Status == http.StatusCreated || resp.Status == http.StatusOK) {
				acked = append(acked, id)
				return
			}
			if err == nil && resp.Status != http.StatusServiceUnavailable {
				t.Fatalf("create %s: %d %s", id, resp.Status, resp.Body)
			}
			refused++
			if time.Now().After(deadline) {
				t.Fatalf("create %s: no acknowledgement within 30s with one node's disk full: %v %v", id, resp, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	isFull := func() bool {
		resp, err := fc.Do(ctx, http.MethodGet, "/healthz", nil, nil)
		return err == nil && resp.Status == http.StatusServiceUnavailable && strings.Contains(string(resp.Body), "disk_full")
	}
	fullSeen := false
	for i := 0; i < 1000 && !fullSeen; i++ {
		create(fmt.Sprintf("big-%d", i))
		fullSeen = isFull()
	}
	if !fullSeen {
		t.Fatal("the node's disk never filled")
	}
	// The cluster goes on (a full leader steps down at its first failed
	// append); the full node stays up.
	for i := range 5 {
		create(fmt.Sprintf("during-%d", i))
	}
	if !n.Running() {
		t.Fatalf("the node exited on a full disk:\n%s", n.Logs())
	}
	t.Logf("node%d's disk filled after %d writes; %d answers were 503 meanwhile", full+1, len(acked), refused)
	// Any node's view of the cluster names the full one.
	testkit.WaitFor(t, "the cluster view naming the full node", func() bool {
		info, err := wc.ClusterInfo(ctx)
		if err != nil {
			return false
		}
		for _, m := range info.Nodes {
			if m.ID == c.IDs[full] {
				return m.State == "disk_full"
			}
		}
		return false
	})

	// The full node's own status page says so while its disk is full: the
	// incident cannot be recorded, so the node shows it live.
	testkit.WaitFor(t, "the full node's status page to show its full disk", func() bool {
		var sum status.Summary
		if _, err := fc.Call(ctx, http.MethodGet, "/api/v2/summary.json", nil, nil, &sum); err != nil {
			return false
		}
		for _, inc := range sum.Incidents {
			if strings.HasPrefix(inc.Name, "Checkout is paused") {
				return inc.Floodgate != nil && inc.Floodgate.Unrecorded
			}
		}
		return false
	})

	if err := os.Remove(ballast); err != nil {
		t.Fatal(err)
	}
	freed := time.Now()
	// If the node does not come back, say why first: its own account of the
	// log, before the dumps of every node.
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		for _, line := range strings.Split(n.Logs(), "\n") {
			if strings.Contains(line, "Raft log") || strings.Contains(line, "full disk") {
				t.Log(line)
			}
		}
	})
	// hasAcked: the full node has every write acknowledged so far.
	hasAcked := func() bool {
		drops, err := fc.Drops(ctx)
		if err != nil {
			return false
		}
		have := map[string]bool{}
		for _, d := range drops {
			have[d.ID] = true
		}
		for _, id := range acked {
			if !have[id] {
				return false
			}
		}
		return true
	}
	testkit.WaitFor(t, "the node healthy and caught up after freeing its space", func() bool {
		resp, err := fc.Do(ctx, http.MethodGet, "/healthz", nil, nil)
		return err == nil && resp.Status == http.StatusOK && hasAcked()
	})
	t.Logf("node%d caught up %v after its space was freed", full+1, time.Since(freed).Round(time.Millisecond))
	if logs := n.Logs(); !strings.Contains(logs, "the Raft log is out of service") || !strings.Contains(logs, "the Raft log is back in service") {
		t.Fatalf("the node's log does not tell the disk fault and its end:\n%s", logs)
	}
	if n.PID() != pid {
		t.Fatalf("the node's process changed (%d, was %d): it must recover without a restart", n.PID(), pid)
	}
	// And everyone still takes writes.
	create("after")

	// The node starts again on the log it took back into service (which
	// may have cut the entries a failed append left on disk: raft-wal
	// before v0.4.1 could not read such a log after a restart) and has
	// every acknowledged write (create appended "after" to acked).
	t.Logf("node%d cut entries a failed append left: %v", full+1, strings.Contains(n.Logs(), "cut log entries a failed append left on disk"))
	n.Restart(t)
	testkit.WaitFor(t, "the restarted node to have every acknowledged write", hasAcked)
}
