package testkit

import (
	"sync"
	"testing"
	"time"
)

// Callers makes b.N calls from callers goroutines at once (call i runs in
// goroutine i % callers), as many buyers calling together do, and returns
// what every call returned and the time from the first call to the last.
// The benchmark's timer runs only for the calls.
func Callers[T any](b *testing.B, callers int, call func(i int) T) (all []T, elapsed time.Duration) {
	got := make([][]T, callers)
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for c := range callers {
		wg.Go(func() {
			for i := c; i < b.N; i += callers {
				got[c] = append(got[c], call(i))
			}
		})
	}
	wg.Wait()
	elapsed = time.Since(start)
	b.StopTimer()
	all = make([]T, 0, b.N)
	for _, g := range got {
		all = append(all, g...)
	}
	return all, elapsed
}
