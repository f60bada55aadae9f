// Package procmetrics registers the figures of a Floodgate process as a
// whole, beside its own: the Go runtime's and the operating system's.
package procmetrics

import (
	"regexp"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Register adds the Go runtime's and the process's collectors to r. Beyond
// the Go collector's defaults it exposes /sched/latencies:seconds as
// go_sched_latencies_seconds: how long goroutines were runnable before they
// ran, which tells a process short of cores (one sharing its machine, say)
// from a slow one. It costs only at a scrape.
func Register(r prometheus.Registerer) {
	r.MustRegister(
		collectors.NewGoCollector(collectors.WithGoCollectorRuntimeMetrics(
			collectors.GoRuntimeMetricsRule{Matcher: regexp.MustCompile(`^/sched/latencies:seconds$`)})),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
}
