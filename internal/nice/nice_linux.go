package nice

import (
	"syscall"
	"time"
)

// LowerThreadPriority gives the calling OS thread the lowest scheduling
// priority (nice 19); on Linux the nice value is per thread. The caller must
// have locked its goroutine to the thread (runtime.LockOSThread) and never
// unlock it: the thread then ends with the goroutine instead of running other
// goroutines at that priority.
func LowerThreadPriority() {
	_ = syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), 19)
}

// ThreadCPU is the CPU time (user + system) the calling OS thread has used.
func ThreadCPU() time.Duration {
	const rusageThread = 1 // RUSAGE_THREAD
	var ru syscall.Rusage
	if syscall.Getrusage(rusageThread, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
