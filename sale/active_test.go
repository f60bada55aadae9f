package sale

import (
	"bytes"
	"encoding/json"
	"testing"
)

// TestActiveHoldsJSON: the set reads and writes as the map of hold id to
// true it replaced (null for one never made, ids sorted, a key twice kept
// once), and a hold leaving it moves the last one into its place.
func TestActiveHoldsJSON(t *testing.T) {
	for _, in := range []string{`null`, `{}`, `{"h_2_b":true,"h_1_a":true}`, `{"h_1_a":true,"h_1_a":true,"h_3":true}`} {
		var a ActiveHolds
		if err := json.Unmarshal([]byte(in), &a); err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		var m map[string]bool
		if err := json.Unmarshal([]byte(in), &m); err != nil {
			t.Fatal(err)
		}
		got, _ := json.Marshal(a)
		want, _ := json.Marshal(m)
		if !bytes.Equal(got, want) || a.Len() != len(m) {
			t.Fatalf("%s: read and written as %s (%d), the map as %s (%d)", in, got, a.Len(), want, len(m))
		}
	}
	if none, _ := json.Marshal(ActiveHolds{}); string(none) != "null" {
		t.Fatalf("a set never made encodes as %s, want null (as a nil map)", none)
	}

	s := NewState()
	d := &Drop{Active: ActiveHolds{list: []activeHold{}}}
	for _, id := range []string{"h_1_a", "h_2_b", "h_3_c"} {
		h, i := s.Holds.add(Hold{ID: id}, 100)
		s.activate(d, h, i)
	}
	s.deactivate(d, s.Holds.Get("h_1_a"))
	s.deactivate(d, s.Holds.Get("h_1_a")) // no longer there: nothing changes
	if d.Active.Len() != 2 || d.Active.Has("h_1_a") || !d.Active.Has("h_2_b") || !d.Active.Has("h_3_c") {
		t.Fatalf("after one left: %+v", d.Active.list)
	}
	for k, e := range d.Active.list {
		if s.Holds.at(int(e.i)).activeAt != int32(k+1) {
			t.Fatalf("hold %s at %d thinks it is at %d", e.id, k, s.Holds.at(int(e.i)).activeAt-1)
		}
	}
}
