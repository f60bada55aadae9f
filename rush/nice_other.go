//go:build !linux

package rush

import "time"

// lowerThreadPriority does nothing here: only Linux sets a nice value per
// thread, and lowering the whole process would slow the simulation too.
func lowerThreadPriority() {}

// threadCPU is not measured here.
func threadCPU() time.Duration { return 0 }
