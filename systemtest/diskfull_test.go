package systemtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/floodgate/floodgate/internal/testkit"
)

// TestDiskFullFollower fills the data disk of one follower of a 3-node
// cluster: the cluster goes on taking writes, the full node says disk_full
// on /healthz and stays up, and once its space is freed the same process
// takes its log back into service and catches up with every write
// acknowledged meanwhile.
//
// The disk is a small tmpfs, which needs root (CI runs as root).
func TestDiskFullFollower(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: a cluster and a full disk")
	}
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("this test mounts a tmpfs and needs root")
		}
		t.Skip("needs root to mount a small tmpfs")
	}
	c := testkit.StartCluster(t, 3, testkit.ClusterOptions{})
	leader := c.WaitLeader(t, nil, 30*time.Second)
	f := (leader + 1) % 3
	n := c.Nodes[f]

	// Move the follower's data dir onto a small tmpfs.
	n.Stop()
	saved := t.TempDir()
	run := func(name string, args ...string) {
		t.Helper()
		if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
			t.Fatalf("%s %v: %v: %s", name, args, err, out)
		}
	}
	run("cp", "-a", n.DataDir+"/.", saved)
	run("mount", "-t", "tmpfs", "-o", "size=300M", "tmpfs", n.DataDir)
	t.Cleanup(func() { _ = exec.Command("umount", "-l", n.DataDir).Run() })
	run("cp", "-a", saved+"/.", n.DataDir)
	n.Restart(t)
	pid := n.PID()
	leader = c.WaitLeader(t, nil, 30*time.Second)
	lc := testkit.NewClient(c.Nodes[leader].URL, testkit.DefaultAdminToken)
	fc := testkit.NewClient(n.URL, testkit.DefaultAdminToken)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	ballast := filepath.Join(n.DataDir, "ballast")
	fill(t, ballast)
	vouchers := make([]string, 2000)
	for i := range vouchers {
		vouchers[i] = fmt.Sprintf("V%06d-%s", i, strings.Repeat("x", 180))
	}
	var acked []string
	create := func(id string) {
		t.Helper()
		body, _ := json.Marshal(map[string]any{"id": id, "name": "filler", "stock": 1000, "vouchers": vouchers})
		resp, err := lc.Do(ctx, http.MethodPost, "/api/v1/drops", testkit.Bearer(testkit.DefaultAdminToken), body)
		if err != nil || resp.Status != http.StatusCreated {
			t.Fatalf("create %s on the leader while a follower's disk is full: %v %v", id, resp, err)
		}
		acked = append(acked, id)
	}
	full := false
	for i := 0; i < 1000 && !full; i++ {
		create(fmt.Sprintf("big-%d", i))
		if i%5 == 4 {
			resp, err := fc.Do(ctx, http.MethodGet, "/healthz", nil, nil)
			full = err == nil && resp.Status == http.StatusServiceUnavailable && strings.Contains(string(resp.Body), "disk_full")
		}
	}
	if !full {
		t.Fatal("the follower's disk never filled")
	}
	// The cluster goes on; the full node stays up.
	for i := range 5 {
		create(fmt.Sprintf("during-%d", i))
	}
	if !n.Running() {
		t.Fatalf("the follower exited on a full disk:\n%s", n.Logs())
	}
	t.Logf("the follower's disk filled after %d writes", len(acked))

	if err := os.Remove(ballast); err != nil {
		t.Fatal(err)
	}
	freed := time.Now()
	testkit.WaitFor(t, "the follower healthy and caught up after freeing its space", func() bool {
		resp, err := fc.Do(ctx, http.MethodGet, "/healthz", nil, nil)
		if err != nil || resp.Status != http.StatusOK {
			return false
		}
		var list struct {
			Drops []struct {
				ID string `json:"id"`
			} `json:"drops"`
		}
		if _, err := fc.Call(ctx, http.MethodGet, "/api/v1/drops", nil, nil, &list); err != nil {
			return false
		}
		have := map[string]bool{}
		for _, d := range list.Drops {
			have[d.ID] = true
		}
		for _, id := range acked {
			if !have[id] {
				return false
			}
		}
		return true
	})
	t.Logf("the follower caught up %v after its space was freed", time.Since(freed).Round(time.Millisecond))
	if logs := n.Logs(); !strings.Contains(logs, "the Raft log is out of service") || !strings.Contains(logs, "the Raft log is back in service") {
		t.Fatalf("the follower's log does not tell the disk fault and its end:\n%s", logs)
	}
	if n.PID() != pid {
		t.Fatalf("the follower's process changed (%d, was %d): it must recover without a restart", n.PID(), pid)
	}
}

// fill writes path until its file system is full.
func fill(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	for {
		if _, err := f.Write(buf); err != nil {
			if errors.Is(err, syscall.ENOSPC) {
				return
			}
			t.Fatalf("fill the disk: %v", err)
		}
	}
}
