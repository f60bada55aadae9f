package queue

import (
	"context"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/internal/testkit/localstore"
	"github.com/floodgate/floodgate/sale"
)

// lockedStore hides the store's published views, so Status reads the state
// under its lock as it did before them.
type lockedStore struct{ Store }

// BenchmarkStatusUnderWrites: 64 goroutines read queue status as waiting
// visitors poll it (200 µs apart, the rest of a request), while 32 others write (holds, as admitted visitors
// take them, through Raft with fsync), for 2 s per run; "locked" reads under
// the state's lock, "view" reads the published view. It reports status
// reads/s, a read's latency and commands/s.
func BenchmarkStatusUnderWrites(b *testing.B) {
	for _, mode := range []string{"locked", "view"} {
		b.Run(mode, func(b *testing.B) {
			st := localstore.Leader(b)
			var qs Store = st
			if mode == "locked" {
				qs = lockedStore{st}
			}
			q := New(Config{Store: qs, Logger: slog.New(slog.DiscardHandler)})
			testkit.Background(b, q.Run)
			testkit.WaitFor(b, "cluster secret", func() bool { _, _, err := q.Keys(); return err == nil })
			createDrop(b, st, dropSpec("d", 1_000_000, time.Now().Add(-time.Second), 100_000))
			var tickets []*Claims
			for range 1000 {
				tok, _, err := q.Join(context.Background(), "d")
				if err != nil {
					b.Fatal(err)
				}
				_, v, _ := q.Keys()
				c, err := v.Verify(tok, "d", time.Now())
				if err != nil {
					b.Fatal(err)
				}
				tickets = append(tickets, c)
			}
			lat := make([][]time.Duration, 64)
			var reads, writes atomic.Int64
			var stop atomic.Bool
			var wg sync.WaitGroup
			b.ResetTimer()
			for r := range 64 {
				wg.Go(func() {
					for i := r; !stop.Load(); i++ {
						t0 := time.Now()
						if _, err := q.Status(tickets[i%len(tickets)]); err != nil {
							panic(err)
						}
						lat[r] = append(lat[r], time.Since(t0))
						reads.Add(1)
						time.Sleep(200 * time.Microsecond) // the rest of a request
					}
				})
			}
			for w := range 32 {
				wg.Go(func() {
					for i := 0; !stop.Load(); i++ {
						v := "w" + strconv.Itoa(w) + "-" + strconv.Itoa(i)
						_, _ = st.Apply(context.Background(), &sale.Command{Kind: sale.KindHold, Now: time.Now().UnixMilli(), Drop: "d", Visitor: v, Seq: int64(i*32 + w), Quantity: 1})
						writes.Add(1)
					}
				})
			}
			time.Sleep(2 * time.Second)
			stop.Store(true)
			wg.Wait()
			b.StopTimer()
			b.ReportMetric(float64(reads.Load())/2, "reads/s")
			b.ReportMetric(float64(writes.Load())/2, "commands/s")
			var all []time.Duration
			for _, l := range lat {
				all = append(all, l...)
			}
			slices.Sort(all)
			b.ReportMetric(float64(all[len(all)/2].Microseconds()), "read-p50-us")
			b.ReportMetric(float64(all[len(all)*99/100].Microseconds()), "read-p99-us")
			b.ReportMetric(float64(all[len(all)-1].Microseconds()), "read-max-us")
			b.ReportMetric(0, "ns/op")
		})
	}
}
