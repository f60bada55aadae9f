package sale

import (
	"sort"

	"github.com/floodgate/floodgate"
	"github.com/floodgate/floodgate/internal/kendall"
)

// Per-drop figures for the report and the console, kept by the state
// machine itself so that every replica counts the same.

// MaxTimeline is how many points a drop's timeline keeps; past it, every
// other point is dropped, so a long sale keeps its whole span at a coarser
// resolution.
const MaxTimeline = 2000

// DropStats counts what happened in a drop.
type DropStats struct {
	StartedAt     int64            `json:"started_at,omitempty"` // the tick that opened it (unix ms)
	SoldOutAt     int64            `json:"sold_out_at,omitempty"`
	ClosedAt      int64            `json:"closed_at,omitempty"`
	Holds         int64            `json:"holds"` // holds taken
	HoldsExpired  int64            `json:"holds_expired"`
	HoldsReleased int64            `json:"holds_released"`
	Orders        int64            `json:"orders"`
	Refusals      map[string]int64 `json:"refusals,omitempty"` // refused holds, releases and orders by error code
	Timeline      []Point          `json:"timeline,omitempty"`
}

// Point is the cumulative counters of a drop at one moment (unix ms): queue
// positions handed out, admitted, units held and sold.
type Point struct {
	At       int64 `json:"t"`
	Issued   int64 `json:"i"`
	Admitted int64 `json:"a"`
	Held     int64 `json:"h"`
	Sold     int64 `json:"s"`
}

// PointOf returns d's counters at now.
func (d *Drop) PointOf(now int64) Point {
	return Point{At: now, Issued: d.Issued, Admitted: d.AdmittedUpTo, Held: d.Held, Sold: d.Sold}
}

// record appends a point to the timeline when a counter moved.
func (d *Drop) record(now int64) {
	p := d.PointOf(now)
	tl := d.Stats.Timeline
	if n := len(tl); n > 0 {
		last := tl[n-1]
		if last.Issued == p.Issued && last.Admitted == p.Admitted && last.Held == p.Held && last.Sold == p.Sold {
			return
		}
		if p.At < last.At {
			p.At = last.At // a new leader's clock a little behind
		}
	}
	tl = append(tl, p)
	if len(tl) > MaxTimeline {
		out := tl[:0]
		for i := range tl {
			if i%2 == 1 || i == len(tl)-1 {
				out = append(out, tl[i])
			}
		}
		tl = out
	}
	d.Stats.Timeline = tl
}

// countRefusal counts a refused buyer command against its drop.
func (s *State) countRefusal(c *Command, code string) {
	var d *Drop
	switch c.Kind {
	case KindHold:
		d = s.Drops[c.Drop]
	case KindRelease, KindOrder:
		if h := s.Holds.Get(c.HoldID); h != nil {
			d = s.Drops[h.Drop]
		}
	}
	if d == nil {
		return
	}
	if d.Stats.Refusals == nil {
		d.Stats.Refusals = map[string]int64{}
	}
	d.Stats.Refusals[code]++
}

// WaitPercentiles returns the wait from joining the queue (or from the
// opening, for early arrivals) to admission, in seconds, at the quantiles
// qs, over every admitted position. The resolution is the timeline's: one
// tick while the timeline is short. ok is false before anyone is admitted.
func (d *Drop) WaitPercentiles(qs ...float64) (out []float64, ok bool) {
	type seg struct{ wait, n int64 }
	var segs []seg
	tl := d.Stats.Timeline
	var total int64
	// ji walks the points for join times, ai for admission times.
	ji := 0
	var prevAdmitted int64
	for _, ap := range tl {
		for pos := prevAdmitted; pos < ap.Admitted; {
			var joined, end int64
			if pos < d.EarlyTotal {
				joined, end = d.Stats.StartedAt, min(ap.Admitted, d.EarlyTotal)
			} else {
				for ji < len(tl) && tl[ji].Issued <= pos {
					ji++
				}
				if ji == len(tl) {
					joined, end = ap.At, ap.Admitted
				} else {
					joined, end = tl[ji].At, min(ap.Admitted, tl[ji].Issued)
				}
			}
			segs = append(segs, seg{max(0, ap.At-joined), end - pos})
			total += end - pos
			pos = end
		}
		prevAdmitted = max(prevAdmitted, ap.Admitted)
	}
	if total == 0 {
		return make([]float64, len(qs)), false
	}
	sort.Slice(segs, func(i, j int) bool { return segs[i].wait < segs[j].wait })
	for _, q := range qs {
		rank := int64(q * float64(total))
		if rank >= total {
			rank = total - 1
		}
		var acc int64
		for _, sg := range segs {
			acc += sg.n
			if acc > rank {
				out = append(out, float64(sg.wait)/1000)
				break
			}
		}
	}
	return out, true
}

// MaxFairnessSample bounds the visitors the fairness figures look at.
const MaxFairnessSample = 1_000_000

// Fairness returns Kendall's tau between arrival order and admission order
// over the admitted visitors (1 is first come, first served; the early
// arrivals' shuffle lowers it on purpose), and tau over the early arrivals
// alone (about 0 when the shuffle is fair), with the counts behind each.
func (d *Drop) Fairness() (tau float64, n int, earlyTau float64, early int) {
	if !d.Started {
		return 0, 0, 0, 0
	}
	// Early arrivals in arrival order, with their positions.
	var earlyPos []int64
	for seq := int64(0); seq < d.EarlyTotal && len(earlyPos) < MaxFairnessSample; seq++ {
		earlyPos = append(earlyPos, Permute(d.Seed, uint64(seq), uint64(d.EarlyTotal)))
	}
	earlyTau = kendall.Tau(earlyPos)
	early = len(earlyPos)
	// Admitted visitors in arrival order: the admitted early ones, then the
	// late ones, whose positions follow their arrival.
	var adm []int64
	for _, p := range earlyPos {
		if p < d.AdmittedUpTo {
			adm = append(adm, p)
		}
	}
	for pos := d.EarlyTotal; pos < d.AdmittedUpTo && len(adm) < MaxFairnessSample; pos++ {
		adm = append(adm, pos)
	}
	return kendall.Tau(adm), len(adm), earlyTau, early
}

// refusalCode is the code of a refusal, for counting.
func refusalCode(err *floodgate.Error) string {
	if err == nil {
		return ""
	}
	return err.Code
}

// noteSold records the moment a drop sells its last unit.
func (d *Drop) noteSold(now int64) {
	if d.Sold >= d.Spec.Stock && d.Stats.SoldOutAt == 0 {
		d.Stats.SoldOutAt = now
		d.record(now)
	}
}
