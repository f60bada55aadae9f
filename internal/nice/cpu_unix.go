//go:build unix

package nice

import (
	"syscall"
	"time"
)

// ProcessCPU is the CPU time (user + system) this process has used so far,
// every thread of it, the garbage collector's included. On a shared machine
// CPU time per operation varies far less with the load than operations per
// second do, so the benchmarks and the rush's summary report it.
func ProcessCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
