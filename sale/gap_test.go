package sale

import "testing"

// TestFailoverGapIsSkipped: positions a lost leader reserved but never
// reported as handed out are skipped by admission, so visitors who join
// after a failover are not held up by positions nobody holds.
func TestFailoverGapIsSkipped(t *testing.T) {
	s := NewState()
	now := int64(1_000_000)
	apply := applyAt(t, s, &now)
	apply(Command{Kind: KindCreateDrop, Drop: "d", Spec: &DropSpec{ID: "d", Name: "d", Stock: 20, PerCustomerLimit: 1,
		StartsAt: now, HoldSeconds: 60, AdmitPerSecond: 1000, AdmitWindow: 60, Fingerprint: "f"}})
	apply(Command{Kind: KindTick, Issued: []Issued{{Drop: "d"}}})
	// The first leader reserves [0,1000) and reports 5 handed out.
	if r := apply(Command{Kind: KindReserveBlock, Drop: "d", Size: 1000, Fresh: true}); r.Start != 0 || r.End != 1000 {
		t.Fatalf("first block = [%d,%d)", r.Start, r.End)
	}
	now += 100
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
	now += 100
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
