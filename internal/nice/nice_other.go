//go:build !linux

package nice

import "time"

// LowerThreadPriority does nothing here: only Linux sets a nice value per
// thread, and lowering the whole process would slow everything else too.
func LowerThreadPriority() {}

// ThreadCPU is not measured here.
func ThreadCPU() time.Duration { return 0 }

// ThreadTimes is not measured here.
func ThreadTimes() (user, sys time.Duration) { return 0, 0 }
