//go:build !unix

package nice

import "time"

// ProcessCPU is not measured here.
func ProcessCPU() time.Duration { return 0 }
