package testkit

import (
	"context"
	"testing"
	"time"
)

// Context is the test's context with a deadline d from now, cancelled when
// the test ends: the one line a test needs for the calls it makes, instead
// of WithTimeout and a deferred cancel in every test.
func Context(tb testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(tb.Context(), d)
	tb.Cleanup(cancel)
	return ctx
}

// Background runs run (a service's loop) in a goroutine until the test
// ends, then cancels its context and waits for it to return, so that
// nothing of it outlives the test.
func Background(tb testing.TB, run func(ctx context.Context)) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); run(ctx) }()
	tb.Cleanup(func() { cancel(); <-done })
}
