package queue

import (
	"errors"
	"hash/maphash"
	"math"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// AutoPolicy sets the difficulty of a drop whose challenge_difficulty is
// "auto". While the drop's joins are calm nobody pays. Under pressure the
// difficulty of a source (an IPv4 address, an IPv6 /64) follows how many
// joins it sent within about the last minute:
//
//   - up to Household joins: 0, no challenge (one person, a family);
//   - up to NAT joins: rising with the logarithm of the excess, two bits per
//     doubling, from 6 bits to NATBits at NAT joins (an office, a busy
//     carrier NAT: a phone solves NATBits in a fraction of a second);
//   - beyond NAT: one more bit for every NAT/8 joins, up to MaxDifficulty.
//     Past what people share an address for, the work per place doubles
//     with every few dozen more places, so a bot farm on a few addresses
//     pays exponentially more for each.
type AutoPolicy struct {
	// PressureRate is the drop's join rate (joins per second, averaged over
	// about ten seconds) from which the drop is under pressure.
	PressureRate float64
	Household    float64
	NAT          float64
	NATBits      int
	// SourceWindow is the time constant over which a source's joins are
	// counted; DropWindow the one of the drop's rate.
	SourceWindow time.Duration
	DropWindow   time.Duration
}

// DefaultAutoPolicy is the policy of "auto".
func DefaultAutoPolicy() AutoPolicy {
	return AutoPolicy{
		PressureRate: 5,
		Household:    8,
		NAT:          256,
		NATBits:      16,
		SourceWindow: time.Minute,
		DropWindow:   10 * time.Second,
	}
}

// Check refuses a policy that cannot work: pressure must start above zero
// joins a second, and a shared address (NAT) must be above a household.
func (p AutoPolicy) Check() error {
	if p.PressureRate <= 0 || p.Household < 0 || p.NAT <= p.Household {
		return errors.New("--challenge-pressure must be above 0, and --challenge-nat above --challenge-household")
	}
	return nil
}

// Difficulty is the difficulty for a source that sent joins joins recently,
// given the drop's join rate.
func (p AutoPolicy) Difficulty(dropRate, joins float64) int {
	if dropRate < p.PressureRate || joins <= p.Household {
		return 0
	}
	if joins <= p.NAT {
		// 6 bits just above a household, NATBits at NAT, log-linear between.
		span := math.Log2(p.NAT / p.Household)
		d := 6 + float64(p.NATBits-6)*math.Log2(joins/p.Household)/span
		return min(MaxDifficulty, int(math.Ceil(d)))
	}
	d := float64(p.NATBits) + (joins-p.NAT)/(p.NAT/8)
	return min(MaxDifficulty, int(math.Ceil(d)))
}

// sourceKey is the part of an address that counts as one source: IPv6
// clients get a /64 each, so one host cannot spread over its whole prefix.
func sourceKey(a netip.Addr) [16]byte {
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.Addr().As16()
	}
	return a.As16()
}

// decaying is an exponentially decaying count: each event adds one, and the
// count shrinks by e every window. It is packed into one uint64 (count as a
// float32, time in centiseconds since the counter's epoch) so that updating
// it is one compare-and-swap.
type decaying struct{ v atomic.Uint64 }

func unpack(v uint64) (count float64, at int64) {
	return float64(math.Float32frombits(uint32(v >> 32))), int64(uint32(v))
}

func pack(count float64, at int64) uint64 {
	return uint64(math.Float32bits(float32(count)))<<32 | uint64(uint32(at))
}

// decay returns count aged from at to now (centiseconds) over window.
func decay(count float64, at, now int64, window time.Duration) float64 {
	dt := now - at
	if dt <= 0 || count == 0 {
		return count
	}
	return count * math.Exp(-float64(dt)*1e7/float64(window))
}

// add adds n at now and returns the new count.
func (d *decaying) add(n float64, now int64, window time.Duration) float64 {
	for {
		old := d.v.Load()
		c, at := unpack(old)
		if now < at {
			now = at
		}
		c = decay(c, at, now, window) + n
		if d.v.CompareAndSwap(old, pack(c, now)) {
			return c
		}
	}
}

// The sources are counted in a count-min sketch: pressureRows rows of
// pressureSlots counters, 2 MiB in all whatever the crowd. A source adds
// to one counter in each row, chosen by independent bits of one hash, and
// its count is the smallest of them. A counter shared with a busy source
// only ever counts more, so a source is overcounted only when every one of
// its counters is shared with busy sources: with b busy addresses (a bot
// farm), about (b/pressureSlots)^2 of the visitors, against
// b/(2*pressureSlots) with one table of the same size. With four bot
// addresses, one visitor in 65 thousand paid in one table (a rush of 5,000
// visitors challenged one of them in 7% of runs); here one in a billion.
const (
	pressureRows  = 2
	pressureSlots = 1 << 17
)

// pressure tracks join pressure per source and per drop for "auto".
type pressure struct {
	policy AutoPolicy
	epoch  time.Time
	seed   maphash.Seed
	rows   [pressureRows][]decaying
	drops  sync.Map // drop id → *decaying
}

func newPressure(p AutoPolicy) *pressure {
	pr := &pressure{policy: p, epoch: time.Now().Add(-time.Minute), seed: maphash.MakeSeed()}
	for i := range pr.rows {
		pr.rows[i] = make([]decaying, pressureSlots)
	}
	return pr
}

func (p *pressure) centis(now time.Time) int64 { return now.Sub(p.epoch).Milliseconds() / 10 }

func (p *pressure) drop(id string) *decaying {
	if d, ok := p.drops.Load(id); ok {
		return d.(*decaying)
	}
	d, _ := p.drops.LoadOrStore(id, &decaying{})
	return d.(*decaying)
}

// slots are the counters of src, one in each row.
func (p *pressure) slots(src netip.Addr) [pressureRows]uint32 {
	k := sourceKey(src)
	h := maphash.Bytes(p.seed, k[:])
	return [pressureRows]uint32{uint32(h) % pressureSlots, uint32(h>>32) % pressureSlots}
}

// source adds n joins of src at t and returns its count: the smallest of
// its counters.
func (p *pressure) source(src netip.Addr, n float64, t int64) float64 {
	count := math.Inf(1)
	for row, i := range p.slots(src) {
		count = min(count, p.rows[row][i].add(n, t, p.policy.SourceWindow))
	}
	return count
}

// join counts one join attempt of src for drop at now and returns the
// difficulty it must pay.
func (p *pressure) join(drop string, src netip.Addr, now time.Time) int {
	t := p.centis(now)
	dc := p.drop(drop).add(1, t, p.policy.DropWindow)
	return p.policy.Difficulty(dc/p.policy.DropWindow.Seconds(), p.source(src, 1, t))
}

// peek is the difficulty src would pay for drop at now, without counting.
func (p *pressure) peek(drop string, src netip.Addr, now time.Time) int {
	t := p.centis(now)
	dc := p.drop(drop).add(0, t, p.policy.DropWindow)
	return p.policy.Difficulty(dc/p.policy.DropWindow.Seconds(), p.source(src, 0, t))
}
