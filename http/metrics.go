package http

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/floodgate/floodgate"
	"github.com/floodgate/floodgate/internal/api"
	"github.com/floodgate/floodgate/sale"
)

type metrics struct {
	requests     *prometheus.CounterVec
	latency      *prometheus.HistogramVec
	joins        prometheus.Counter
	joinsLimited prometheus.Counter
	holds        prometheus.Counter
	orders       prometheus.Counter
	sseStreams   prometheus.Gauge
	routes       sync.Map // route -> *routeMetrics
}

func newMetrics(reg *prometheus.Registry, st Store, now func() time.Time) *metrics {
	f := promauto.With(reg)
	m := &metrics{
		requests: f.NewCounterVec(prometheus.CounterOpts{
			Name: "floodgate_http_requests_total", Help: "HTTP requests by route and status code.",
		}, []string{"route", "code"}),
		latency: f.NewHistogramVec(prometheus.HistogramOpts{
			Name: "floodgate_http_request_seconds", Help: "HTTP request latency by route.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 18),
		}, []string{"route"}),
		joins:        f.NewCounter(prometheus.CounterOpts{Name: "floodgate_queue_joins_total", Help: "Tickets handed out."}),
		joinsLimited: f.NewCounter(prometheus.CounterOpts{Name: "floodgate_queue_joins_limited_total", Help: "Queue joins refused by the per-IP limit."}),
		holds:        f.NewCounter(prometheus.CounterOpts{Name: "floodgate_holds_created_total", Help: "Holds created through this node."}),
		orders:       f.NewCounter(prometheus.CounterOpts{Name: "floodgate_orders_created_total", Help: "Orders created through this node."}),
		sseStreams:   f.NewGauge(prometheus.GaugeOpts{Name: "floodgate_sse_streams", Help: "Open queue event streams."}),
	}
	gauge := func(name, help string, fn func(d *sale.Drop) float64) {
		f.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, func() float64 {
			var v float64
			st.Read(func(s *sale.State) {
				for _, d := range s.Drops {
					v += fn(d)
				}
			})
			return v
		})
	}
	gauge("floodgate_stock_available", "Units available, all drops.", func(d *sale.Drop) float64 { return float64(d.Available) })
	gauge("floodgate_stock_held", "Units held, all drops.", func(d *sale.Drop) float64 { return float64(d.Held) })
	gauge("floodgate_stock_sold", "Units sold, all drops.", func(d *sale.Drop) float64 { return float64(d.Sold) })
	gauge("floodgate_holds_active", "Active holds, all drops.", func(d *sale.Drop) float64 { return float64(d.Active.Len()) })
	gauge("floodgate_queue_waiting", "Visitors handed a position and not yet admitted, all drops.", func(d *sale.Drop) float64 {
		return float64(max(0, d.Issued-d.AdmittedUpTo))
	})
	f.NewGaugeFunc(prometheus.GaugeOpts{Name: "floodgate_orders", Help: "Orders committed, all drops."}, func() float64 {
		var v float64
		st.Read(func(s *sale.State) { v = float64(s.Orders.Len()) })
		return v
	})
	return m
}

// routeMetrics are the children of one route, looked up once: resolving
// label values hashes them on every call, which shows at 50,000 requests/s.
type routeMetrics struct {
	latency prometheus.Observer
	codes   sync.Map // int -> prometheus.Counter
}

func (m *metrics) observe(route string, status int, d time.Duration) {
	if route == "" {
		route = "other"
	}
	rm, ok := m.routes.Load(route)
	if !ok {
		rm, _ = m.routes.LoadOrStore(route, &routeMetrics{latency: m.latency.WithLabelValues(route)})
	}
	r := rm.(*routeMetrics)
	r.latency.Observe(d.Seconds())
	c, ok := r.codes.Load(status)
	if !ok {
		c, _ = r.codes.LoadOrStore(status, m.requests.WithLabelValues(route, strconv.Itoa(status)))
	}
	c.(prometheus.Counter).Inc()
}

func writeUnavailable(w http.ResponseWriter) {
	api.WriteErrorRetry(w, floodgate.Errorf(floodgate.EUnavailable, "The leader could not be reached; retry in a moment."), 1)
}
