package queue

import "github.com/prometheus/client_golang/prometheus"

// DefaultSignAhead is how many signatures with the ticket key the leader
// prepares ahead (Config.SignAhead; internal/presign): 65,536 nonces of 64
// bytes, 4 MiB, about a second of one core to prepare. Join tickets and
// order receipts take from the same pool. That covers most of an opening
// burst like the default rush's (80,000 joins within seconds); signatures
// beyond it are made in full, as they were without the pool; the pool
// refills in the next lull.
const DefaultSignAhead = 1 << 16

// MaxSignAhead bounds Config.SignAhead: 4,194,304 nonces, 256 MiB.
const MaxSignAhead = 1 << 22

// registerSignMetrics exports how tickets were signed on this node.
func (s *Service) registerSignMetrics(reg prometheus.Registerer) {
	keys := func(fn func(k *Keys) float64) func() float64 {
		return func() float64 {
			if ks := s.keys.Load(); ks != nil {
				return fn(ks.keys)
			}
			return 0
		}
	}
	reg.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "floodgate_ticket_signatures_prepared_total",
			Help: "Tickets signed with a nonce prepared ahead (--sign-ahead)."},
			keys(func(k *Keys) float64 { return float64(k.tickets.Prepared.Load()) })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "floodgate_ticket_signatures_inline_total",
			Help: "Tickets signed in full because no prepared nonce was left (not counted with --sign-ahead 0)."},
			keys(func(k *Keys) float64 { return float64(k.tickets.Inline.Load()) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "floodgate_ticket_nonces_ready",
			Help: "Nonces prepared ahead for the ticket key (tickets and receipts) and not used yet."},
			keys(func(k *Keys) float64 { return float64(k.ahead.Ready()) })),
	)
}
