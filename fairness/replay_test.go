package fairness

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/floodgate/floodgate/sale"
)

// lateGapLog runs a drop through a failover that leaves a late gap and
// returns its log's leaves and the fairness answer's state.
func lateGapLog(t *testing.T) ([][]byte, *fairnessDoc) {
	t.Helper()
	s := sale.NewState()
	now := int64(1_000_000)
	apply := func(c sale.Command) {
		c.Now = now
		if r := s.Apply(&c); r.Err != nil {
			t.Fatalf("%v: %v", c.Kind, r.Err)
		}
	}
	apply(sale.Command{Kind: sale.KindCreateDrop, Drop: "d", Spec: &sale.DropSpec{ID: "d", Name: "d", Stock: 20, PerCustomerLimit: 1,
		StartsAt: now, HoldSeconds: 60, AdmitPerSecond: 1000, AdmitWindow: 60, Fingerprint: "f"}})
	apply(sale.Command{Kind: sale.KindTick, Issued: []sale.Issued{{Drop: "d"}}})
	apply(sale.Command{Kind: sale.KindReserveBlock, Drop: "d", Size: 1000, Fresh: true})
	now += 100
	apply(sale.Command{Kind: sale.KindTick, Issued: []sale.Issued{{Drop: "d", Late: 5}}})
	apply(sale.Command{Kind: sale.KindReserveBlock, Drop: "d", Size: 1000, Fresh: true}) // the gap [5,1000)
	for range 2 {
		now += 100
		apply(sale.Command{Kind: sale.KindTick, Issued: []sale.Issued{{Drop: "d", Late: 1005}}})
	}
	var leaves [][]byte
	for i := range s.LogSize("d") {
		b, _ := s.LogLeaf("d", i)
		leaves = append(leaves, b)
	}
	d := s.Drops["d"]
	f := &fairnessDoc{Drop: "d", Mode: sale.ModeQueue}
	f.State.Stock, f.State.Available = d.Spec.Stock, d.Available
	return leaves, f
}

// TestReplayChecksEveryMoveOfTheCounter: a log whose admission records
// cover every move of the counter, a late gap among them, passes; a log
// where the counter jumps (the gap's record missing) or where a gap is
// claimed among the early positions does not.
func TestReplayChecksEveryMoveOfTheCounter(t *testing.T) {
	leaves, f := lateGapLog(t)
	var out strings.Builder
	a := &Auditor{Out: &out}
	var rep Report
	if err := a.replay(leaves, "d", nil, f, &rep); err != nil {
		t.Fatalf("the log of a drop with a late gap: %v", err)
	}
	if rep.GapPositions != 995 || !strings.Contains(out.String(), "995 late positions passed over") {
		t.Fatalf("gap positions %d, output %q", rep.GapPositions, out.String())
	}

	// Without the gap's record, the next admission jumps.
	var cut [][]byte
	for _, b := range leaves {
		var l sale.Leaf
		if err := json.Unmarshal(b, &l); err != nil {
			t.Fatal(err)
		}
		if l.Gap {
			continue
		}
		l.LogIndex = int64(len(cut))
		b, _ = json.Marshal(l)
		cut = append(cut, b)
	}
	var m *Mismatch
	if err := a.replay(cut, "d", nil, f, &Report{}); !errors.As(err, &m) || !strings.Contains(m.What, "does not follow") {
		t.Fatalf("a log that jumps over a gap without a record: %v", err)
	}

	// A gap among early positions is refused.
	early := int64(2000)
	var moved [][]byte
	for _, b := range leaves {
		var l sale.Leaf
		if err := json.Unmarshal(b, &l); err != nil {
			t.Fatal(err)
		}
		if l.Type == sale.LeafStart {
			l.EarlyTotal = &early
		}
		b, _ = json.Marshal(l)
		moved = append(moved, b)
	}
	if err := a.replay(moved, "d", nil, f, &Report{}); !errors.As(err, &m) || !strings.Contains(m.What, "passed over as a gap") {
		t.Fatalf("a gap among the early positions: %v", err)
	}
}
