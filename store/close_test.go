package store

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/floodgate/floodgate/sale"
)

// TestCloseUnderLoadReturns closes a store while many callers are applying:
// Close returns, and every caller gets an answer (a result or an error),
// even for proposals Raft queued and never took up before it shut down.
func TestCloseUnderLoadReturns(t *testing.T) {
	for round := range 8 {
		st := open(t, t.TempDir(), nil)
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for g := range 64 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ctx.Err() == nil; i++ {
					now := benchNow + int64(g*1_000_000+i)
					if _, err := st.Apply(ctx, &sale.Command{Kind: sale.KindTick, Now: now}); err != nil && ctx.Err() == nil {
						if _, err := st.Apply(ctx, &sale.Command{Kind: sale.KindTick, Now: now}); err != nil {
							return // closed
						}
					}
				}
			}()
		}
		time.Sleep(time.Duration(50+30*round) * time.Millisecond)
		closed := make(chan error, 1)
		go func() { closed <- st.Close() }()
		select {
		case <-closed:
		case <-time.After(30 * time.Second):
			t.Fatalf("round %d: Close did not return within 30 s while callers were applying", round)
		}
		answered := make(chan struct{})
		go func() { wg.Wait(); close(answered) }()
		select {
		case <-answered:
		case <-time.After(30 * time.Second):
			t.Fatalf("round %d: callers still waiting 30 s after Close", round)
		}
		cancel()
	}
}
