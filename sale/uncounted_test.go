package sale

import (
	"testing"

	"github.com/floodgate/floodgate"
)

// TestGapHoldersTakeNoPromisedUnit: a lost leader handed out positions 1-4
// after its last report (position 0); the counter passes them as a late
// gap, counting only the real visitors reported: position 0 and the new
// leader's 1000 and 1001, one per unit. The gap's visitors are real all the
// same. They may not take the units promised to the counted visitors, who
// were told "admitted" and must each get one: a gap visitor is admitted only
// to a unit nobody was promised, as it comes back, and then before the next
// admission step takes it.
func TestGapHoldersTakeNoPromisedUnit(t *testing.T) {
	s, now, apply := openedDrop(t)
	d := s.Drops["d"]
	d.Spec.Stock, d.Available = 3, 3
	apply(Command{Kind: KindReserveBlock, Drop: "d", Size: 1000, Fresh: true})
	*now += 100
	apply(Command{Kind: KindTick, Issued: []Issued{{Drop: "d", Late: 1}}})
	apply(Command{Kind: KindReserveBlock, Drop: "d", Size: 1000, Fresh: true}) // gap [1,1000)
	*now += 100
	apply(Command{Kind: KindTick, Issued: []Issued{{Drop: "d", Late: 1010}}})
	if d.AdmittedUpTo != 1002 || d.Unresolved() != 3 {
		t.Fatalf("admitted up to %d with %d unresolved; want 1002, the 3 counted visitors 0, 1000, 1001", d.AdmittedUpTo, d.Unresolved())
	}
	for pos := int64(1); pos < 5; pos++ {
		if d.Admitted(pos, 1) {
			t.Fatalf("gap position %d is admitted with every unit promised", pos)
		}
		if r := apply(Command{Kind: KindHold, Drop: "d", Visitor: "gap" + string(rune('0'+pos)), Seq: pos, Quantity: 1}); r.Err == nil || r.Err.Code != floodgate.ENotAdmitted {
			t.Fatalf("a gap visitor's hold with every unit promised: %+v", r)
		}
	}
	// Every counted visitor gets its unit.
	var first string
	for _, seq := range []int64{0, 1000, 1001} {
		if !d.Admitted(seq, 1) {
			t.Fatalf("counted position %d is not admitted", seq)
		}
		r := apply(Command{Kind: KindHold, Drop: "d", Visitor: "v" + string(rune('a'+seq%26)), Seq: seq, Quantity: 1})
		if r.Err != nil {
			t.Fatalf("counted position %d: %v", seq, r.Err)
		}
		if first == "" {
			first = r.Hold.ID
		}
	}
	// A unit comes back: nobody was promised it, so the gap visitor who
	// asks first has it.
	if r := apply(Command{Kind: KindRelease, HoldID: first, Visitor: "va"}); r.Err != nil {
		t.Fatalf("release: %v", r.Err)
	}
	if !d.Admitted(2, 1) {
		t.Fatal("a gap position is not admitted with a unit nobody was promised")
	}
	if r := apply(Command{Kind: KindHold, Drop: "d", Visitor: "gap2", Seq: 2, Quantity: 1}); r.Err != nil {
		t.Fatalf("a gap visitor's hold of a unit nobody was promised: %v", r.Err)
	}
	*now += 100
	apply(Command{Kind: KindTick, Issued: []Issued{{Drop: "d", Late: 1010}}})
	if d.AdmittedUpTo != 1002 || d.Available != 0 || d.Held != 3 {
		t.Fatalf("admitted up to %d, available %d, held %d: want no admission beyond the units", d.AdmittedUpTo, d.Available, d.Held)
	}
	if v := d.QueueView(nil); v.Admitted(3, 1) || !v.Admitted(1000, 1) {
		t.Fatalf("the queue view: gap position 3 admitted %v, counted 1000 admitted %v", v.Admitted(3, 1), v.Admitted(1000, 1))
	}
}
