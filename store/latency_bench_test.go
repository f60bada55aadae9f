package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/floodgate/floodgate/internal/testkit"
)

// BenchmarkApplyLatency runs 64 callers in a closed loop, as wrk's 64
// connections do: each holds and orders one buyer at a time. Beside the
// rate it reports what group commit does with them: commands per append
// (each append is one write and fsync) and, per command, how many appends
// completed while it waited (its own included): the wait measured in
// fsyncs, which load on a shared machine disturbs less than milliseconds.
func BenchmarkApplyLatency(b *testing.B) {
	const callers = 64
	reg := prometheus.NewRegistry()
	st := open(b, b.TempDir(), reg)
	defer st.Close()
	openSale(b, st, int64(b.N)+1)
	type sample struct {
		d       time.Duration
		appends uint64
	}
	appends0 := st.wal.appends.Load()
	all, elapsed := testkit.Callers(b, callers, func(i int) sample {
		a0, t0 := st.wal.appends.Load(), time.Now()
		if _, _, err := buyOne(context.Background(), st, int64(i)); err != nil {
			panic(fmt.Sprint(err))
		}
		return sample{time.Since(t0), st.wal.appends.Load() - a0}
	})
	slices.SortFunc(all, func(a, b sample) int { return cmp.Compare(a.d, b.d) })
	var appendsWaited uint64
	for _, s := range all {
		appendsWaited += s.appends
	}
	appends := st.wal.appends.Load() - appends0
	b.ReportMetric(float64(2*b.N)/elapsed.Seconds(), "commands/s")
	b.ReportMetric(float64(2*b.N)/float64(appends), "commands/append")
	// A buyer is two commands, one after the other.
	b.ReportMetric(float64(appendsWaited)/float64(2*len(all)), "appends-waited/command")
	b.ReportMetric(float64(all[len(all)/2].d.Microseconds())/2, "p50-us/command")
	b.ReportMetric(float64(all[len(all)*99/100].d.Microseconds())/2, "p99-us/command")
}
