package rush

import (
	"math"
	"sync/atomic"
	"time"
)

// timelineStep is the resolution of the timeline the report draws; the
// summary's Timeline adds four steps into one second.
const timelineStep = 250 * time.Millisecond

// timeline counts, per 250 ms from before the first arrival to past the
// deadline, the requests answered per endpoint (when the answer came), the
// admissions the visitors learnt of and the orders they got, the highest
// admitted_up_to the drop monitor read, and the longest a visitor's request
// waited for a slot in the generator (joins apart from the requests of
// visitors already in line). It shows where a rush spends its time:
// which requests fill the opening, how long after the server admitted them
// buyers noticed, and when the generator, not the server, set the pace.
type timeline struct {
	origin time.Time
	first  int // the step of index 0, counted from the opening (negative before it)
	steps  []timelineCounts
}

type timelineCounts struct {
	requests       [numEndpoints]atomic.Int64
	admitted       atomic.Int64
	ordered        atomic.Int64
	serverAdmitted atomic.Int64 // the highest admitted_up_to read in the step; 0 for none
	waitMaxMicros  atomic.Int64 // status polls and buying requests
	joinWaitMicros atomic.Int64 // joins
}

// newTimeline covers [from, to] around origin (the opening).
func newTimeline(origin time.Time, from, to time.Duration) *timeline {
	first := int(math.Floor(float64(from) / float64(timelineStep)))
	last := int(math.Ceil(float64(to) / float64(timelineStep)))
	return &timeline{origin: origin, first: first, steps: make([]timelineCounts, max(1, last-first+1))}
}

// at returns the counts of the step at, or nil outside the timeline (and
// for a nil timeline: the client counts nothing before the drop exists).
func (t *timeline) at(at time.Time) *timelineCounts {
	if t == nil {
		return nil
	}
	d := at.Sub(t.origin)
	i := int(d/timelineStep) - t.first
	if d < 0 && d%timelineStep != 0 {
		i-- // round toward the earlier step
	}
	if i < 0 || i >= len(t.steps) {
		return nil
	}
	return &t.steps[i]
}

func (t *timeline) request(ep endpoint, at time.Time) {
	if c := t.at(at); c != nil {
		c.requests[ep].Add(1)
	}
}

func (t *timeline) admit(at time.Time) {
	if c := t.at(at); c != nil {
		c.admitted.Add(1)
	}
}

func (t *timeline) order(at time.Time) {
	if c := t.at(at); c != nil {
		c.ordered.Add(1)
	}
}

// serverAdmittedUpTo records what the drop said at: how far admission had
// gone.
func (t *timeline) serverAdmittedUpTo(at time.Time, upTo int64) {
	if c := t.at(at); c != nil {
		storeMax(&c.serverAdmitted, upTo)
	}
}

// waited records the time a request waited for a slot in the generator:
// a join's, or that of a visitor already in line.
func (t *timeline) waited(at time.Time, d time.Duration, join bool) {
	if c := t.at(at); c != nil {
		if join {
			storeMax(&c.joinWaitMicros, d.Microseconds())
		} else {
			storeMax(&c.waitMaxMicros, d.Microseconds())
		}
	}
}

func storeMax(a *atomic.Int64, v int64) {
	for {
		old := a.Load()
		if v <= old || a.CompareAndSwap(old, v) {
			return
		}
	}
}

// Timeline is the rush second by second: index i covers the second from
// Start+i to Start+i+1 since the opening. It starts with the second of the
// first arrival and ends with the last second in which anything happened.
type Timeline struct {
	Start int `json:"start"` // seconds since the opening (negative: before it)
	// Requests answered in each second, per endpoint. Bots' joins and polls
	// count under join and status; other is the bots' forged and premature
	// tickets, the drop monitor and admin calls.
	Join    []int64 `json:"join"`
	Status  []int64 `json:"status"`
	Hold    []int64 `json:"hold"`
	Session []int64 `json:"session"`
	Order   []int64 `json:"order"`
	Other   []int64 `json:"other"`
	// ServerAdmitted is how many positions the server admitted in each
	// second (the rise of the drop's admitted_up_to, as the monitor read it
	// every 250 ms); Admitted how many visitors learnt in it that they were
	// admitted; Ordered how many orders visitors were confirmed.
	ServerAdmitted []int64 `json:"server_admitted"`
	Admitted       []int64 `json:"admitted"`
	Ordered        []int64 `json:"ordered"`
	// WaitMaxMS is the longest a request of a visitor already in line (a
	// status poll, a hold, a session, an order) that got its slot in the
	// second had waited for it in the generator, in milliseconds: what the
	// generator added to the time buyers took to learn of their admission
	// and to buy. JoinWaitMaxMS is the same for joins, which have a lane of
	// their own.
	WaitMaxMS     []float64 `json:"wait_max_ms"`
	JoinWaitMaxMS []float64 `json:"join_wait_max_ms"`
}

