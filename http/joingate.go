package http

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/floodgate/floodgate"
	"github.com/floodgate/floodgate/internal/api"
)

// The join gate: when the node is saturated, the visitors already in line
// (their status polls, /me, holds, sessions, orders) go before new
// arrivals. A waiting room under overload should keep serving the people it
// has and the buyers at checkout; newcomers wait at the door, in the order
// they came.
//
// The node counts as busy while at least JoinGateBusy requests of visitors
// in line are in flight: a node that keeps up answers them in well under a
// millisecond, so only a node that falls behind has many at once. While it
// is busy, a join (POST .../queue, POST .../entries) waits, first come first
// served, and goes in when
//   - the node stops being busy (every waiting join goes in), or
//   - JoinGateShare requests of visitors in line were answered since the
//     last join went in: joins keep a share of the node however many tickets
//     an attacker polls with, or
//   - it has waited JoinGateMaxWait (with every join that came before it).
//
// At most JoinGateMaxWaiting joins wait; beyond that a join is answered 429
// rate_limited with Retry-After, as a client expects of a busy door (a 5xx
// would count against the node's health). A client that goes away while it
// waits leaves the line. Joins forwarded by another node were gated there.
//
// Joins leave the gate in the order they came, so positions stay first come
// first served; an idle node pays two atomic loads per join and one atomic
// add and subtract per request in line.

// The defaults of the gate (http.Config).
const (
	DefaultJoinGateBusy       = 32
	DefaultJoinGateMaxWait    = time.Second
	DefaultJoinGateShare      = 3
	DefaultJoinGateMaxWaiting = 10000
)

type joinGate struct {
	busyAt     int64
	maxWait    time.Duration
	share      int64
	maxWaiting int

	inLine  atomic.Int64 // requests of visitors in line, in flight
	waiting atomic.Int64 // joins waiting: the fast paths read it without the lock

	mu     sync.Mutex
	line   []*gateWaiter // first come first
	credit int64         // requests in line answered while joins waited, toward the next join's turn

	joins    *prometheus.CounterVec
	waitTime prometheus.Observer
}

// gateWaiter is one join waiting at the door.
type gateWaiter struct {
	at    time.Time
	ready chan struct{} // closed when the join may go in
	in    bool          // let in (under the gate's lock)
}

// The outcomes of a join that found the node busy.
const (
	gateTurn    = "turn"    // went in on its turn: the node caught up, or the joins' share
	gateOverdue = "overdue" // went in at the bound
	gateRefused = "refused" // too many waiting: 429
	gateGone    = "gone"    // the client went away while it waited
)

// newJoinGate returns the gate, or nil when maxWait is negative (no gate).
// Zero values take the defaults.
func newJoinGate(busyAt int, maxWait time.Duration, share, maxWaiting int, reg prometheus.Registerer) *joinGate {
	if maxWait < 0 {
		return nil
	}
	if busyAt <= 0 {
		busyAt = DefaultJoinGateBusy
	}
	if maxWait == 0 {
		maxWait = DefaultJoinGateMaxWait
	}
	if share <= 0 {
		share = DefaultJoinGateShare
	}
	if maxWaiting <= 0 {
		maxWaiting = DefaultJoinGateMaxWaiting
	}
	g := &joinGate{busyAt: int64(busyAt), maxWait: maxWait, share: int64(share), maxWaiting: maxWaiting}
	f := promauto.With(reg)
	g.joins = f.NewCounterVec(prometheus.CounterOpts{
		Name: "floodgate_join_gate_joins_total",
		Help: "Joins that found the node busy with visitors in line, by outcome: turn (went in on their turn), overdue (at the bound), refused (429: too many waiting), gone (the client left).",
	}, []string{"outcome"})
	for _, o := range []string{gateTurn, gateOverdue, gateRefused, gateGone} {
		g.joins.WithLabelValues(o)
	}
	g.waitTime = f.NewHistogram(prometheus.HistogramOpts{
		Name:    "floodgate_join_gate_wait_seconds",
		Help:    "Time joins waited at the gate before they went in.",
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 12),
	})
	f.NewGaugeFunc(prometheus.GaugeOpts{Name: "floodgate_join_gate_waiting", Help: "Joins waiting at the gate."},
		func() float64 { return float64(g.waiting.Load()) })
	f.NewGaugeFunc(prometheus.GaugeOpts{Name: "floodgate_in_line_requests", Help: "Requests of visitors in line (status, me, holds, sessions, orders) in flight."},
		func() float64 { return float64(g.inLine.Load()) })
	return g
}

