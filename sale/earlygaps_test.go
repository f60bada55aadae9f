package sale

import (
	"slices"
	"testing"

	"github.com/floodgate/floodgate"
)

// earlyGapDrop runs a drop whose first leader reserves early block [0,1000)
// and reports 3 early arrivals before it is lost; the next leader reserves a
// fresh block and (when ownBlock) hands out 2 more. It returns the state
// just before the opening and the early indexes of the real arrivals.
func earlyGapDrop(t *testing.T, ownBlock bool) (*State, func(Command) Result, []int64, *int64) {
	t.Helper()
	s := NewState()
	now := int64(1_000_000)
	apply := applyAt(t, s, &now)
	apply(Command{Kind: KindCreateDrop, Drop: "d", Spec: &DropSpec{ID: "d", Name: "d", Stock: 5, PerCustomerLimit: 1,
		StartsAt: now + 10_000, HoldSeconds: 600, AdmitPerSecond: 1000, AdmitWindow: 3600, Fingerprint: "f"}})
	if r := apply(Command{Kind: KindReserveBlock, Drop: "d", Early: true, Size: 1000, Fresh: true}); r.Err != nil || r.Start != 0 {
		t.Fatalf("first early block: %+v", r)
	}
	now += 100
	apply(Command{Kind: KindTick, Issued: []Issued{{Drop: "d", Early: 3}}})
	real := []int64{0, 1, 2}
	if ownBlock {
		// The next leader's first early block: [3,1000) was never reported.
		r := apply(Command{Kind: KindReserveBlock, Drop: "d", Early: true, Size: 1000, Fresh: true})
		if r.Start != 1000 {
			t.Fatalf("second early block starts at %d", r.Start)
		}
		d := s.Drops["d"]
		if len(d.EarlyGaps) != 1 || d.EarlyGaps[0] != (Gap{From: 3, To: 1000}) {
			t.Fatalf("early gaps = %+v, want [3,1000)", d.EarlyGaps)
		}
		real = append(real, 1000, 1001)
		now += 100
		apply(Command{Kind: KindTick, Issued: []Issued{{Drop: "d", Early: 1002}}})
	}
	return s, apply, real, &now
}

// TestEarlyGapIsSkipped: early indexes a lost leader reserved but never
// reported are shuffled like the others at the opening, but admission passes
// over their positions without counting them, so the first admission step
// reaches the real early arrivals wherever the shuffle put them.
func TestEarlyGapIsSkipped(t *testing.T) {
	for _, ownBlock := range []bool{true, false} {
		name := "the opening leader has an early block"
		if !ownBlock {
			name = "the opening leader has none"
		}
		t.Run(name, func(t *testing.T) {
			s, apply, real, now := earlyGapDrop(t, ownBlock)
			early := int64(-1) // no block of its own: it does not know
			if ownBlock {
				early = 1002
			}
			// A tick just before the opening, so the opening's own step has
			// 1 ms of credit: one visitor.
			*now = 1_010_000 - 1 // the drop opens at 1_010_000
			apply(Command{Kind: KindTick, Issued: []Issued{{Drop: "d", Early: early}}})
			*now++
			apply(Command{Kind: KindTick, Seed: 7, Issued: []Issued{{Drop: "d", Early: early}}})
			d := s.Drops["d"]
			wantTotal := int64(1002)
			if !ownBlock {
				wantTotal = 1000
			}
			if !d.Started || d.EarlyTotal != wantTotal {
				t.Fatalf("started %v with %d early, want %d", d.Started, d.EarlyTotal, wantTotal)
			}
			if len(d.EarlyGaps) != 0 {
				t.Fatalf("early gaps left after the opening: %+v", d.EarlyGaps)
			}
			// Positions are the seed's shuffle of every index, as before.
			var positions []int64
			for _, i := range real {
				p, ok := d.Position(true, i)
				if !ok || p != Permute(d.Seed, uint64(i), uint64(d.EarlyTotal)) {
					t.Fatalf("index %d at %d (%v)", i, p, ok)
				}
				positions = append(positions, p)
			}
			slices.Sort(positions)
			last := positions[len(positions)-1]
			if last < int64(len(real))+10 {
				t.Fatalf("the shuffle put every real arrival in front (last at %d); pick another seed", last)
			}
			if got := d.Ahead(last); got != int64(len(real)-1)-countBelow(positions, d.AdmittedUpTo) {
				t.Fatalf("ahead of the last real arrival: %d, want the %d real ones before it", got, len(real)-1)
			}
			// One tick of admission (100 ms at 1000/s: 100 visitors) reaches
			// all of them: they are 5 (or 3) of the 1000 shuffled indexes.
			*now += 100
			apply(Command{Kind: KindTick, Issued: []Issued{{Drop: "d", Early: early}}})
			for _, p := range positions {
				if p >= d.AdmittedUpTo {
					t.Fatalf("position %d not admitted after one step (admitted up to %d)", p, d.AdmittedUpTo)
				}
			}
			// The admission records cover every position the counter passed.
			if err := admitRecordsCover(d); err != nil || slices.Contains(d.EarlySkip, d.AdmittedUpTo) {
				t.Fatalf("%v (counter at %d, skip %v)", err, d.AdmittedUpTo, d.EarlySkip)
			}
			if d.Unresolved() != int64(len(real)) {
				t.Fatalf("unresolved = %d, want the %d real arrivals (the skipped positions are not waited for)", d.Unresolved(), len(real))
			}
			if d.AdmittedUpTo-d.EarlySkipped > 101 {
				t.Fatalf("admitted %d real positions in 101 ms at 1000/s", d.AdmittedUpTo-d.EarlySkipped)
			}
			// Every real arrival takes a hold; so does a visitor who holds an
			// index of the gap (handed out after the lost leader's last report).
			for i, idx := range real {
				r := apply(Command{Kind: KindHold, Drop: "d", Visitor: "v" + string(rune('a'+i)), Early: true, Seq: idx, Quantity: 1})
				if r.Err != nil {
					t.Fatalf("hold of early index %d: %v", idx, r.Err)
				}
			}
			if d.Available != 5-int64(len(real)) {
				t.Fatalf("available %d", d.Available)
			}
			gapIdx := int64(500)
			if p, _ := d.Position(true, gapIdx); p < d.AdmittedUpTo {
				if r := apply(Command{Kind: KindHold, Drop: "d", Visitor: "gap", Early: true, Seq: gapIdx, Quantity: 1}); r.Err != nil && r.Err.Code != floodgate.ESoldOut {
					t.Fatalf("a ticket inside the gap, passed by admission: %v", r.Err)
				}
			} else if r := apply(Command{Kind: KindHold, Drop: "d", Visitor: "gap", Early: true, Seq: gapIdx, Quantity: 1}); r.Err == nil || r.Err.Code != floodgate.ENotAdmitted {
				t.Fatalf("a ticket inside the gap ahead of the counter: %+v", r)
			}
			// Snapshots carry it.
			snapshot(t, s)
		})
	}
}

