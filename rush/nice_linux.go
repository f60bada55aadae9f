package rush

import (
	"syscall"
	"time"
)

// lowerThreadPriority gives the calling OS thread the lowest scheduling
// priority (nice 19); on Linux the nice value is per thread.
func lowerThreadPriority() {
	_ = syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), 19)
}

// threadCPU is the CPU time (user + system) the calling OS thread has used.
func threadCPU() time.Duration {
	const rusageThread = 1 // RUSAGE_THREAD
	var ru syscall.Rusage
	if syscall.Getrusage(rusageThread, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
