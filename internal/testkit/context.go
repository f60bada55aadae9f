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
