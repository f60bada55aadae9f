package sale

import "slices"

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
// out by the lost leader after its last report) keeps that position; once
// the counter passed it, the visitor is uncounted, like one in a late gap,
// and is admitted to a unit nobody was promised (uncounted.go).
type DropEarly struct {
	EarlyIssued int64 `json:"early_issued,omitempty"`
	EarlyGaps   []Gap `json:"early_gaps,omitempty"` // early index ranges, until the opening
	// EarlySkip holds the positions admission passes over, ascending; those
	// below the counter stay while an admission step covering them is
	// inside its window (see earlySkipped).
	EarlySkip []int64 `json:"early_skip,omitempty"`
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
	lo := d.earlySkipFrom(d.AdmittedUpTo)
	to = d.AdmittedUpTo + n
	for _, p := range d.EarlySkip[lo:] {
		if p > to {
			break
		}
		skipped++
		to++
	}
	if to > limit {
		// Count again up to limit.
		to, skipped = limit, int64(d.earlySkipFrom(limit)-lo)
	}
	return to, skipped
}

// earlySkipFrom is the index of the first skipped position at or after pos.
func (d *Drop) earlySkipFrom(pos int64) int {
	i, _ := slices.BinarySearch(d.EarlySkip, pos)
	return i
}

// forgetEarlySkip drops the skipped positions below the counter that no
// admission still inside its window covers. The others stay, so that a
// hold at one (a ticket of the gap after all) is known for what it is: the
// step counted that position as resolved already (see earlySkipped).
func (d *Drop) forgetEarlySkip() {
	below := d.AdmittedUpTo
	if len(d.Batches) > 0 {
		below = min(below, d.Batches[0].From)
	}
	// A new slice header, never a write in place: queue views (QueueView)
	// share the array.
	if i := d.earlySkipFrom(below); i == len(d.EarlySkip) {
		d.EarlySkip = nil
	} else if i > 0 {
		d.EarlySkip = d.EarlySkip[i:]
	}
}

// earlySkipped reports whether admission passed over pos as a skipped
// early position, counting it as resolved, in a step still inside its
// window. A hold there (by a visitor who holds an index of the gap after
// all) must not resolve the step again: the step would count one undecided
// visitor fewer than there are, and the next one would admit one more than
// the units left can serve.
func (d *Drop) earlySkipped(pos int64) bool {
	_, found := slices.BinarySearch(d.EarlySkip, pos)
	return found && pos < d.AdmittedUpTo
}

// passGap moves the counter over the late gap ending at to and records the
// move in the transparency log, marked as a gap, so the admission records
// cover every position the counter passed. Nobody is admitted by it: the
// positions count neither against the rate nor against the stock. A visitor
// who does hold a ticket of the gap (handed out by the lost leader after its
// last report) is uncounted: it may take a unit nobody was promised
// (uncounted.go), and its hold resolves no admission step.
func (d *Drop) passGap(now, to int64) {
	d.Log.add(LogRecord{Type: LeafAdmit, At: now, From: d.AdmittedUpTo, To: to, Gap: true})
	d.AdmittedUpTo = to
}

// earlySkippedBefore counts the skipped positions in [d.AdmittedUpTo, pos).
func (d *Drop) earlySkippedBefore(pos int64) int64 {
	if len(d.EarlySkip) == 0 {
		return 0
	}
	return int64(max(d.earlySkipFrom(pos)-d.earlySkipFrom(d.AdmittedUpTo), 0))
}
