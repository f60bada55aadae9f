package sale

import (
	"maps"
	"math/bits"
	"slices"
)

// hashIndex finds an item of an array (a hold of the tickets, an order of
// the idempotency index, a drop's customer) by a 64-bit FNV-1a hash of its
// key, as its index in the array. Growing it never reads a key again (a
// cache miss each in a big state) and the collector has no strings in it
// to scan. Every hit is checked against the item itself, and a key whose
// hash another has taken goes to more under the whole key, so a collision,
// made on purpose or not, costs a string look-up and never a wrong answer.
type hashIndex struct {
	m    hashSlots        // hash → index
	more map[string]int32 // whole key → index, for hashes another key has taken
}

func newHashIndex(size int) hashIndex { return hashIndex{m: makeHashSlots(size)} }

// findHashed returns the index of the item whose key hashes to h: the one
// under h if is says it has the key, else the one kept under the whole key,
// which key appends to a buffer (called only if some key went to more);
// -1 if there is none.
func (x *hashIndex) findHashed(h uint64, is func(i int32) bool, key func([]byte) []byte) int {
	if i, ok := x.m.get(h); ok && is(i) {
		return int(i)
	}
	if x.more == nil {
		return -1
	}
	var kb keyBuf
	if i, ok := x.more[string(key(kb[:0]))]; ok {
		return int(i)
	}
	return -1
}

// putHashed indexes item i, whose key hashes to h, under h, or under the
// key key returns if another item has h.
func (x *hashIndex) putHashed(h uint64, i int32, key func() string) {
	if cur, taken := x.m.get(h); taken && cur != i {
		x.spill(key(), i)
		return
	}
	x.m.set(h, i)
}

// spill indexes item i under its whole key.
func (x *hashIndex) spill(key string, i int32) {
	if x.more == nil {
		x.more = map[string]int32{}
	}
	x.more[key] = i
}

// indexed is the number of keys indexed.
func (x *hashIndex) indexed() int { return x.m.len() + len(x.more) }

func (x *hashIndex) cloneIndex() hashIndex {
	return hashIndex{m: x.m.clone(), more: maps.Clone(x.more)}
}

// hashSlots maps a 64-bit hash to an index: one flat array of slots, open
// addressing with linear probing, at most half full. A look-up in a big
// index is one cache miss, where a Go map of a million entries costs
// several (its directory, its control word, its slot), and the array has
// no pointers for the collector to scan. The slot of a hash comes from its
// high bits after a multiplication (Fibonacci hashing), so all 64 bits
// count. The layout decides only how fast a hash is found, never what is
// found: the state machine's answers do not depend on it. The zero value is
// empty and "nil" (made is false), like a nil map.
type hashSlots struct {
	slots []hashSlot // len a power of two (or 0)
	n     int
	made  bool // as a map made with make, for what reads nil and empty apart
}

type hashSlot struct {
	h uint64
	i int32 // 1 + the index; 0: empty
}

// minSlots is the size of a non-empty hashSlots' array, at least.
const minSlots = 16

func makeHashSlots(size int) hashSlots {
	x := hashSlots{made: true}
	if size > 0 {
		x.resize(slotsFor(size))
	}
	return x
}

// slotsFor is the size of the array that keeps n entries at most half full.
func slotsFor(n int) int {
	s := minSlots
	for s < 2*n {
		s *= 2
	}
	return s
}

// home is the first slot to try for h in an array of n slots (a power
// of two): the top bits of h times 2⁶⁴/φ.
func home(h uint64, n int) int {
	return int((h * 0x9e3779b97f4a7c15) >> (64 - bits.TrailingZeros(uint(n))))
}

func (x *hashSlots) len() int { return x.n }

// get returns the index stored under h.
func (x *hashSlots) get(h uint64) (int32, bool) {
	if x.n == 0 {
		return 0, false
	}
	mask := len(x.slots) - 1
	for j := home(h, len(x.slots)); ; j = (j + 1) & mask {
		s := &x.slots[j]
		if s.i == 0 {
			return 0, false
		}
		if s.h == h {
			return s.i - 1, true
		}
	}
}

// set stores i under h, in place of what was there.
func (x *hashSlots) set(h uint64, i int32) {
	x.made = true
	if 2*(x.n+1) > len(x.slots) {
		x.resize(max(minSlots, 2*len(x.slots)))
	}
	mask := len(x.slots) - 1
	for j := home(h, len(x.slots)); ; j = (j + 1) & mask {
		s := &x.slots[j]
		if s.i == 0 {
			*s = hashSlot{h, i + 1}
			x.n++
			return
		}
		if s.h == h {
			s.i = i + 1
			return
		}
	}
}

// resize moves the entries into an array of n slots.
func (x *hashSlots) resize(n int) {
	old := x.slots
	x.slots = make([]hashSlot, n)
	mask := n - 1
	for _, s := range old {
		if s.i == 0 {
			continue
		}
		j := home(s.h, n)
		for x.slots[j].i != 0 {
			j = (j + 1) & mask
		}
		x.slots[j] = s
	}
}

// each calls f with every index stored, in no fixed order.
func (x *hashSlots) each(f func(i int32)) {
	for _, s := range x.slots {
		if s.i != 0 {
			f(s.i - 1)
		}
	}
}

func (x *hashSlots) clone() hashSlots {
	c := *x
	c.slots = slices.Clone(x.slots)
	return c
}

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// fnv64 is FNV-1a over s.
func fnv64(s string) uint64 { return fnvAdd(fnvOffset, s) }

// fnvJoin is FNV-1a over a, sep and b: the hash of the key joinKey makes.
func fnvJoin(a string, sep byte, b string) uint64 {
	h := fnvAdd(fnvOffset, a)
	h ^= uint64(sep)
	h *= fnvPrime
	return fnvAdd(h, b)
}

func fnvAdd(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime
	}
	return h
}
