package testkit

import (
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestNodeOutlivesTheThreadThatStartedIt: a node started from a goroutine
// locked to its OS thread keeps running after the goroutine ends, and its
// thread with it. Linux sends the parent-death signal when the thread that
// forked a child ends, not the process; goroutines that lower their thread's
// priority (the rush's bot solvers) end their threads so, on whatever thread
// the scheduler gave them, perhaps the one that started the test's node.
func TestNodeOutlivesTheThreadThatStartedIt(t *testing.T) {
	var n *Node
	var tid int
	for try := 0; n == nil; try++ {
		if try == 5 {
			t.Fatal("every goroutine ran on the main thread, which never ends")
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			// Never unlocked: the thread ends with the goroutine (the
			// main thread is kept instead; try again then).
			runtime.LockOSThread()
			if tid = syscall.Gettid(); tid == os.Getpid() {
				return
			}
			n = StartNode(t, Options{})
		}()
		<-done
		if t.Failed() {
			t.FailNow()
		}
	}
	task := "/proc/self/task/" + strconv.Itoa(tid)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(task); os.IsNotExist(err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("thread %d still runs 10 s after its locked goroutine ended", tid)
		}
	}
	select {
	case <-n.exited:
		t.Fatalf("the node ended with the thread that started it: %s", n.processState())
	case <-time.After(500 * time.Millisecond):
	}
	if resp, err := n.Do(t.Context(), http.MethodGet, "/healthz", nil, nil); err != nil || resp.Status != http.StatusOK {
		t.Fatalf("healthz after the starting thread ended: %v %+v", err, resp)
	}
}

// TestFailureDumpShowsTheKernelView: what a failed test prints of its node
// says whether the node still held its listener, and when a node that ended
// before the test did ended and how.
func TestFailureDumpShowsTheKernelView(t *testing.T) {
	n := StartNode(t, Options{})
	pid := n.PID()
	if got := kernelView(n.HTTPAddr, pid); !strings.Contains(got, n.HTTPAddr+" listens") || !strings.HasSuffix(got, "holds the listener") {
		t.Fatalf("a running node: %s", got)
	}
	if got := n.processState(); got != "running" {
		t.Fatalf("a running node is %q", got)
	}
	before := time.Now()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-n.exited
	state := n.processState()
	at, err := time.Parse("2006-01-02T15:04:05.000Z", strings.TrimSuffix(strings.TrimPrefix(state, "exited at "), ": signal: killed"))
	if err != nil || at.Before(before.Truncate(time.Millisecond)) || at.After(time.Now()) {
		t.Fatalf("a killed node is %q (%v)", state, err)
	}
	_, port, _ := strings.Cut(n.HTTPAddr, ":")
	if got := kernelView(n.HTTPAddr, pid); !strings.Contains(got, "port "+port+": nothing listens;") || !strings.HasSuffix(got, " is gone") {
		t.Fatalf("a killed node: %s", got)
	}
}