// timelineRow is one step of the timeline, read out.
type timelineRow struct {
	t                float64 // seconds since the opening at the step's start
	requests         [numEndpoints]int64
	serverAdmitted   int64 // positions admitted in the step
	admitted         int64
	ordered          int64
	waitMaxMS        float64
	joinWaitMaxMS    float64
	serverAdmittedAt int64 // admitted_up_to at the step's end, carried forward
}

// rows reads the steps from the first in which anything happened to the
// last, grouped by per (1 for the 250 ms steps, 4 for seconds). Groups are
// aligned to the opening.
func (t *timeline) rows(per int) []timelineRow {
	if t == nil {
		return nil
	}
	var all []timelineRow
	var upTo int64
	for i := range t.steps {
		c := &t.steps[i]
		r := timelineRow{t: float64(t.first+i) * timelineStep.Seconds()}
		for ep := range r.requests {
			r.requests[ep] = c.requests[ep].Load()
		}
		if v := c.serverAdmitted.Load(); v > upTo {
			r.serverAdmitted, upTo = v-upTo, v
		}
		r.serverAdmittedAt = upTo
		r.admitted, r.ordered = c.admitted.Load(), c.ordered.Load()
		r.waitMaxMS = float64(c.waitMaxMicros.Load()) / 1000
		r.joinWaitMaxMS = float64(c.joinWaitMicros.Load()) / 1000
		all = append(all, r)
	}
	var out []timelineRow
	for i := 0; i < len(all); {
		// The group of step first+i ends at the next multiple of per.
		n := per - mod(t.first+i, per)
		g := all[i]
		g.t = float64(floorDiv(t.first+i, per)*per) * timelineStep.Seconds()
		for _, r := range all[i+1 : min(i+n, len(all))] {
			for ep := range g.requests {
				g.requests[ep] += r.requests[ep]
			}
			g.serverAdmitted += r.serverAdmitted
			g.admitted += r.admitted
			g.ordered += r.ordered
			g.waitMaxMS = max(g.waitMaxMS, r.waitMaxMS)
			g.joinWaitMaxMS = max(g.joinWaitMaxMS, r.joinWaitMaxMS)
			g.serverAdmittedAt = r.serverAdmittedAt
		}
		out = append(out, g)
		i += n
	}
	busy := func(r timelineRow) bool {
		if r.admitted != 0 || r.ordered != 0 || r.serverAdmitted != 0 {
			return true
		}
		for _, n := range r.requests {
			if n != 0 {
				return true
			}
		}
		return false
	}
	lo, hi := 0, len(out)
	for lo < hi && !busy(out[lo]) {
		lo++
	}
	for hi > lo && !busy(out[hi-1]) {
		hi--
	}
	return out[lo:hi]
}

func mod(a, b int) int { return a - floorDiv(a, b)*b }

func floorDiv(a, b int) int {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// summary is the timeline by the second, for the JSON summary.
func (t *timeline) summary() *Timeline {
	rows := t.rows(int(time.Second / timelineStep))
	if len(rows) == 0 {
		return nil
	}
	tl := &Timeline{Start: int(math.Round(rows[0].t))}
	for _, r := range rows {
		tl.Join = append(tl.Join, r.requests[epJoin])
		tl.Status = append(tl.Status, r.requests[epStatus])
		tl.Hold = append(tl.Hold, r.requests[epHold])
		tl.Session = append(tl.Session, r.requests[epSession])
		tl.Order = append(tl.Order, r.requests[epOrder])
		tl.Other = append(tl.Other, r.requests[epSSE]+r.requests[epForged]+r.requests[epDrop]+r.requests[epAdmin])
		tl.ServerAdmitted = append(tl.ServerAdmitted, r.serverAdmitted)
		tl.Admitted = append(tl.Admitted, r.admitted)
		tl.Ordered = append(tl.Ordered, r.ordered)
		tl.WaitMaxMS = append(tl.WaitMaxMS, math.Round(r.waitMaxMS*10)/10)
		tl.JoinWaitMaxMS = append(tl.JoinWaitMaxMS, math.Round(r.joinWaitMaxMS*10)/10)
	}
	return tl
}
