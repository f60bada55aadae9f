package rush

import (
	"cmp"
	"fmt"
	"math"
	"runtime/metrics"
	"slices"

	dto "github.com/prometheus/client_model/go"
)

// How long goroutines waited for a core, the server's and the
// generator's: the Go runtime's /sched/latencies:seconds, the time a
// goroutine was runnable before it ran. The rush shares its machine with
// the server, and an exchange much longer than the server's handler time
// (servertimes.go) may have gone to either process waiting for a core;
// these figures say how much.

// schedLatencies is the runtime's name of the histogram; the server's
// /metrics expose it as the family schedFamily (internal/procmetrics).
const (
	schedLatencies = "/sched/latencies:seconds"
	schedFamily    = "go_sched_latencies_seconds"
)

// waits is a histogram of waits for a core: cum[i] goroutine runs waited
// at most le[i] seconds; le ascends and may end with +Inf.
type waits struct{ le, cum []float64 }

// sub is the histogram of the runs between b and a (the same process's,
// b first); empty when their buckets differ.
func (a waits) sub(b waits) waits {
	if !slices.Equal(a.le, b.le) {
		return waits{}
	}
	d := waits{le: a.le, cum: make([]float64, len(a.cum))}
	for i := range a.cum {
		d.cum[i] = a.cum[i] - b.cum[i]
	}
	return d
}

// runs is how many times a goroutine went from runnable to running.
func (a waits) runs() float64 {
	if len(a.cum) == 0 {
		return 0
	}
	return a.cum[len(a.cum)-1]
}

// quantileMS is the upper bound, in milliseconds, of the bucket the
// q-quantile falls in (the largest finite bound when it falls beyond it);
// 0 without a run.
func (a waits) quantileMS(q float64) float64 {
	n := a.runs()
	if n <= 0 {
		return 0
	}
	i, _ := slices.BinarySearch(a.cum, math.Ceil(q*n))
	for i > 0 && (i >= len(a.le) || math.IsInf(a.le[i], 1)) {
		i--
	}
	if math.IsInf(a.le[i], 1) {
		return 0
	}
	return a.le[i] * 1000
}

// overShare is the share of the runs that waited longer than the largest
// bucket bound at most limit seconds (limit itself when it is a bound);
// 0 without a run.
func (a waits) overShare(limit float64) float64 {
	n := a.runs()
	if n <= 0 {
		return 0
	}
	within := 0.0
	for i, le := range a.le {
		if le <= limit {
			within = a.cum[i]
		}
	}
	return (n - within) / n
}

// schedLimit is the wait for a core the summary counts the runs beyond.
const schedLimit = 0.001

// figures are the summary's figures of the histogram.
func (a waits) figures() (runs int64, p50MS, p99MS, overLimit float64) {
	return int64(a.runs()), a.quantileMS(0.50), a.quantileMS(0.99), a.overShare(schedLimit)
}

// schedWaits says, for the summary and the report, how long each
// process's goroutines waited for a core.
func (s Summary) schedWaits() string {
	one := func(who string, runs int64, p50, p99, over float64) string {
		return fmt.Sprintf("%s p50 ≤ %.3g ms, p99 ≤ %.3g ms, %.1f%% of %d runs over 1 ms", who, p50, p99, 100*over, runs)
	}
	gen := one("generator", s.GeneratorSchedRuns, s.GeneratorSchedWaitP50MS, s.GeneratorSchedWaitP99MS, s.GeneratorSchedWaitOver1MSShare)
	if s.ServerSchedRuns == 0 {
		return gen + "; server not read"
	}
	return gen + "; " + one("server", s.ServerSchedRuns, s.ServerSchedWaitP50MS, s.ServerSchedWaitP99MS, s.ServerSchedWaitOver1MSShare)
}

// readGeneratorWaits reads this process's histogram.
func readGeneratorWaits() waits {
	s := []metrics.Sample{{Name: schedLatencies}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindFloat64Histogram {
		return waits{}
	}
	h := s[0].Value.Float64Histogram()
	// Bucket i holds the waits from Buckets[i] up to Buckets[i+1].
	w := waits{le: slices.Clone(h.Buckets[1:]), cum: make([]float64, len(h.Counts))}
	sum := 0.0
	for i, c := range h.Counts {
		sum += float64(c)
		w.cum[i] = sum
	}
	return w
}

// waitsOf is the server's histogram from its /metrics: its cumulative
// buckets by bound, the +Inf one last; empty when it has none.
func waitsOf(h *dto.Histogram) waits {
	bs := slices.SortedFunc(slices.Values(h.GetBucket()), func(a, b *dto.Bucket) int { return cmp.Compare(a.GetUpperBound(), b.GetUpperBound()) })
	var w waits
	for _, b := range bs {
		w.le = append(w.le, b.GetUpperBound())
		w.cum = append(w.cum, countOf(b.GetCumulativeCountFloat(), b.GetCumulativeCount()))
	}
	return w
}
