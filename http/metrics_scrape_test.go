package http_test

import (
	"context"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	fhttp "github.com/floodgate/floodgate/http"
	"github.com/floodgate/floodgate/queue"
	"github.com/floodgate/floodgate/sale"
)

// TestScrapeWithManyDropsDoesNotStopTheStateMachine: a scrape of a node
// with more per-drop figures than the registry's channel holds (1,000),
// while commands are applied, finishes, and so do the commands. The
// per-drop collector once sent its figures while it held the state's read
// lock: a write then waited for that lock, a gauge the registry read
// meanwhile waited behind the write, the registry stopped taking figures,
// and the collector, the write and every later reader of the state waited
// for good.
func TestScrapeWithManyDropsDoesNotStopTheStateMachine(t *testing.T) {
	st := leaderStore(t)
	reg := prometheus.NewRegistry()
	handlerServer(t, fhttp.Config{Store: st, Queue: queue.New(queue.Config{Store: st}), Registry: reg})
	ctx := context.Background()
	create := func(id string) error {
		sp := &sale.DropSpec{ID: id, Name: id, Stock: 5, PerCustomerLimit: 1, HoldSeconds: 60, AdmitPerSecond: 10, AdmitWindow: 60,
			StartsAt: time.Now().Add(time.Hour).UnixMilli()}
		_, err := st.Apply(ctx, &sale.Command{Kind: sale.KindCreateDrop, Now: time.Now().UnixMilli(), Drop: id, Spec: sp})
		return err
	}
	for i := range 200 { // 13 figures each: 2,600
		if err := create(fmt.Sprintf("d%03d", i)); err != nil {
			t.Fatal(err)
		}
	}

	// Writes all along: each needs the state's write lock. Ticks, so the
	// number of figures a scrape gathers stays the same however many
	// writes the machine manages.
	var stop atomic.Bool
	var writes sync.WaitGroup
	var applied atomic.Int64
	for range 4 {
		writes.Go(func() {
			for !stop.Load() {
				if _, err := st.Apply(ctx, &sale.Command{Kind: sale.KindTick, Now: time.Now().UnixMilli()}); err != nil {
					t.Error(err)
					return
				}
				applied.Add(1)
			}
		})
	}
	var scraped atomic.Int64
	done := make(chan error, 1)
	go func() {
		for range 30 {
			if _, err := reg.Gather(); err != nil {
				done <- err
				return
			}
			scraped.Add(1)
		}
		done <- nil
	}()
	// The wait for each other stops both the scrapes and the writes for
	// good; a slow machine only slows them. So the test gives up only when
	// neither moved for a whole minute. It gives up from a goroutine of
	// its own, with every goroutine's stack printed: a panic in the test's
	// goroutine would first run the cleanups, and the store cannot close
	// with a command stuck in its apply.
	finished := make(chan struct{})
	defer close(finished)
	go func() {
		watch := time.NewTicker(time.Minute)
		defer watch.Stop()
		lastScraped, lastApplied := int64(-1), int64(-1)
		for {
			select {
			case <-finished:
				return
			case <-watch.C:
			}
			s, a := scraped.Load(), applied.Load()
			if s == lastScraped && a == lastApplied {
				debug.SetTraceback("all")
				panic(fmt.Sprintf("neither a scrape nor a write finished in a minute (%d scrapes, %d writes applied): the scrape and the state machine wait for each other", s, a))
			}
			lastScraped, lastApplied = s, a
		}
	}()
	if err := <-done; err != nil {
		t.Errorf("gather: %v", err)
	}
	stop.Store(true)
	writes.Wait()
	if applied.Load() == 0 {
		t.Error("no write was applied during the scrapes")
	}
}