// enter counts a request of a visitor in line until its leave.
func (g *joinGate) enter() { g.inLine.Add(1) }

// leave ends a request of a visitor in line: while joins wait, it counts
// toward their share, or lets them all in if the node is no longer busy.
func (g *joinGate) leave() {
	n := g.inLine.Add(-1)
	if g.waiting.Load() == 0 {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.line) == 0 {
		return
	}
	if n < g.busyAt {
		g.letInLocked(len(g.line))
		return
	}
	g.credit++
	if g.credit >= g.share {
		g.credit = 0
		g.letInLocked(1)
	}
}

// letInLocked lets the first n waiting joins in.
func (g *joinGate) letInLocked(n int) {
	for _, w := range g.line[:n] {
		w.in = true
		close(w.ready)
	}
	clear(g.line[:n])
	g.line = g.line[n:]
	if len(g.line) == 0 {
		g.line = nil // let the array go
		g.credit = 0
	}
	g.waiting.Add(int64(-n))
}

// wait returns when a join may go in; an error (rate_limited) when too many
// wait or the client went away.
func (g *joinGate) wait(ctx context.Context) error {
	if g.waiting.Load() == 0 && g.inLine.Load() < g.busyAt {
		return nil
	}
	g.mu.Lock()
	// Counted before the node's load is read: a request in line that ends
	// meanwhile either sees this join waiting or leaves a load this join
	// sees as not busy (leave reads them in the other order).
	g.waiting.Add(1)
	if g.inLine.Load() < g.busyAt {
		g.waiting.Add(-1)
		if len(g.line) > 0 {
			g.letInLocked(len(g.line))
		}
		g.mu.Unlock()
		return nil
	}
	if len(g.line) >= g.maxWaiting {
		g.waiting.Add(-1)
		g.mu.Unlock()
		g.joins.WithLabelValues(gateRefused).Inc()
		return floodgate.Errorf(floodgate.ERateLimited, "Very many people are arriving at this moment; retry in a second.")
	}
	w := &gateWaiter{at: time.Now(), ready: make(chan struct{})}
	g.line = append(g.line, w)
	g.mu.Unlock()

	timer := time.NewTimer(g.maxWait)
	defer timer.Stop()
	outcome := gateTurn
	select {
	case <-w.ready:
	case <-timer.C:
		g.mu.Lock()
		if !w.in {
			// Every join ahead has waited longer: they go in with it.
			g.letInLocked(g.indexLocked(w) + 1)
			outcome = gateOverdue
		}
		g.mu.Unlock()
	case <-ctx.Done():
		g.mu.Lock()
		in := w.in
		if !in {
			i, last := g.indexLocked(w), len(g.line)-1
			copy(g.line[i:], g.line[i+1:])
			g.line[last] = nil
			g.line = g.line[:last]
			g.waiting.Add(-1)
		}
		g.mu.Unlock()
		g.joins.WithLabelValues(gateGone).Inc()
		return floodgate.Errorf(floodgate.ERateLimited, "The request was canceled while it waited to join.")
	}
	g.joins.WithLabelValues(outcome).Inc()
	g.waitTime.Observe(time.Since(w.at).Seconds())
	return nil
}

// indexLocked is w's place in the line; w must be in it.
func (g *joinGate) indexLocked(w *gateWaiter) int {
	for i, x := range g.line {
		if x == w {
			return i
		}
	}
	panic("join gate: a waiter is not in the line")
}

// gateJoin makes a join wait at the gate (see above). A join another node
// forwarded waited at that node's gate.
func (s *Server) gateJoin(h http.HandlerFunc) http.HandlerFunc {
	if s.gate == nil {
		return h
	}
	return func(w http.ResponseWriter, r *http.Request) {
		if info, ok := r.Context().Value(ctxRequest).(*requestInfo); !ok || !info.forwarded {
			if err := s.gate.wait(r.Context()); err != nil {
				api.WriteErrorRetry(w, err, 1)
				return
			}
		}
		h(w, r)
	}
}

// inLine counts a request of a visitor in line (status, me, holds,
// sessions, orders) while it runs, for the join gate. An event stream
// lasts as long as the wait and is not work in flight: it is not counted.
func (s *Server) inLine(h http.HandlerFunc) http.HandlerFunc {
	if s.gate == nil {
		return h
	}
	return func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.Header.Get("Accept"), "text/event-stream") {
			h(w, r)
			return
		}
		s.gate.enter()
		defer s.gate.leave()
		h(w, r)
	}
}
