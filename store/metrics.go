package store

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

type metrics struct {
	batchSize    prometheus.Histogram
	applyLatency prometheus.Histogram
	fsmApply     prometheus.Histogram
	commands     prometheus.Counter
	isLeader     prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) *metrics {
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	f := promauto.With(reg)
	return &metrics{
		batchSize: f.NewHistogram(prometheus.HistogramOpts{
			Name:    "floodgate_raft_batch_commands",
			Help:    "Commands carried by one Raft log entry (group commit).",
			Buckets: prometheus.ExponentialBuckets(1, 2, 14),
		}),
		applyLatency: f.NewHistogram(prometheus.HistogramOpts{
			Name:    "floodgate_raft_apply_seconds",
			Help:    "Time from proposing a batch to its commit and apply.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
		fsmApply: f.NewHistogram(prometheus.HistogramOpts{
			Name:    "floodgate_fsm_apply_seconds",
			Help:    "Time the state machine took to apply one log entry and answer its callers.",
			Buckets: prometheus.ExponentialBuckets(0.00002, 2, 14),
		}),
		commands: f.NewCounter(prometheus.CounterOpts{
			Name: "floodgate_commands_applied_total",
			Help: "Commands applied to the sale state machine.",
		}),
		isLeader: f.NewGauge(prometheus.GaugeOpts{
			Name: "floodgate_raft_leader",
			Help: "1 when this node is the Raft leader.",
		}),
	}
}

func (m *metrics) applied(n int, took time.Duration) {
	m.commands.Add(float64(n))
	m.fsmApply.Observe(took.Seconds())
}
