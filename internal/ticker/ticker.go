// Package ticker runs the periodic loops of a node (the queue's tick, the
// identity provider's probe, health signals, cluster membership) the same
// way: every interval until the context ends, never two calls at once.
package ticker

import (
	"context"
	"time"
)

// Every calls fn every interval until ctx is done. The first call comes
// after one interval; a call that takes longer than the interval delays the
// next one instead of piling calls up.
func Every(ctx context.Context, interval time.Duration, fn func(ctx context.Context)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			fn(ctx)
		}
	}
}
