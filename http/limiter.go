package http

import (
	"hash/maphash"
	"math"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/floodgate/floodgate/internal/clientaddr"
)

// limiter limits requests per client IP with the generic cell rate
// algorithm (GCRA) over a fixed table of slots: each address hashes to one
// slot holding its "theoretical arrival time". Memory is fixed whatever the
// number of visitors (a million waiting visitors cost nothing more), and a
// check is one atomic compare-and-swap. Addresses that share a slot share a
// limit; with limiterSlots slots that is rare and only ever stricter.
type limiter struct {
	interval  int64 // nanoseconds between two requests at the sustained rate
	tolerance int64 // how far ahead of now the arrival time may run (the burst)
	seed      maphash.Seed
	slots     []atomic.Int64
	epoch     time.Time
}

// limiterSlots is the size of the table: 4 MiB of int64s.
const limiterSlots = 1 << 19

func newLimiter(perSecond float64, burst int) *limiter {
	if perSecond <= 0 {
		perSecond = math.SmallestNonzeroFloat64
	}
	interval := int64(float64(time.Second) / perSecond)
	if interval < 1 {
		interval = 1
	}
	if burst < 1 {
		burst = 1
	}
	return &limiter{
		interval:  interval,
		tolerance: interval * int64(burst-1),
		seed:      maphash.MakeSeed(),
		slots:     make([]atomic.Int64, limiterSlots),
		// Arrival times are kept relative to the limiter's start, so that
		// the zero value of a slot means "long ago".
		epoch: time.Now().Add(-time.Hour),
	}
}

func (l *limiter) allow(ip netip.Addr) bool {
	return l.allowAt(ip, time.Since(l.epoch).Nanoseconds())
}

func (l *limiter) allowAt(ip netip.Addr, now int64) bool {
	b := addrGroup(ip).As16()
	return l.allowSlot(&l.slots[maphash.Bytes(l.seed, b[:])%limiterSlots], now)
}

// allowKey limits by any key, such as a ticket, instead of an address.
func (l *limiter) allowKey(key string) bool {
	return l.allowSlot(&l.slots[maphash.String(l.seed, key)%limiterSlots], time.Since(l.epoch).Nanoseconds())
}

func (l *limiter) allowSlot(slot *atomic.Int64, now int64) bool {
	for {
		old := slot.Load()
		tat := max(old, now)
		if tat-now > l.tolerance {
			return false
		}
		if slot.CompareAndSwap(old, tat+l.interval) {
			return true
		}
	}
}

// The defaults of the per-address ceilings. They are meant never to touch
// people: 200 buyers behind one carrier NAT joining at the same moment fit
// in the burst, and hundreds of them waiting fit in the rates. What stops a
// bot farm is the join challenge, not these.
const (
	DefaultJoinRate     = 50   // joins per second per address
	DefaultJoinBurst    = 500  // joins at once per address
	DefaultStreamsPerIP = 1024 // open event streams per address
	// IPFactor: an address gets this many tickets' worth of API requests.
	IPFactor = 20
	// DefaultConnsPerIP caps open connections per address.
	DefaultConnsPerIP = 4096
)

// LoopbackProxies are always trusted for X-Forwarded-For: a reverse proxy on
// the same host (Caddy, nginx) is the common way to run Floodgate behind TLS.
var LoopbackProxies = clientaddr.Loopback

// addrGroup is the unit an address is limited as (clientaddr.Group).
func addrGroup(ip netip.Addr) netip.Addr { return clientaddr.Group(ip) }
