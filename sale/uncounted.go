package sale

import (
	"cmp"
	"slices"
)

// Uncounted positions: below the admission counter, but in no admission
// step that counted them against the stock.
//
// The counter passes some positions without counting them: a late gap
// (passGap: positions a lost leader reserved and, as far as the log knows,
// never handed out), an early gap (EarlySkip), and the positions of a step
// whose window ran out (the step lapsed). A visitor may still hold one of
// them: the lost leader handed it out after its last report, or an admitted
// visitor came back after the window. Each admission step admits only as
// many visitors as the units left can serve (limit.go; Available -
// Unresolved with a per-customer limit of one), so a unit taken by an
// uncounted visitor would be one promised to a counted one, who would then
// be refused a hold after being told "admitted". An uncounted visitor is
// therefore admitted only to a unit nobody was promised: while Available
// exceeds what the undecided counted visitors may need, and a hold there
// needs as many such units as it asks for. Otherwise the visitor waits behind the
// visitors reported and not yet admitted (see queue.StatusOf).

// Counted reports whether pos is in an admission step still inside its
// window that counted it against the stock.
func (d *Drop) Counted(pos int64) bool {
	if pos >= d.AdmittedUpTo || d.earlySkipped(pos) {
		return false
	}
	// The steps are in counter order: the last one starting at or before
	// pos is the only one that may hold it.
	i, _ := slices.BinarySearchFunc(d.Batches, pos, func(b AdmitBatch, p int64) int { return cmp.Compare(b.From, p+1) })
	return i > 0 && pos < d.Batches[i-1].To
}

// Unpromised counts the units available that no admitted visitor inside
// the window was promised (limit.go: with a per-customer limit above one, a
// visitor may need more than one).
func (d *Drop) Unpromised() int64 {
	return max(d.Available-d.promised(d.Unresolved()), 0)
}

// Admitted reports whether the visitor at pos may take a hold of quantity
// units now: a counted position, or an uncounted one below the counter
// with that many units unpromised.
func (d *Drop) Admitted(pos, quantity int64) bool {
	if pos >= d.AdmittedUpTo {
		return false
	}
	return d.Counted(pos) || d.Unpromised() >= quantity
}
