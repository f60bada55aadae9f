package rush

import (
	"math"
	"math/bits"
	"sync/atomic"
	"time"
)

// histogram records latencies in log-linear buckets (16 per power of two of
// microseconds, so any percentile is off by at most about 6%) with atomic
// counters: recording costs a few nanoseconds and never takes a lock, so the
// generator measures without becoming the bottleneck.
type histogram struct {
	counts [histBuckets]atomic.Int64
	n      atomic.Int64
	sumUS  atomic.Int64
	maxUS  atomic.Int64
}

const (
	histSub     = 16 // sub-buckets per power of two
	histPowers  = 38 // up to 2^38 µs, about 3 days
	histBuckets = histSub * histPowers
)

func bucketOf(us int64) int {
	if us < histSub {
		if us < 0 {
			return 0
		}
		return int(us)
	}
	p := bits.Len64(uint64(us)) - 1 // us in [2^p, 2^(p+1))
	sub := int((us >> (p - 4)) & (histSub - 1))
	b := (p-3)*histSub + sub
	if b >= histBuckets {
		return histBuckets - 1
	}
	return b
}

// bucketUpper is the largest value (µs) that falls into bucket b.
func bucketUpper(b int) int64 {
	if b < histSub {
		return int64(b)
	}
	p := b/histSub + 3
	sub := int64(b % histSub)
	lo := int64(1)<<p + sub<<(p-4)
	return lo + int64(1)<<(p-4) - 1
}

func (h *histogram) record(d time.Duration) {
	us := d.Microseconds()
	h.counts[bucketOf(us)].Add(1)
	h.n.Add(1)
	h.sumUS.Add(us)
	for {
		m := h.maxUS.Load()
		if us <= m || h.maxUS.CompareAndSwap(m, us) {
			break
		}
	}
}

// merge adds the counts of o into h.
func (h *histogram) merge(o *histogram) {
	for i := range o.counts {
		if c := o.counts[i].Load(); c != 0 {
			h.counts[i].Add(c)
		}
	}
	h.n.Add(o.n.Load())
	h.sumUS.Add(o.sumUS.Load())
	if m := o.maxUS.Load(); m > h.maxUS.Load() {
		h.maxUS.Store(m)
	}
}

// quantile returns the latency below which a fraction q of the recorded
// values fall, in milliseconds; 0 when nothing was recorded.
func (h *histogram) quantile(q float64) float64 {
	n := h.n.Load()
	if n == 0 {
		return 0
	}
	rank := int64(math.Ceil(q * float64(n)))
	if rank < 1 {
		rank = 1
	}
	var seen int64
	for b := range h.counts {
		seen += h.counts[b].Load()
		if seen >= rank {
			us := bucketUpper(b)
			if m := h.maxUS.Load(); us > m {
				us = m
			}
			return float64(us) / 1000
		}
	}
	return float64(h.maxUS.Load()) / 1000
}

func (h *histogram) count() int64 { return h.n.Load() }

func (h *histogram) meanMS() float64 {
	n := h.n.Load()
	if n == 0 {
		return 0
	}
	return float64(h.sumUS.Load()) / float64(n) / 1000
}

func (h *histogram) maxMS() float64 { return float64(h.maxUS.Load()) / 1000 }
