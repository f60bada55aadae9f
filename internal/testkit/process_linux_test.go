package testkit

import (
	"net/http"
	"os"
	"runtime"
	"strconv"
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
