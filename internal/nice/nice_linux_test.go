package nice

import (
	"crypto/sha256"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// TestLowerThreadPriority: the thread that asks gets nice 19 and the
// SCHED_IDLE policy; the other threads of the process keep theirs.
func TestLowerThreadPriority(t *testing.T) {
	// niceAndPolicy reads the calling thread's nice value and policy.
	niceAndPolicy := func() (n, policy int, err error) {
		b, err := os.ReadFile("/proc/thread-self/stat")
		if err != nil {
			return 0, 0, err
		}
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
		n, _ = strconv.Atoi(f[16])      // field 19: nice
		policy, _ = strconv.Atoi(f[38]) // field 41: policy
		return n, policy, nil
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	nice0, policy0, err := niceAndPolicy()
	if err != nil {
		t.Fatal(err)
	}
	type got struct {
		n, policy int
		err       error
	}
	lowered := make(chan got)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		LowerThreadPriority()
		n, policy, err := niceAndPolicy()
		lowered <- got{n, policy, err}
	}()
	g := <-lowered
	if g.err != nil {
		t.Fatal(g.err)
	}
	if g.n != 19 || g.policy != 5 {
		t.Errorf("the lowered thread: nice %d, policy %d; want 19 and 5 (SCHED_IDLE)", g.n, g.policy)
	}
	if n, policy, _ := niceAndPolicy(); n != nice0 || policy != policy0 {
		t.Errorf("another thread: nice %d, policy %d; want %d and %d as before", n, policy, nice0, policy0)
	}
}

// TestThreadTimesCountWork: hashing on a locked thread shows in that
// thread's user time, and ThreadCPU is its user and system time together.
func TestThreadTimesCountWork(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	user0, _ := ThreadTimes()
	var sum [32]byte
	for range 200_000 {
		sum = sha256.Sum256(sum[:])
	}
	user1, sys1 := ThreadTimes()
	if user1 <= user0 {
		t.Fatalf("the thread's user time %v before 200,000 hashes, %v after (%x)", user0, user1, sum[:2])
	}
	if all := ThreadCPU(); all < user1+sys1 {
		t.Fatalf("ThreadCPU %v after, below the user and system time %v + %v read before it", all, user1, sys1)
	}
}
