package main

import (
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/floodgate/floodgate/internal/testkit"
)

// TestAdminTokenRules: a token of 5 characters is refused by every command
// that takes one, before it opens anything; a token file keeps the token out
// of ps and is read.
func TestAdminTokenRules(t *testing.T) {
	t.Setenv("FLOODGATE_ADMIN_TOKEN", "")
	// A command that took the token would serve until the context ends.
	ctx := testkit.Context(t, 10*time.Second)
	dir := t.TempDir()
	for _, c := range []struct {
		name string
		run  command
		args []string
	}{
		{"serve", runServe, []string{"--data-dir", dir, "--http-addr", "127.0.0.1:0"}},
		{"status serve", runStatusServe, []string{"--data-dir", dir, "--http-addr", "127.0.0.1:0"}},
		{"cluster status", runCluster, []string{"status", "--addr", "http://127.0.0.1:1"}},
		{"edge", runEdge, []string{"--cluster", "http://127.0.0.1:1", "--http-addr", "127.0.0.1:0"}},
	} {
		err := c.run(ctx, append(c.args, "--admin-token", "s3cr3"))
		if err == nil || !strings.Contains(err.Error(), "at least 16") {
			t.Errorf("%s with a 5-character token: err = %v", c.name, err)
		}
		if c.name == "edge" {
			continue // the edge runs without a token: it then serves no metrics
		}
		if err := c.run(ctx, c.args); err == nil || !strings.Contains(err.Error(), "admin token is required") {
			t.Errorf("%s without a token: err = %v", c.name, err)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) > 0 {
		t.Errorf("serve and status serve with a refused token wrote %d files into their data dir", len(entries))
	}
	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte("0123456789abcdef0123\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	m := NewMain()
	if err := m.ParseFlags([]string{"--admin-token-file", file}); err != nil || m.cfg.adminToken != "0123456789abcdef0123" {
		t.Fatalf("token file: %q %v", m.cfg.adminToken, err)
	}
}

// TestRaftPlaintextRefusedOffLoopback: the Raft flags reach store.Config's
// check (store/plaintext_test.go has the cases): plain TCP on a network
// address is refused unless the insecure flag says so, and fine with TLS.
func TestRaftPlaintextRefusedOffLoopback(t *testing.T) {
	base := []string{"--admin-token", "a-long-enough-admin-token", "--raft-addr", "127.0.0.1:0", "--raft-advertise", "10.0.0.5:7000"}
	if err := NewMain().ParseFlags(base); err == nil || !strings.Contains(err.Error(), "--insecure-raft-plaintext") {
		t.Errorf("a non-loopback --raft-advertise without TLS: err = %v", err)
	}
	for _, extra := range [][]string{
		{"--insecure-raft-plaintext"},
		{"--raft-tls-cert", "c.pem", "--raft-tls-key", "k.pem", "--raft-tls-ca", "ca.pem"},
	} {
		if err := NewMain().ParseFlags(append(base, extra...)); err != nil {
			t.Errorf("%v: %v", extra, err)
		}
	}
}

// TestMetricsNeedTheAdminToken: /metrics answers 401 without the admin
// token and the metrics with it.
func TestMetricsNeedTheAdminToken(t *testing.T) {
	m := startMain(t, t.TempDir())
	resp, err := http.Get(m.URL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("/metrics without a token: %d, want 401", resp.StatusCode)
	}
	c := testkit.NewClient(m.URL(), "main-test-admin-token")
	r, err := c.Do(t.Context(), http.MethodGet, "/metrics", testkit.Bearer("main-test-admin-token"), nil)
	if err != nil || r.Status != http.StatusOK || !strings.Contains(string(r.Body), "floodgate_") {
		t.Fatalf("/metrics with the admin token: %v %v", r, err)
	}
}

// TestDataFilesArePrivate: a data dir made world-readable by hand is
// closed, and snapshots (which hold the cluster secret and every order)
// and the log are readable by the node's user only.
func TestDataFilesArePrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	m := startMain(t, dir, "--snapshot-threshold", "8", "--trailing-logs", "4", "--snapshot-interval", "100ms", "--tick", "20ms")
	c := testkit.NewClient(m.URL(), "main-test-admin-token")
	c.MustCreateDrop(t, testkit.DropRequest{ID: "lamp", Name: "Lamp", Stock: 7})
	testkit.WaitFor(t, "a snapshot", func() bool {
		snaps, _ := filepath.Glob(filepath.Join(dir, "snapshots", "*", "state.bin"))
		return len(snaps) > 0
	})
	n := 0
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if os.IsNotExist(err) {
			return nil // an old snapshot reaped meanwhile
		}
		if err != nil {
			return err
		}
		info, err := d.Info()
		if os.IsNotExist(err) {
			return nil
		}
		if err != nil {
			return err
		}
		n++
		if info.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s has mode %v: readable by others", p, info.Mode().Perm())
		}
		return nil
	})
	if err != nil || n < 3 {
		t.Fatalf("walked %d files: %v", n, err)
	}
}
