package sale

import (
	"slices"
	"sort"
)

// Early gaps: early indexes a lost leader reserved but, as far as the log
// knows, never handed out.
//
// Before a drop opens, the leader hands out early indexes from blocks it
// reserves (ReserveBlock with Early) and reports in every tick how far it
// got. A leader lost before the opening leaves the rest of its block
// reserved; at the opening those indexes are shuffled among the real early
// arrivals like any other, and without more they would be admitted like
// visitors who never come, taking admission capacity for a whole window.
// They are skipped instead, as the late gaps after a failover are:
//
//   - EarlyIssued is how far the early indexes are accounted for: below it,
//     every index was reported as handed out or is in an early gap.
//   - A new leader's first early block (Fresh) records [EarlyIssued,
//     EarlyNext) as a gap: reserved by an earlier leader, never reported.
//     So does an opening reported by a leader with no early block of its own
//     (Issued.Early < 0: it does not know what earlier leaders handed out).
//   - At the opening the gaps become the positions they were shuffled to
//     (EarlySkip, ascending), and admission passes over those without
//     counting them against the rate or the stock: one admission step
//     reaches the same number of real visitors as without gaps.
//
// Fairness is untouched: every early index keeps the position the committed
// seed gives it, so the real early arrivals stay in random order and nobody
// moves ahead of anyone. A visitor who does hold an index of a gap (handed
// out by the lost leader after its last report) keeps that position and is
// admitted as soon as the counter passes it, like a visitor in a late gap.
type DropEarly struct {
	EarlyIssued int64   `json:"early_issued,omitempty"`
	EarlyGaps   []Gap   `json:"early_gaps,omitempty"` // early index ranges, until the opening
	EarlySkip   []int64 `json:"early_skip,omitempty"` // positions admission passes over, ascending
	// EarlySkipped counts the positions admission passed over.
	EarlySkipped int64 `json:"early_skipped,omitempty"`
}

// maxEarlySkip bounds EarlySkip; gap indexes beyond it (only after many
// leaders lost before one opening with huge blocks) are admitted as before,
// as visitors who do not come.
const maxEarlySkip = 1 << 17

// noteEarlyIssued records a leader's report of early indexes handed out
// (negative: the leader has no early block of its own and does not know).
func (d *Drop) noteEarlyIssued(early int64) {
	if early >= 0 {
		d.EarlyIssued = max(d.EarlyIssued, min(early, d.EarlyNext))
	}
}

// earlyGap records the early indexes reserved but never reported as a gap.
func (d *Drop) earlyGap() {
	if d.EarlyNext > d.EarlyIssued {
		d.EarlyGaps = append(d.EarlyGaps, Gap{From: d.EarlyIssued, To: d.EarlyNext})
	}
	d.EarlyIssued = d.EarlyNext
}

// openEarly turns the early gaps into the positions admission skips, once
// the drop has opened (EarlyTotal and Seed are fixed). unknown is set when
// the opening leader reported no early block of its own.
func (d *Drop) openEarly(unknown bool) {
	if d.IsDraw() {
		// A draw's entries are committed one by one: none is a phantom.
		d.EarlyGaps = nil
		return
	}
	if unknown {
		d.earlyGap()
	}
	if len(d.EarlyGaps) == 0 {
		return
	}
	var skip []int64
	for _, g := range d.EarlyGaps {
		for i := max(g.From, 0); i < min(g.To, d.EarlyTotal) && len(skip) < maxEarlySkip; i++ {
			skip = append(skip, Permute(d.Seed, uint64(i), uint64(d.EarlyTotal)))
		}
	}
	slices.Sort(skip)
	d.EarlySkip = slices.Compact(skip)
	d.EarlyGaps = nil
}

// stretchEarly returns where an admission step of n visitors from
// d.AdmittedUpTo ends when skipped positions do not count, never beyond
// limit, and how many skipped positions it spans (added to EarlySkipped).
// The step also takes the skipped positions right after its end, so the
// counter never rests on one and the admission records of the transparency
// log cover every position the counter passed.
func (d *Drop) stretchEarly(n, limit int64) (to, skipped int64) {
	defer func() { d.EarlySkipped += skipped }()
	to = d.AdmittedUpTo + n
	for _, p := range d.EarlySkip {
		if p > to {
			break
		}
		if p >= d.AdmittedUpTo {
			skipped++
			to++
		}
	}
	if to > limit {
		// Count again up to limit.
		to, skipped = limit, int64(sort.Search(len(d.EarlySkip), func(i int) bool { return d.EarlySkip[i] >= limit }))
	}
	return to, skipped
}

// forgetEarlySkip drops the skipped positions below the counter.
func (d *Drop) forgetEarlySkip() {
	i := sort.Search(len(d.EarlySkip), func(i int) bool { return d.EarlySkip[i] >= d.AdmittedUpTo })
	if i > 0 {
		d.EarlySkip = append(d.EarlySkip[:0], d.EarlySkip[i:]...)
	}
}

// earlySkippedBefore counts the skipped positions in [d.AdmittedUpTo, pos).
func (d *Drop) earlySkippedBefore(pos int64) int64 {
	if len(d.EarlySkip) == 0 {
		return 0
	}
	lo := sort.Search(len(d.EarlySkip), func(i int) bool { return d.EarlySkip[i] >= d.AdmittedUpTo })
	hi := sort.Search(len(d.EarlySkip), func(i int) bool { return d.EarlySkip[i] >= pos })
	return int64(max(hi-lo, 0))
}
