//go:build unix

package nice

import (
	"crypto/sha256"
	"testing"
)

// TestProcessCPUCountsWork: a busy loop shows in the process's CPU time.
func TestProcessCPUCountsWork(t *testing.T) {
	before := ProcessCPU()
	var sum [32]byte
	for range 200_000 {
		sum = sha256.Sum256(sum[:])
	}
	if after := ProcessCPU(); after <= before {
		t.Fatalf("ProcessCPU %v before 200,000 hashes, %v after (%x)", before, after, sum[:2])
	}
}