func countBelow(sorted []int64, x int64) int64 {
	n := int64(0)
	for _, v := range sorted {
		if v < x {
			n++
		}
	}
	return n
}

// TestEarlyReportsWithoutGaps: a single leader's early arrivals leave no
// gap, and reports that go backwards never shrink what is accounted for.
func TestEarlyReportsWithoutGaps(t *testing.T) {
	s := NewState()
	now := int64(1_000_000)
	apply := applyAt(t, s, &now)
	apply(Command{Kind: KindCreateDrop, Drop: "d", Spec: &DropSpec{ID: "d", Name: "d", Stock: 5, PerCustomerLimit: 1,
		StartsAt: now + 1000, HoldSeconds: 60, AdmitPerSecond: 10, AdmitWindow: 60, Fingerprint: "f"}})
	apply(Command{Kind: KindReserveBlock, Drop: "d", Early: true, Size: 10, Fresh: true})
	apply(Command{Kind: KindTick, Issued: []Issued{{Drop: "d", Early: 10}}})
	apply(Command{Kind: KindReserveBlock, Drop: "d", Early: true, Size: 10}) // the same leader's next block
	apply(Command{Kind: KindTick, Issued: []Issued{{Drop: "d", Early: 4}}})  // stale
	d := s.Drops["d"]
	if len(d.EarlyGaps) != 0 || d.EarlyIssued != 10 {
		t.Fatalf("gaps %+v issued %d, want none and 10", d.EarlyGaps, d.EarlyIssued)
	}
	now += 1000
	apply(Command{Kind: KindTick, Issued: []Issued{{Drop: "d", Early: 13}}})
	if d.EarlyTotal != 13 || len(d.EarlySkip) != 0 {
		t.Fatalf("opened with %d early and skip %v", d.EarlyTotal, d.EarlySkip)
	}
}

// TestDrawEntriesAreNeverSkipped: a draw's entries are early indexes too,
// committed one by one; a draw reported by a leader without an early block
// must not take them for phantoms.
func TestDrawEntriesAreNeverSkipped(t *testing.T) {
	s := NewState()
	sp := spec("raffle", 2)
	sp.Mode, sp.EntryEndsAt, sp.ClaimSeconds = ModeDraw, t0+60_000, 30
	mustOK(t, s, Command{Kind: KindCreateDropV2, Now: t0 - 1000, Drop: "raffle", Spec: sp, ShuffleSeed: seed32(1)})
	for i, c := range []string{"a@x", "b@x", "c@x"} {
		mustOK(t, s, Command{Kind: KindEnter, Now: t0 + int64(i), Drop: "raffle", Customer: c})
	}
	tick(t, s, t0+59_000, false, Issued{Drop: "raffle", Early: -1})
	tick(t, s, t0+60_000, false, Issued{Drop: "raffle", Early: -1})
	d := s.Drops["raffle"]
	if !d.Started || d.EarlyTotal != 3 || len(d.EarlySkip) != 0 || d.EarlySkipped != 0 || d.AdmittedUpTo != 2 {
		t.Fatalf("draw with %d entries, skip %v (%d skipped), admitted %d", d.EarlyTotal, d.EarlySkip, d.EarlySkipped, d.AdmittedUpTo)
	}
}
