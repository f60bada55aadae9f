package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/floodgate/floodgate/internal/testkit"
)

// TestDiskFull fills the data disk of a real node: writes must be refused
// with 503 (never a 2xx that is not durable, never a crash), and after the
// node restarts with room again, every write acknowledged before is there
// and new writes succeed.
//
// The disk is a small tmpfs, which needs root (CI runs as root).
func TestDiskFull(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: fills a disk")
	}
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("this test mounts a tmpfs and needs root")
		}
		t.Skip("needs root to mount a small tmpfs")
	}
	dir := filepath.Join(t.TempDir(), "disk")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	// raft-wal preallocates 64 MiB segments; 150 MiB leaves room for about
	// one more segment, so the disk fills at the second rotation.
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=150M", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", dir).Run() })

	n := testkit.StartNode(t, testkit.Options{DataDir: filepath.Join(dir, "data")})
	c := testkit.NewClient(n.URL, n.AdminToken)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	vouchers := make([]string, 2000)
	for i := range vouchers {
		vouchers[i] = fmt.Sprintf("V%06d-%s", i, strings.Repeat("x", 180))
	}
	var acked []string
	full := false
	for i := 0; i < 1000 && !full; i++ {
		id := fmt.Sprintf("big-%d", i)
		body, _ := json.Marshal(map[string]any{"id": id, "name": "filler", "stock": 1000, "vouchers": vouchers})
		resp, err := c.Do(ctx, http.MethodPost, "/api/v1/drops", testkit.Bearer(n.AdminToken), body)
		if err != nil {
			t.Fatalf("create drop %d: %v (the node must answer, not crash)", i, err)
		}
		switch resp.Status {
		case http.StatusCreated:
			acked = append(acked, id)
		case http.StatusServiceUnavailable:
			apiErr := testkit.ParseError(resp)
			if apiErr.Code != "unavailable" || resp.Header.Get("Retry-After") == "" {
				t.Fatalf("disk full answered %d %+v; want 503 unavailable with Retry-After", resp.Status, apiErr)
			}
			full = true
		default:
			t.Fatalf("create drop %d: unexpected status %d: %s", i, resp.Status, resp.Body)
		}
	}
	if !full {
		t.Fatalf("the disk never filled after %d drops", len(acked))
	}
	if len(acked) == 0 {
		t.Fatal("no write was acknowledged before the disk filled")
	}
	if !n.Running() {
		t.Fatalf("the node exited on a full disk:\n%s", n.Logs())
	}
	t.Logf("%d drops acknowledged before the disk filled", len(acked))

	// Room again, then a restart: everything acknowledged is there.
	if out, err := exec.Command("mount", "-o", "remount,size=400M", dir).CombinedOutput(); err != nil {
		t.Fatalf("grow tmpfs: %v: %s", err, out)
	}
	n.Kill()
	n.Restart(t)
	var list struct {
		Drops []struct {
			ID string `json:"id"`
		} `json:"drops"`
	}
	if _, err := c.Call(ctx, http.MethodGet, "/api/v1/drops", nil, nil, &list); err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, d := range list.Drops {
		have[d.ID] = true
	}
	for _, id := range acked {
		if !have[id] {
			t.Errorf("acknowledged drop %s is lost after the disk filled", id)
		}
	}
	body, _ := json.Marshal(map[string]any{"id": "after", "name": "after", "stock": 1})
	resp, err := c.Do(ctx, http.MethodPost, "/api/v1/drops", testkit.Bearer(n.AdminToken), body)
	if err != nil || resp.Status != http.StatusCreated {
		t.Fatalf("a write after the restart with room: %v %v", resp, err)
	}
}
