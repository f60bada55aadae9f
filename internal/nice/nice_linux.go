package nice

import (
	"syscall"
	"time"
	"unsafe"
)

// LowerThreadPriority gives the calling OS thread the lowest scheduling
// priority: the SCHED_IDLE policy, and nice 19 where that is refused; on
// Linux both are per thread. A nice-19 thread still gets a share of a busy
// CPU and runs out its slice when another thread wakes there; a SCHED_IDLE
// thread gives the CPU up to any other thread that wakes. The caller must
// have locked its goroutine to the thread (runtime.LockOSThread) and never
// unlock it: the thread then ends with the goroutine instead of running other
// goroutines at that priority.
func LowerThreadPriority() {
	tid := syscall.Gettid()
	_ = syscall.Setpriority(syscall.PRIO_PROCESS, tid, 19)
	const schedIdle = 5 // SCHED_IDLE
	var param struct{ priority int32 }
	_, _, _ = syscall.RawSyscall(syscall.SYS_SCHED_SETSCHEDULER, uintptr(tid), schedIdle, uintptr(unsafe.Pointer(&param)))
}

// ThreadCPU is the CPU time (user + system) the calling OS thread has used.
func ThreadCPU() time.Duration {
	user, sys := ThreadTimes()
	return user + sys
}

// ThreadTimes is ThreadCPU's user and system time apart: the kernel's part
// (page faults, mapping memory) shows on its own.
func ThreadTimes() (user, sys time.Duration) {
	const rusageThread = 1 // RUSAGE_THREAD
	var ru syscall.Rusage
	if syscall.Getrusage(rusageThread, &ru) != nil {
		return 0, 0
	}
	return time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano())
}
