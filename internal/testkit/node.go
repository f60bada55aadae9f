package testkit

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/floodgate/floodgate/internal/sockstat"
)

// DefaultAdminToken is the admin token of nodes started without one.
const DefaultAdminToken = "testkit-admin-token"

var (
	buildOnce sync.Once
	binDir    string
	binPath   string
	buildErr  error
)

// RunMain runs the tests of a package and then removes the binary Binary
// built, so test runs leave nothing in the temp dir. Use it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(testkit.RunMain(m)) }
func RunMain(m *testing.M) int {
	code := m.Run()
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
	return code
}

// Binary returns the path of the floodgate binary: $FLOODGATE_BIN when set,
// else a build of ./cmd/floodgate made once per test process. The build is
// without the race detector on purpose: the server runs at its real speed and
// a short load test stays short; set FLOODGATE_BIN_RACE=1 to build it with
// -race instead.
func Binary(tb testing.TB) string {
	tb.Helper()
	if p := os.Getenv("FLOODGATE_BIN"); p != "" {
		return p
	}
	buildOnce.Do(func() {
		root, err := ModuleRoot()
		if err != nil {
			buildErr = err
			return
		}
		dir, err := os.MkdirTemp("", "floodgate-testkit-")
		if err != nil {
			buildErr = err
			return
		}
		binDir, binPath = dir, filepath.Join(dir, "floodgate")
		args := []string{"build", "-o", binPath}
		if os.Getenv("FLOODGATE_BIN_RACE") == "1" {
			args = append(args, "-race")
		}
		args = append(args, "./cmd/floodgate")
		cmd := exec.Command("go", args...)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build ./cmd/floodgate: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		tb.Fatalf("testkit: %v", buildErr)
	}
	return binPath
}

// ModuleRoot finds the directory of go.mod with `go env GOMOD`, so tests in
// any package build the same binary.
func ModuleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("go env GOMOD: not inside the floodgate module")
	}
	return filepath.Dir(mod), nil
}

// Options configure a node. The zero value is a single dev node with a
// 50 ms tick and rate limits high enough that one test client is never
// limited.
type Options struct {
	// DataDir is the data directory; a new t.TempDir() when empty.
	DataDir string
	// HTTPAddr is the API address; a free loopback port when empty. It is
	// kept across restarts.
	HTTPAddr string
	// AdminToken is the admin bearer token; DefaultAdminToken when empty.
	AdminToken string
	// NoDev leaves out --dev (the dev identity provider).
	NoDev bool
	// Tick is the leader's tick (--tick); 50ms when zero.
	Tick time.Duration
	// KeepRateLimits leaves the server's default per-IP limits and the
	// "auto" join challenge in place; otherwise the limits are raised and
	// "auto" never asks for work, so that every test client shares
	// 127.0.0.1 without being limited. A drop with a fixed
	// challenge_difficulty asks for work either way.
	KeepRateLimits bool
	// Args are more flags for floodgate serve (e.g. --node-id, --raft-addr,
	// --join for cluster tests). They come after the flags above and so
	// override them.
	Args []string
	// Env is added to the process environment.
	Env []string
	// NoWait returns from StartNode without waiting for /healthz (for a node
	// that joins a cluster later).
	NoWait bool
	// StartTimeout bounds the wait for /healthz; 30s when zero.
	StartTimeout time.Duration
}

// Node is one running floodgate serve process.
type Node struct {
	*Client
	tb      testing.TB
	opts    Options
	DataDir string
	// HTTPAddr is host:port of the API; URL is "http://" + HTTPAddr.
	HTTPAddr string
	URL      string
	// LogPath is the file that receives the process's stdout and stderr.
	LogPath string

	process
	starts   int
	logStart int64 // size of the log when the current process started
}

// StartNode starts floodgate serve and waits until /healthz answers 200.
// The process is killed when the test ends; its log is printed if the test
// failed.
func StartNode(tb testing.TB, opts Options) *Node {
	tb.Helper()
	if opts.DataDir == "" {
		opts.DataDir = tb.TempDir()
	}
	if opts.AdminToken == "" {
		opts.AdminToken = DefaultAdminToken
	}
	if opts.Tick == 0 {
		opts.Tick = 50 * time.Millisecond
	}
	if opts.StartTimeout == 0 {
		opts.StartTimeout = 30 * time.Second
	}
	fixedAddr := opts.HTTPAddr != ""
	n := &Node{tb: tb, opts: opts, DataDir: opts.DataDir, LogPath: filepath.Join(tb.TempDir(), "floodgate.log")}
	tb.Cleanup(func() {
		state := n.processState()
		if tb.Failed() {
			// What the kernel shows of the node's port and process
			// before the kill changes it.
			state += "; " + kernelView(n.HTTPAddr, n.PID())
		}
		if !tb.Failed() {
			n.Kill()
			return
		}
		// A node still running may be where the test got stuck: its
		// goroutines say where it was.
		n.dumpGoroutines(5 * time.Second)
		logged, dump := splitDump(n.Logs())
		if dump != "" {
			dump = "\n---- testkit: the node's goroutines when the test ended (SIGQUIT), by state and first frame of floodgate:\n" + summarizeDump(dump, 40)
		}
		tb.Logf("testkit: log of node %s (%s; %s when the test ended):\n%s%s", n.HTTPAddr, n.LogPath, state, tail(logged, 8000), dump)
	})
	for attempt := 0; ; attempt++ {
		n.HTTPAddr = opts.HTTPAddr
		if !fixedAddr {
			n.HTTPAddr = FreeAddr(tb)
		}
		n.URL = "http://" + n.HTTPAddr
		n.Client = NewClient(n.URL, opts.AdminToken)
		err := n.start()
		if err == nil {
			return n
		}
		if fixedAddr || attempt >= 3 || !n.addrInUse() {
			tb.Fatalf("testkit: %v\nlog:\n%s", err, tail(n.Logs(), 8000))
		}
	}
}

