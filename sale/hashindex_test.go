package sale

import (
	"math/rand/v2"
	"testing"
)

// TestHashSlots checks the open-addressing table against a map: every
// stored hash found with its latest index through growth, hashes never
// stored not found (0 and ones sharing a home slot included), and a clone
// that does not see later writes.
func TestHashSlots(t *testing.T) {
	var x hashSlots
	if _, ok := x.get(0); ok || x.made {
		t.Fatal("the zero table finds a hash or reads as made")
	}
	r := rand.New(rand.NewPCG(1, 2))
	want := map[uint64]int32{}
	keys := []uint64{0, 1, 1 << 63}
	for range 5000 {
		keys = append(keys, r.Uint64()&0xffff_0000_0000_ffff) // many share their top bits
	}
	var snap hashSlots
	var snapWant map[uint64]int32
	for step, h := range keys {
		i := int32(r.IntN(1 << 20))
		x.set(h, i)
		want[h] = i
		if step == 2000 {
			snap = x.clone()
			snapWant = map[uint64]int32{}
			for k, v := range want {
				snapWant[k] = v
			}
		}
	}
	if x.len() != len(want) {
		t.Fatalf("len %d, want %d", x.len(), len(want))
	}
	if 2*x.len() > len(x.slots) {
		t.Fatalf("%d entries in %d slots: more than half full", x.len(), len(x.slots))
	}
	for h, i := range want {
		if got, ok := x.get(h); !ok || got != i {
			t.Fatalf("get(%#x) = %d, %v; want %d", h, got, ok, i)
		}
	}
	for range 5000 {
		h := r.Uint64()
		if _, stored := want[h]; stored {
			continue
		}
		if got, ok := x.get(h); ok {
			t.Fatalf("get(%#x) = %d for a hash never stored", h, got)
		}
	}
	seen := 0
	x.each(func(int32) { seen++ })
	if seen != len(want) {
		t.Fatalf("each saw %d entries, want %d", seen, len(want))
	}
	if snap.len() != len(snapWant) {
		t.Fatalf("clone has %d entries, want %d", snap.len(), len(snapWant))
	}
	for h, i := range snapWant {
		if got, ok := snap.get(h); !ok || got != i {
			t.Fatalf("clone: get(%#x) = %d, %v; want %d", h, got, ok, i)
		}
	}
}
