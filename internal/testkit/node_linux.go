package testkit

import (
	"os/exec"
	"runtime"
	"sync"
	"syscall"
)

// startChild starts cmd so that it is killed when the test process dies,
// and only then, so that an interrupted test run leaves no floodgate
// behind.
//
// Linux sends the parent-death signal when the thread that forked the child
// ends, not the whole process, and a Go program ends threads: a goroutine
// that exits while locked to its thread takes the thread with it (the
// rush's bot solvers and the node's signing pool end theirs so, on purpose,
// on whatever thread the scheduler gave them). So every child is forked on
// one thread kept for the life of the test process.
func startChild(cmd *exec.Cmd) error {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	forkOnce.Do(func() { go forkThread() })
	done := make(chan error, 1)
	forks <- fork{cmd, done}
	return <-done
}

type fork struct {
	cmd  *exec.Cmd
	done chan error
}

var (
	forkOnce sync.Once
	forks    = make(chan fork)
)

// forkThread starts the children asked for on its own thread: locked, never
// unlocked, and the goroutine never returns, so the thread lives as long as
// the process.
func forkThread() {
	runtime.LockOSThread()
	for f := range forks {
		f.done <- f.cmd.Start()
	}
}
