package sink

import (
	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	lag       *prometheus.HistogramVec
	delivered prometheus.Counter
	failures  prometheus.Counter
	backlogs  *prometheus.GaugeVec
	deads     *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		lag: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "floodgate_sink_delivery_lag_seconds",
			Help:    "Time from an order event's commit to its delivery, per sink (on the leader).",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300},
		}, []string{"sink"}),
		delivered: prometheus.NewCounter(prometheus.CounterOpts{Name: "floodgate_sink_events_delivered_total", Help: "Order events delivered to sinks."}),
		failures:  prometheus.NewCounter(prometheus.CounterOpts{Name: "floodgate_sink_failures_total", Help: "Failed deliveries to sinks."}),
		backlogs:  prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "floodgate_sink_backlog_events", Help: "Events not yet delivered, per sink (on the leader)."}, []string{"sink"}),
		deads:     prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "floodgate_sink_dead", Help: "1 while a sink is dead-lettered (on the leader)."}, []string{"sink"}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.lag, m.delivered, m.failures, m.backlogs, m.deads} {
			_ = reg.Register(c)
		}
	}
	return m
}

func (m *metrics) backlog(id string, n uint64) { m.backlogs.WithLabelValues(id).Set(float64(n)) }

func (m *metrics) dead(id string, dead bool) {
	v := 0.0
	if dead {
		v = 1
	}
	m.deads.WithLabelValues(id).Set(v)
}

func (m *metrics) forget(id string) {
	m.backlogs.DeleteLabelValues(id)
	m.lag.DeleteLabelValues(id)
	m.deads.DeleteLabelValues(id)
}
