package sale

import "maps"

// hashIndex finds an item of an array (a hold of the tickets, an order of
// the idempotency index, a drop's customer) by a 64-bit FNV-1a hash of its
// key, as its index in the array. Growing it never reads a key again (a
// cache miss each in a big state) and the collector has no strings in it
// to scan. Every hit is checked against the item itself, and a key whose
// hash another has taken goes to more under the whole key, so a collision,
// made on purpose or not, costs a string look-up and never a wrong answer.
type hashIndex struct {
	m    map[uint64]int32 // hash → index
	more map[string]int32 // whole key → index, for hashes another key has taken
}

func newHashIndex(size int) hashIndex { return hashIndex{m: make(map[uint64]int32, size)} }

// findHashed returns the index of the item whose key hashes to h: the one
// under h if is says it has the key, else the one kept under the whole key,
// which key appends to a buffer (called only if some key went to more);
// -1 if there is none.
func (x *hashIndex) findHashed(h uint64, is func(i int32) bool, key func([]byte) []byte) int {
	if i, ok := x.m[h]; ok && is(i) {
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
	if cur, taken := x.m[h]; taken && cur != i {
		x.spill(key(), i)
		return
	}
	if x.m == nil {
		x.m = map[uint64]int32{}
	}
	x.m[h] = i
}

// spill indexes item i under its whole key.
func (x *hashIndex) spill(key string, i int32) {
	if x.more == nil {
		x.more = map[string]int32{}
	}
	x.more[key] = i
}

// indexed is the number of keys indexed.
func (x *hashIndex) indexed() int { return len(x.m) + len(x.more) }

func (x *hashIndex) cloneIndex() hashIndex {
	return hashIndex{m: maps.Clone(x.m), more: maps.Clone(x.more)}
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
