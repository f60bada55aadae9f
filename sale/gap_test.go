package sale

import (
	"encoding/json"
	"fmt"
	"testing"
)

// TestFailoverGapIsSkipped: positions a lost leader reserved but never
// reported as handed out are skipped by admission, so visitors who join
// after a failover are not held up by positions nobody holds.
func TestFailoverGapIsSkipped(t *testing.T) {
	s, now, apply := openedDrop(t)
	// The first leader reserves [0,1000) and reports 5 handed out.
	if r := apply(Command{Kind: KindReserveBlock, Drop: "d", Size: 1000, Fresh: true}); r.Start != 0 || r.End != 1000 {
		t.Fatalf("first block = [%d,%d)", r.Start, r.End)
	}
	*now += 100
	apply(Command{Kind: KindTick, Issued: []Issued{{Drop: "d", Late: 5}}})
	d := s.Drops["d"]
	if d.AdmittedUpTo != 5 {
		t.Fatalf("admitted up to %d, want 5", d.AdmittedUpTo)
	}
	// The leader is lost; the next one reserves a fresh block.
	r := apply(Command{Kind: KindReserveBlock, Drop: "d", Size: 1000, Fresh: true})
	if r.Start != 1000 {
		t.Fatalf("second block starts at %d", r.Start)
	}
	if len(d.Gaps) != 1 || d.Gaps[0] != (Gap{From: 5, To: 1000}) {
		t.Fatalf("gaps = %+v, want [5,1000)", d.Gaps)
	}
	if got := d.Ahead(1003); got != 3 {
		t.Fatalf("ahead of position 1003 = %d, want 3 (the gap is not counted)", got)
	}
	// The new leader hands out 1000..1004 and reports it.
	*now += 100
	apply(Command{Kind: KindTick, Issued: []Issued{{Drop: "d", Late: 1005}}})
	if d.AdmittedUpTo != 1005 {
		t.Fatalf("admitted up to %d, want 1005: the gap must not use up capacity", d.AdmittedUpTo)
	}
	if d.Unresolved() != 10 {
		t.Fatalf("unresolved = %d, want the 10 real visitors", d.Unresolved())
	}
	// A block the same leader reserves when its own runs out leaves no gap.
	apply(Command{Kind: KindReserveBlock, Drop: "d", Size: 1000})
	if len(d.Gaps) != 0 {
		t.Fatalf("gaps after a non-fresh block: %+v", d.Gaps)
	}
}

// admitRecordsCover checks that the admission records of d's transparency
// log cover every position the counter passed, in order: each starts where
// the one before it ended, and the last ends at the counter.
func admitRecordsCover(d *Drop) error {
	var upTo int64
	for i, r := range d.Log.All() {
		if r.Type != LeafAdmit {
			continue
		}
		if r.From != upTo || r.To <= r.From {
			return fmt.Errorf("leaf %d: admission record [%d,%d) after [..,%d): a jump the log does not show", i, r.From, r.To, upTo)
		}
		upTo = r.To
	}
	if upTo != d.AdmittedUpTo {
		return fmt.Errorf("the admission records end at %d, the counter is at %d", upTo, d.AdmittedUpTo)
	}
	return nil
}

// lateGapsPassed counts the positions the log records as passed over as a
// late gap.
func lateGapsPassed(d *Drop) int64 {
	var n int64
	for _, r := range d.Log.All() {
		if r.Type == LeafAdmit && r.Gap {
			n += r.To - r.From
		}
	}
	return n
}

// TestLateGapIsLogged: the counter passing over a late gap leaves an
// admission record that says so, so a verifier replaying the log sees every
// move of the counter; a ticket in the gap (handed out by the lost leader
// after its last report) is admitted and ordered, and the log accounts for it.
func TestLateGapIsLogged(t *testing.T) {
	s, now, apply := openedDrop(t)
	apply(Command{Kind: KindReserveBlock, Drop: "d", Size: 1000, Fresh: true})
	*now += 100
	apply(Command{Kind: KindTick, Issued: []Issued{{Drop: "d", Late: 5}}})
	apply(Command{Kind: KindReserveBlock, Drop: "d", Size: 1000, Fresh: true}) // gap [5,1000)
	*now += 100
	apply(Command{Kind: KindTick, Issued: []Issued{{Drop: "d", Late: 1005}}})
	*now += 100
	apply(Command{Kind: KindTick, Issued: []Issued{{Drop: "d", Late: 1005}}})
	d := s.Drops["d"]
	if d.AdmittedUpTo != 1005 {
		t.Fatalf("admitted up to %d, want 1005", d.AdmittedUpTo)
	}
	if err := admitRecordsCover(d); err != nil {
		t.Fatal(err)
	}
	if got := lateGapsPassed(d); got != 995 {
		t.Fatalf("the log records %d positions passed over as a gap, want 995", got)
	}
	if d.Unresolved() != 10 {
		t.Fatalf("unresolved = %d, want the 10 real visitors", d.Unresolved())
	}
	// A ticket inside the gap takes a hold: it resolves no real visitor's slot.
	if r := apply(Command{Kind: KindHold, Drop: "d", Visitor: "gap", Seq: 500, Quantity: 1}); r.Err != nil {
		t.Fatalf("a ticket inside the passed gap: %v", r.Err)
	}
	if d.Unresolved() != 10 {
		t.Fatalf("unresolved = %d after a gap ticket's hold, want still the 10 real visitors", d.Unresolved())
	}
	// The leaf says it: positions [5,1000) passed over as a gap.
	for i, r := range d.Log.All() {
		if r.Type == LeafAdmit && r.Gap {
			b, _ := s.LogLeaf("d", int64(i))
			var l Leaf
			if err := json.Unmarshal(b, &l); err != nil || !l.Gap || *l.From != 5 || *l.To != 1000 {
				t.Fatalf("gap leaf %s (%v)", b, err)
			}
		}
	}
	snapshot(t, s)
}

