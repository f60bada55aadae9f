package testkit

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Edge is one running floodgate edge process.
type Edge struct {
	*Client
	URL      string
	HTTPAddr string
	LogPath  string
	process
}

// StartEdge starts floodgate edge in front of the given node URLs and waits
// until it has the cluster's ticket keys.
func StartEdge(tb testing.TB, upstreams []string, extraArgs ...string) *Edge {
	tb.Helper()
	e := &Edge{HTTPAddr: FreeAddr(tb), LogPath: filepath.Join(tb.TempDir(), "edge.log")}
	e.URL = "http://" + e.HTTPAddr
	e.Client = NewClient(e.URL, "")
	logf, err := os.Create(e.LogPath)
	if err != nil {
		tb.Fatal(err)
	}
	args := append([]string{"edge", "--http-addr", e.HTTPAddr, "--cluster", strings.Join(upstreams, ",")}, extraArgs...)
	e.mu.Lock()
	err = e.run(Binary(tb), args, nil, logf)
	e.mu.Unlock()
	if err != nil {
		tb.Fatalf("testkit: edge: %v", err)
	}
	tb.Cleanup(func() {
		e.Kill()
		if tb.Failed() {
			b, _ := os.ReadFile(e.LogPath)
			tb.Logf("testkit: log of edge %s:\n%s", e.HTTPAddr, tail(string(b), 8000))
		}
	})
	if err := waitHealthy(e.Client, "floodgate edge on "+e.HTTPAddr, 30*time.Second, e.exited); err != nil {
		b, _ := os.ReadFile(e.LogPath)
		tb.Fatalf("testkit: %v:\n%s", err, tail(string(b), 8000))
	}
	return e
}
