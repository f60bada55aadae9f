package http

import (
	"math"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/floodgate/floodgate"
	"github.com/floodgate/floodgate/sale"
)

// The figures of the operator console's live page and their Prometheus
// metrics: per-drop counters from the replicated state, and this node's
// recent API latency and error rate.

// LiveView is what the console's live page shows of one drop.
type LiveView struct {
	Drop           floodgate.Drop  `json:"drop"`
	Waiting        int64           `json:"waiting"`
	Admitted       int64           `json:"admitted"`
	JoinsPerSecond float64         `json:"joins_per_second"`
	AdmitPerSecond float64         `json:"admitted_per_second"` // observed, not the setting
	SoldPerSecond  float64         `json:"sold_per_second"`
	ETASeconds     *float64        `json:"eta_seconds"` // to sell-out at the recent pace; null when not selling
	ErrorRate      float64         `json:"error_rate"`  // share of this node's API answers that were 5xx, last 10 s
	P99Ms          float64         `json:"p99_ms"`      // this node's API latency, last 10 s
	RequestsPerSec float64         `json:"requests_per_second"`
	Timeline       []TimelinePoint `json:"timeline"` // the last points, for the moving charts
	At             time.Time       `json:"at"`
}

// liveWindow is how far back the live rates look.
const liveWindow = 5 * time.Second

// maxLivePoints bounds the timeline a live event carries.
const maxLivePoints = 240

// Live returns the live view of drop id as caller c may see it.
func (s *Server) Live(c floodgate.Caller, id string) (LiveView, error) {
	var lv LiveView
	now := s.cfg.Now()
	nowMs := now.UnixMilli()
	err := s.readDrop(c, id, func(_ *sale.State, d *sale.Drop) {
		lv.Drop = sale.PublicDrop(d, nowMs)
		lv.Waiting = max(0, d.Issued-d.AdmittedUpTo)
		lv.Admitted = d.AdmittedUpTo
		tl := d.Stats.Timeline
		if len(tl) > maxLivePoints {
			tl = tl[len(tl)-maxLivePoints:]
		}
		points := append(append([]sale.Point(nil), tl...), d.PointOf(nowMs))
		for _, p := range points {
			lv.Timeline = append(lv.Timeline, TimelinePoint{T: float64(p.At-d.Spec.StartsAt) / 1000, At: sale.Time(p.At), Joined: p.Issued, Admitted: p.Admitted, Held: p.Held, Sold: p.Sold})
		}
		// Rates over the last few seconds of the timeline.
		last := points[len(points)-1]
		first := last
		for i := len(points) - 1; i >= 0; i-- {
			first = points[i]
			if last.At-points[i].At >= liveWindow.Milliseconds() {
				break
			}
		}
		if dt := float64(last.At-first.At) / 1000; dt > 0 && last.At-first.At <= 3*liveWindow.Milliseconds() {
			lv.JoinsPerSecond = float64(last.Issued-first.Issued) / dt
			lv.AdmitPerSecond = float64(last.Admitted-first.Admitted) / dt
			lv.SoldPerSecond = float64(last.Sold-first.Sold) / dt
		}
		if lv.SoldPerSecond > 0 && !d.Closed {
			eta := float64(d.Available+d.Held+d.AwaitingPayment) / lv.SoldPerSecond
			lv.ETASeconds = &eta
		}
	})
	if err != nil {
		return LiveView{}, err
	}
	lv.RequestsPerSec, lv.ErrorRate, lv.P99Ms = s.recent.figures(now)
	lv.At = now.UTC()
	return lv, nil
}

// recentWindow keeps this node's API answers of the last seconds: counts,
// 5xx and a latency histogram per second, with atomics only, because every
// request passes through it.
type recentWindow struct {
	slots [recentSeconds]recentSlot
}

const (
	recentSeconds = 10
	latBuckets    = 48 // 0.1 ms × 1.25^i
)

type recentSlot struct {
	sec     atomic.Int64
	n, errs atomic.Uint64
	lat     [latBuckets]atomic.Uint32
}

func latBucket(d time.Duration) int {
	ms := float64(d.Microseconds()) / 1000
	if ms <= 0.1 {
		return 0
	}
	return min(latBuckets-1, int(math.Ceil(math.Log(ms/0.1)/math.Log(1.25))))
}

func latUpper(b int) float64 { return 0.1 * math.Pow(1.25, float64(b)) }

func (w *recentWindow) record(now time.Time, d time.Duration, failed bool) {
	sec := now.Unix()
	sl := &w.slots[sec%recentSeconds]
	if old := sl.sec.Load(); old != sec && sl.sec.CompareAndSwap(old, sec) {
		// A new second in this slot: forget the old one. Answers counted
		// by other goroutines in between are lost; a small error in a
		// figure meant for eyes.
		sl.n.Store(0)
		sl.errs.Store(0)
		for i := range sl.lat {
			sl.lat[i].Store(0)
		}
	}
	sl.n.Add(1)
	if failed {
		sl.errs.Add(1)
	}
	sl.lat[latBucket(d)].Add(1)
}