// TestGapTicketDoesNotOverAdmit: admission counts the skipped early positions
// of a step as resolved when it passes them. A ticket inside the gap (handed
// out by the lost leader after its last report) that then takes a hold must
// not resolve its batch a second time: the batch would count one real
// visitor fewer than are undecided, and the next step would admit one more
// visitor than the units left can serve.
func TestGapTicketDoesNotOverAdmit(t *testing.T) {
	s := NewState()
	now := int64(1_000_000)
	apply := applyAt(t, s, &now)
	opens := now + 10_000
	apply(Command{Kind: KindCreateDrop, Drop: "d", Spec: &DropSpec{ID: "d", Name: "d", Stock: 20, PerCustomerLimit: 1,
		StartsAt: opens, HoldSeconds: 600, AdmitPerSecond: 1000, AdmitWindow: 3600, Fingerprint: "f"}})
	apply(Command{Kind: KindReserveBlock, Drop: "d", Early: true, Size: 1000, Fresh: true})
	now += 100
	apply(Command{Kind: KindTick, Issued: []Issued{{Drop: "d", Early: 3}}})
	// The leader is lost; the next one's block leaves the early gap [3,1000).
	apply(Command{Kind: KindReserveBlock, Drop: "d", Early: true, Size: 1000, Fresh: true})
	now += 100
	apply(Command{Kind: KindTick, Issued: []Issued{{Drop: "d", Early: 1002}}})
	now = opens - 1
	apply(Command{Kind: KindTick, Issued: []Issued{{Drop: "d", Early: 1002}}})
	now++
	apply(Command{Kind: KindTick, Seed: 7, Issued: []Issued{{Drop: "d", Early: 1002}}})
	now += 100
	apply(Command{Kind: KindTick, Issued: []Issued{{Drop: "d", Early: 1002}}})
	d := s.Drops["d"]
	if d.AdmittedUpTo != d.EarlyTotal || d.Unresolved() != 5 || d.Available != 20 {
		t.Fatalf("admitted up to %d of %d early, %d unresolved, %d available; want every early position, the 5 real ones unresolved",
			d.AdmittedUpTo, d.EarlyTotal, d.Unresolved(), d.Available)
	}
	// A visitor with an index of the gap takes a hold.
	gapIdx := int64(500)
	if r := apply(Command{Kind: KindHold, Drop: "d", Visitor: "gap", Early: true, Seq: gapIdx, Quantity: 1}); r.Err != nil {
		t.Fatalf("a ticket inside the gap, passed by admission: %v", r.Err)
	}
	if d.Unresolved() != 5 {
		t.Fatalf("unresolved = %d after the gap ticket's hold; the 5 real early arrivals are still undecided", d.Unresolved())
	}
	// Late arrivals come; the next step admits only what the units left
	// (19) can serve beside the 5 undecided early arrivals.
	apply(Command{Kind: KindReserveBlock, Drop: "d", Size: 1000})
	now += 100
	apply(Command{Kind: KindTick, Issued: []Issued{{Drop: "d", Early: 1002, Late: 100}}})
	undecided := 5 + d.AdmittedUpTo - d.EarlyTotal
	if undecided > d.Available {
		t.Fatalf("%d visitors admitted and undecided for %d units left", undecided, d.Available)
	}
	if undecided != d.Available {
		t.Fatalf("%d undecided for %d units left: admission should have filled them", undecided, d.Available)
	}
}

// openedDrop returns a state whose drop "d" (20 units, admitting 1,000 a
// second) opened at *now, and an apply at *now.
func openedDrop(t *testing.T) (s *State, now *int64, apply func(Command) Result) {
	s, now = NewState(), new(int64)
	*now = 1_000_000
	apply = applyAt(t, s, now)
	apply(Command{Kind: KindCreateDrop, Drop: "d", Spec: &DropSpec{ID: "d", Name: "d", Stock: 20, PerCustomerLimit: 1,
		StartsAt: *now, HoldSeconds: 60, AdmitPerSecond: 1000, AdmitWindow: 60, Fingerprint: "f"}})
	apply(Command{Kind: KindTick, Issued: []Issued{{Drop: "d"}}})
	return s, now, apply
}
