package sale

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// fibInverse is the inverse of 2⁶⁴/φ modulo 2⁶⁴: h and h + fibInverse
// have the same tag (their products differ by one), the collision a
// slot cannot tell apart.
var fibInverse = func() uint64 {
	const a = 0x9e3779b97f4a7c15
	x := uint64(a) // Newton: each step doubles the bits that are right
	for range 6 {
		x *= 2 - a*x
	}
	return x
}()

// TestHashSlots checks the open-addressing table against a map of lists:
// every index stored under a hash found through growth, the first of a
// hash's indexes first, hashes never stored not found (0, ones sharing a
// home slot and ones sharing a tag included), and a clone that does not
// see later writes. A big table (a filter and pending entries) answers the
// same.
func TestHashSlots(t *testing.T) {
	if fibInverse*0x9e3779b97f4a7c15 != 1 {
		t.Fatal("fibInverse is not the inverse")
	}
	var x hashSlots
	if _, ok := x.find(0, func(int32) bool { return true }); ok || x.made {
		t.Fatal("the zero table finds a hash or reads as made")
	}
	testHashSlots(t, x)
	big := makeHashSlots(bigSlots / 2)
	if big.filter == nil || cap(big.pending) == 0 {
		t.Fatalf("an index of %d slots has no filter or pending entries", len(big.slots))
	}
	testHashSlots(t, big)
}

func testHashSlots(t *testing.T, x hashSlots) {
	r := rand.New(rand.NewPCG(1, 2))
	want := map[uint64][]int32{}
	keys := []uint64{0, 1, 1 << 63, fibInverse, 2 * fibInverse}
	for range 5000 {
		h := r.Uint64() & 0xffff_0000_0000_ffff // many share their top bits
		switch r.IntN(10) {
		case 0: // a hash already stored, again
			h = keys[r.IntN(len(keys))]
		case 1: // a hash with the tag of one stored
			h = keys[r.IntN(len(keys))] + fibInverse
		}
		keys = append(keys, h)
	}
	var snap hashSlots
	var snapWant map[uint64][]int32
	n := 0
	for step, h := range keys {
		i := int32(step)
		x.insert(h, i)
		want[h] = append(want[h], i)
		n++
		if step == 2000 {
			snap = x.clone()
			snapWant = map[uint64][]int32{}
			for k, v := range want {
				snapWant[k] = slices.Clone(v)
			}
		}
	}
	if x.len() != n {
		t.Fatalf("len %d, want %d", x.len(), n)
	}
	if 2*x.len() > len(x.slots) {
		t.Fatalf("%d entries in %d slots: more than half full", x.len(), len(x.slots))
	}
	check := func(name string, x *hashSlots, want map[uint64][]int32) {
		t.Helper()
		hashOf := map[int32]uint64{}
		for h, is := range want {
			for _, i := range is {
				hashOf[i] = h
			}
		}
		for h, is := range want {
			// What an index is checked against: the hash it was stored under.
			mine := func(i int32) bool { return hashOf[i] == h }
			if got, ok := x.find(h, mine); !ok || got != is[0] {
				t.Fatalf("%s: find(%#x) = %d, %v; want the first, %d", name, h, got, ok, is[0])
			}
			for _, i := range is {
				if got, ok := x.find(h, func(j int32) bool { return j == i }); !ok || got != i {
					t.Fatalf("%s: find(%#x, %d) = %d, %v", name, h, i, got, ok)
				}
			}
		}
		for range 5000 {
			h := r.Uint64()
			if r.IntN(2) == 0 {
				h = keys[r.IntN(len(keys))] + 3*fibInverse
			}
			if _, stored := want[h]; stored {
				continue
			}
			if got, ok := x.find(h, func(i int32) bool { return hashOf[i] == h }); ok {
				t.Fatalf("%s: find(%#x) = %d for a hash never stored", name, h, got)
			}
		}
	}
	check("table", &x, want)
	seen := 0
	x.each(func(int32) { seen++ })
	if seen != n {
		t.Fatalf("each saw %d entries, want %d", seen, n)
	}
	if snap.len() != 2001 {
		t.Fatalf("clone has %d entries, want 2001", snap.len())
	}
	check("clone", &snap, snapWant)
}

// TestHashSlotsWrapKeepsOrder: entries of one hash whose run of full slots
// wraps past the array's end keep their order when the array grows.
func TestHashSlotsWrapKeepsOrder(t *testing.T) {
	// A hash whose home is the last slot at every size: its tag is all ones.
	h := uint64(0xffff_ffff_0000_0000) * fibInverse
	if tagOf(h) != 0xffff_ffff {
		t.Fatalf("tag %#x", tagOf(h))
	}
	var x hashSlots
	for i := range int32(40) { // grows from 16 to 128 slots with the run wrapped
		x.insert(h, i)
		for j := range i + 1 {
			if got, ok := x.find(h, func(k int32) bool { return k >= j }); !ok || got != j {
				t.Fatalf("after %d inserts: first index from %d = %d, %v", i+1, j, got, ok)
			}
		}
	}
}
