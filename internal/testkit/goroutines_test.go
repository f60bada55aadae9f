package testkit

import (
	"fmt"
	"strings"
	"testing"
)

const sampleDump = `time=... level=INFO msg="floodgate serving"
SIGQUIT: quit
PC=0x47c2a1 m=0 sigcode=0

goroutine 0 gp=0x1 m=0 mp=0x2 [idle]:
runtime.futex(0x1, 0x80)
	/usr/local/go/src/runtime/sys_linux_amd64.s:557 +0x21

goroutine 7 gp=0xc000 m=nil [sync.RWMutex.RLock, 3 minutes]:
sync.runtime_SemacquireRWMutexR(0xc0001, 0x0, 0x0)
	/usr/local/go/src/runtime/sema.go:100 +0x25
github.com/floodgate/floodgate/store.(*Store).Read(0xc0002, 0xc0003)
	/src/store/store.go:397 +0x4a
github.com/floodgate/floodgate/http.newMetrics.func1()
	/src/http/metrics.go:47 +0x5e
created by net/http.(*Server).Serve in goroutine 1
	/usr/local/go/src/net/http/server.go:3454 +0x485

goroutine 8 gp=0xc001 m=nil [sync.RWMutex.RLock, 1 minutes]:
sync.runtime_SemacquireRWMutexR(0xc0001, 0x0, 0x0)
	/usr/local/go/src/runtime/sema.go:100 +0x25
github.com/floodgate/floodgate/store.(*Store).Read(0xc0002, 0xc0003)
	/src/store/store.go:397 +0x4a

goroutine 9 gp=0xc002 m=nil [IO wait]:
internal/poll.runtime_pollWait(0x7f, 0x72)
	/usr/local/go/src/runtime/netpoll.go:351 +0x85
`

// TestSummarizeDump: goroutines group by state and their first frame in
// this module, the largest group first, with its longest wait.
func TestSummarizeDump(t *testing.T) {
	logged, dump := splitDump(sampleDump)
	if !strings.Contains(logged, "floodgate serving") || strings.Contains(logged, "SIGQUIT") || !strings.HasPrefix(dump, quitMarker) {
		t.Fatalf("split: logged %q, dump starts %q", logged, dump[:min(len(dump), 20)])
	}
	got := summarizeDump(dump, 10)
	lines := strings.Split(strings.TrimSpace(got), "\n")
	if len(lines) != 3 {
		t.Fatalf("want 3 groups (idle, RLock in store.Read, IO wait):\n%s", got)
	}
	if !strings.HasPrefix(strings.TrimSpace(lines[0])+"\n", "2 [sync.RWMutex.RLock, up to 3 minutes] github.com/floodgate/floodgate/store.(*Store).Read\n") {
		t.Errorf("first group: %q", lines[0])
	}
	if one := summarizeDump(dump, 1); !strings.Contains(one, "… and 2 more groups") {
		t.Errorf("capped at one group:\n%s", one)
	}
	if l, d := splitDump("no dump here\n"); l != "no dump here\n" || d != "" {
		t.Errorf("a log without a dump: %q %q", l, d)
	}
}

// failedTB is a test that has failed: it keeps its cleanups and what they
// log, so a test can look at what testkit prints for a failed test.
type failedTB struct {
	testing.TB
	cleanups []func()
	logs     []string
}

func (f *failedTB) Failed() bool      { return true }
func (f *failedTB) Cleanup(fn func()) { f.cleanups = append(f.cleanups, fn) }
func (f *failedTB) Logf(format string, args ...any) {
	f.logs = append(f.logs, fmt.Sprintf(format, args...))
}

// TestFailedTestShowsNodeGoroutines: when a test fails while its node
// runs, testkit prints the node's log and where its goroutines were.
func TestFailedTestShowsNodeGoroutines(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a node")
	}
	f := &failedTB{TB: t}
	n := StartNode(f, Options{})
	for i := len(f.cleanups) - 1; i >= 0; i-- {
		f.cleanups[i]()
	}
	out := strings.Join(f.logs, "\n")
	if !strings.Contains(out, "floodgate serving") || !strings.Contains(out, "goroutines when the test ended") ||
		!strings.Contains(out, "github.com/floodgate/floodgate/") {
		t.Fatalf("the failed test's output lacks the node's log or goroutines:\n%s", out)
	}
	if n.Running() {
		t.Fatal("the node still runs after the cleanup")
	}
	t.Logf("%s", out[strings.Index(out, "---- testkit: the node's goroutines"):])
}
