package queue

import (
	"context"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/floodgate/floodgate/internal/nice"
	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/internal/testkit/localstore"
	"github.com/floodgate/floodgate/sale"
)

// BenchmarkJoin joins a started drop from 256 goroutines at once, as the
// opening burst of a rush does, with the default block of 1,000 positions
// per Raft write, and reports the joins' latency: a join that has to wait
// for a block reservation waits for a Raft write (an fsync). cpu-us/join is
// the CPU the whole process spent (every goroutine, the store's included)
// over the joins, divided by their number.
func BenchmarkJoin(b *testing.B) {
	const callers = 256
	st := localstore.Leader(b)
	q := New(Config{Store: st, Logger: slog.New(slog.DiscardHandler)})
	testkit.Background(b, q.Run)
	testkit.WaitFor(b, "cluster secret", func() bool { _, _, err := q.Keys(); return err == nil })
	createDrop(b, st, dropSpec("d", 100, time.Now().Add(-time.Second), 1))
	testkit.WaitFor(b, "drop start", func() bool {
		var started bool
		st.Read(func(s *sale.State) { started = s.Drops["d"].Started })
		return started
	})
	if keys, _, _ := q.Keys(); keys.ahead != nil {
		// The leader prepares signatures once a drop is on sale; the
		// burst of a rush comes after the lead time that takes.
		testkit.WaitFor(b, "signatures prepared ahead", func() bool { return keys.ahead.Full() })
	}
	cpu0 := nice.ProcessCPU()
	all, elapsed := testkit.Callers(b, callers, func(int) time.Duration {
		t0 := time.Now()
		if _, _, err := q.Join(context.Background(), "d"); err != nil {
			panic(err)
		}
		return time.Since(t0)
	})
	cpu := nice.ProcessCPU() - cpu0
	slices.Sort(all)
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-us/join")
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "joins/s")
	b.ReportMetric(float64(all[len(all)/2].Microseconds()), "p50-us")
	b.ReportMetric(float64(all[len(all)*99/100].Microseconds()), "p99-us")
	b.ReportMetric(float64(all[len(all)-1].Microseconds()), "max-us")
}