// figures returns requests per second, the 5xx share and the p99 latency
// (ms) over the complete seconds of the window.
func (w *recentWindow) figures(now time.Time) (rps, errRate, p99 float64) {
	cur := now.Unix()
	var n, errs uint64
	var lat [latBuckets]uint64
	for i := range w.slots {
		sl := &w.slots[i]
		if s := sl.sec.Load(); s >= cur || s < cur-recentSeconds {
			continue
		}
		n += sl.n.Load()
		errs += sl.errs.Load()
		for b := range lat {
			lat[b] += uint64(sl.lat[b].Load())
		}
	}
	if n == 0 {
		return 0, 0, 0
	}
	rank := uint64(math.Ceil(0.99 * float64(n)))
	var acc uint64
	for b, c := range lat {
		acc += c
		if acc >= rank {
			p99 = latUpper(b)
			break
		}
	}
	return float64(n) / recentSeconds, float64(errs) / float64(n), p99
}

// dropCollector exports every drop's figures with a drop label, read from
// the applied state at each scrape.
type dropCollector struct {
	st                                                        Store
	stock, available, held, awaiting, sold, waiting, paused   *prometheus.Desc
	joined, admitted, holds, expired, released, orders, refus *prometheus.Desc
}

func newDropCollector(st Store) *dropCollector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, append([]string{"drop"}, labels...), nil)
	}
	return &dropCollector{
		st:        st,
		stock:     d("floodgate_drop_stock_units", "Units on sale in the drop."),
		available: d("floodgate_drop_available_units", "Units neither held, awaiting payment nor sold."),
		held:      d("floodgate_drop_held_units", "Units in active holds."),
		awaiting:  d("floodgate_drop_awaiting_payment_units", "Units in orders awaiting payment."),
		sold:      d("floodgate_drop_sold_units", "Units in paid orders."),
		waiting:   d("floodgate_drop_waiting_visitors", "Visitors with a queue position, not admitted yet."),
		paused:    d("floodgate_drop_paused", "1 while an operator has paused admission."),
		joined:    d("floodgate_drop_joined_total", "Queue positions handed out."),
		admitted:  d("floodgate_drop_admitted_total", "Queue positions admitted."),
		holds:     d("floodgate_drop_holds_total", "Holds taken."),
		expired:   d("floodgate_drop_holds_expired_total", "Holds that expired unordered."),
		released:  d("floodgate_drop_holds_released_total", "Holds released by the buyer or by closing the drop."),
		orders:    d("floodgate_drop_orders_total", "Orders created."),
		refus:     d("floodgate_drop_refusals_total", "Refused holds, releases and orders, by error code.", "code"),
	}
}

func (c *dropCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.stock, c.available, c.held, c.awaiting, c.sold, c.waiting, c.paused, c.joined, c.admitted, c.holds, c.expired, c.released, c.orders, c.refus} {
		ch <- d
	}
}

// Collect sends the figures after it let go of the state: the registry
// takes them on a channel of 1,000, and while it reads a gauge that waits
// for the state (behind a write that waits for this reader) it takes none,
// so a collector that sent under the lock would stop the state machine.
func (c *dropCollector) Collect(ch chan<- prometheus.Metric) {
	var ms []prometheus.Metric
	c.st.Read(func(st *sale.State) {
		ms = make([]prometheus.Metric, 0, len(st.Drops)*13)
		for id, d := range st.Drops {
			g := func(desc *prometheus.Desc, v int64) {
				ms = append(ms, prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, float64(v), id))
			}
			n := func(desc *prometheus.Desc, v int64) {
				ms = append(ms, prometheus.MustNewConstMetric(desc, prometheus.CounterValue, float64(v), id))
			}
			paused := int64(0)
			if d.Paused {
				paused = 1
			}
			g(c.stock, d.Spec.Stock)
			g(c.available, d.Available)
			g(c.held, d.Held)
			g(c.awaiting, d.AwaitingPayment)
			g(c.sold, d.Sold)
			g(c.waiting, max(0, d.Issued-d.AdmittedUpTo))
			g(c.paused, paused)
			n(c.joined, d.Issued)
			n(c.admitted, d.AdmittedUpTo)
			n(c.holds, d.Stats.Holds)
			n(c.expired, d.Stats.HoldsExpired)
			n(c.released, d.Stats.HoldsReleased)
			n(c.orders, d.Stats.Orders)
			for code, v := range d.Stats.Refusals {
				ms = append(ms, prometheus.MustNewConstMetric(c.refus, prometheus.CounterValue, float64(v), id, code))
			}
		}
	})
	for _, m := range ms {
		ch <- m
	}
}

// SetConsole mounts the operator console at /admin (it needs the server
// itself, so it is set after New).
func (s *Server) SetConsole(h http.Handler) { s.console.Store(&h) }

func (s *Server) serveConsole(w http.ResponseWriter, r *http.Request) {
	if h := s.console.Load(); h != nil {
		(*h).ServeHTTP(w, r)
		return
	}
	http.NotFound(w, r)
}
