package rush

import (
	"math"
	"testing"
)

func TestWaitsFromBucketDifferences(t *testing.T) {
	inf := math.Inf(1)
	le := []float64{0.0001, 0.001, 0.01, inf}
	start := waits{le, []float64{5, 10, 10, 10}}
	for _, c := range []struct {
		name           string
		end            waits
		runs           float64
		p50, p99, over float64
	}{
		{"no run between", waits{le, []float64{5, 10, 10, 10}}, 0, 0, 0, 0},
		// 100 runs: 50 within 0.1 ms, 40 more within 1 ms, 9 within 10 ms, 1 beyond.
		{"spread", waits{le, []float64{55, 100, 109, 110}}, 100, 0.1, 10, 0.10},
		{"all beyond the last bound", waits{le, []float64{5, 10, 10, 14}}, 4, 10, 10, 1},
		{"other buckets", waits{le[:3], []float64{50, 60, 70}}, 0, 0, 0, 0},
	} {
		d := c.end.sub(start)
		if d.runs() != c.runs || d.quantileMS(0.50) != c.p50 || d.quantileMS(0.99) != c.p99 || math.Abs(d.overShare(schedLimit)-c.over) > 1e-12 {
			t.Errorf("%s: %g runs, p50 %g ms, p99 %g ms, %g over 1 ms; want %g, %g, %g, %g",
				c.name, d.runs(), d.quantileMS(0.50), d.quantileMS(0.99), d.overShare(schedLimit), c.runs, c.p50, c.p99, c.over)
		}
	}
	if w := (waits{}); w.runs() != 0 || w.quantileMS(0.99) != 0 || w.overShare(schedLimit) != 0 {
		t.Errorf("empty histogram: %g runs, p99 %g ms, %g over 1 ms", w.runs(), w.quantileMS(0.99), w.overShare(schedLimit))
	}
}

func TestWaitsParsedFromMetrics(t *testing.T) {
	m, err := parseMetrics([]byte(`# TYPE go_sched_latencies_seconds histogram
go_sched_latencies_seconds_bucket{le="0.01"} 7
go_sched_latencies_seconds_bucket{le="+Inf"} 8
go_sched_latencies_seconds_bucket{le="0.001"} 3
go_sched_latencies_seconds_sum 0.2
go_sched_latencies_seconds_count 8
`))
	if err != nil {
		t.Fatal(err)
	}
	w := waitsOf(histogramOf(m, schedFamily, "", ""))
	if len(w.le) != 3 || w.le[0] != 0.001 || !math.IsInf(w.le[2], 1) || w.cum[0] != 3 || w.runs() != 8 {
		t.Errorf("parsed %v, %v; want bounds 0.001, 0.01, +Inf with 3, 7, 8 runs", w.le, w.cum)
	}
	if g := readGeneratorWaits(); g.runs() <= 0 || len(g.le) != len(g.cum) {
		t.Errorf("this process's histogram: %d bounds, %d counts, %g runs", len(g.le), len(g.cum), g.runs())
	}
}
