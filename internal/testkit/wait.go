package testkit

import (
	"testing"
	"time"
)

// WaitTimeout is how long WaitFor waits: long enough for a slow, shared
// machine, since waits are for things that must happen, never measurements.
const WaitTimeout = 45 * time.Second

// WaitFor polls cond until it holds and fails the test if it does not
// within WaitTimeout. It polls often at first and then every 100 ms, so a
// fast condition costs little and a slow one (a browser, a process) is not
// hammered.
func WaitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(WaitTimeout)
	pause := 5 * time.Millisecond
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %v waiting for %s", WaitTimeout, what)
		}
		time.Sleep(pause)
		pause = min(2*pause, 100*time.Millisecond)
	}
}