func (n *Node) args() []string {
	a := []string{"serve",
		"--data-dir", n.DataDir,
		"--http-addr", n.HTTPAddr,
		"--admin-token", n.opts.AdminToken,
		"--tick", n.opts.Tick.String(),
	}
	if !n.opts.NoDev {
		a = append(a, "--dev")
	}
	if !n.opts.KeepRateLimits {
		a = append(a, "--join-rate", "1000000", "--join-burst", "1000000",
			"--request-rate", "1000000", "--request-burst", "1000000", "--streams-per-ip", "1000000",
			"--challenge-pressure", "1e9")
	}
	return append(a, n.opts.Args...)
}

// start runs the process and, unless NoWait, waits for /healthz.
func (n *Node) start() error {
	bin := Binary(n.tb)
	logf, err := os.OpenFile(n.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	n.mu.Lock()
	n.starts++
	if fi, err := logf.Stat(); err == nil {
		n.logStart = fi.Size()
	}
	fmt.Fprintf(logf, "---- testkit: start %d: %s %s\n", n.starts, bin, strings.Join(n.args(), " "))
	err = n.run(bin, n.args(), n.opts.Env, logf)
	exited := n.exited
	n.mu.Unlock()
	if err != nil {
		return err
	}
	if n.opts.NoWait {
		return nil
	}
	return waitHealthy(n.Client, "floodgate serve on "+n.HTTPAddr, n.opts.StartTimeout, exited)
}

// WaitHealthy waits until /healthz answers 200, failing the test after
// timeout or if the process exits.
func (n *Node) WaitHealthy(tb testing.TB, timeout time.Duration) {
	tb.Helper()
	n.mu.Lock()
	exited := n.exited
	n.mu.Unlock()
	if err := waitHealthy(n.Client, "floodgate serve on "+n.HTTPAddr, timeout, exited); err != nil {
		tb.Fatalf("testkit: %v\nlog:\n%s", err, tail(n.Logs(), 8000))
	}
}

// Stop asks the process to shut down with SIGTERM and waits up to 10s, then
// kills it.
func (n *Node) Stop() { n.signal(syscall.SIGTERM, 10*time.Second) }

// Restart kills the process if it still runs, then starts it again with the
// same flags, data dir and address, and waits for /healthz (unless NoWait).
func (n *Node) Restart(tb testing.TB) {
	tb.Helper()
	n.Kill()
	var err error
	for attempt := 0; attempt < 20; attempt++ {
		if err = n.start(); err == nil {
			return
		}
		// The address of the killed process can take a moment to free.
		if !n.addrInUse() {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	tb.Fatalf("testkit: restart: %v\nlog:\n%s", err, tail(n.Logs(), 8000))
}

// Logs returns everything the process wrote so far, over all its starts.
func (n *Node) Logs() string {
	b, _ := os.ReadFile(n.LogPath)
	return string(b)
}

// addrInUse reports whether the last start failed because its address was
// taken.
func (n *Node) addrInUse() bool {
	n.mu.Lock()
	off := n.logStart
	n.mu.Unlock()
	logs := n.Logs()
	if int64(len(logs)) < off {
		return false
	}
	return strings.Contains(logs[off:], "address already in use")
}

// kernelView is sockstat.Describe of the port of addr (host:port) and of
// process pid (0: none).
func kernelView(addr string, pid int) string {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "kernel view: " + err.Error()
	}
	port, err := strconv.ParseUint(p, 10, 16)
	if err != nil {
		return "kernel view: " + err.Error()
	}
	return sockstat.Describe(uint16(port), pid)
}

func tail(s string, max int) string {
	if len(s) <= max {
		return s
	}
	s = s[len(s)-max:]
	if i := bytes.IndexByte([]byte(s), '\n'); i >= 0 {
		s = s[i+1:]
	}
	return "…\n" + s
}
