package sale

import (
	"hash/maphash"
	"maps"
	"math/bits"
	"slices"
	"unsafe"
)

// hashIndex finds an item of an array (a hold of the tickets, an order of
// the idempotency index, a drop's customer) by a 64-bit hash of its key
// (keyHash), as its index in the array. Growing it never reads a key again (a
// cache miss each in a big state) and the collector has no strings in it
// to scan. Every candidate is checked against the item itself, and items
// whose keys share a hash (or the part of it a slot keeps) are all kept
// and each is found, so a collision, made on purpose or not, costs one
// more check and never a wrong answer. more keeps items under their whole
// key when that key is not the item's own (tickets read from a snapshot
// that name another hold's drop and visitor).
type hashIndex struct {
	m    hashSlots        // hash → indexes
	more map[string]int32 // whole key → index, for keys that are not their item's
}

func newHashIndex(size int) hashIndex { return hashIndex{m: makeHashSlots(size)} }

// findHashed returns the index of the item whose key hashes to h, which
// is says has the key, else the one kept under the whole key, which key
// appends to a buffer (called only if some key went to more); -1 if there
// is none.
func (x *hashIndex) findHashed(h uint64, is func(i int32) bool, key func([]byte) []byte) int {
	return x.findStarted(x.m.start(h), is, key)
}

// findStarted is findHashed for a look-up that hashSlots.start began.
func (x *hashIndex) findStarted(p probe, is func(i int32) bool, key func([]byte) []byte) int {
	if i, ok := x.m.findFrom(p, is); ok {
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

// putHashed indexes item i, whose key hashes to h and is not indexed yet.
func (x *hashIndex) putHashed(h uint64, i int32) { x.m.insert(h, i) }

// spill indexes item i under the whole key, which is not the item's own.
func (x *hashIndex) spill(key string, i int32) {
	if x.more == nil {
		x.more = map[string]int32{}
	}
	x.more[key] = i
}

// reserve makes room for n more keys without growing (hashSlots.reserve).
func (x *hashIndex) reserve(n int) { x.m.reserve(n) }

// indexed is the number of keys indexed.
func (x *hashIndex) indexed() int { return x.m.len() + len(x.more) }

func (x *hashIndex) cloneIndex() hashIndex {
	return hashIndex{m: x.m.clone(), more: maps.Clone(x.more)}
}

// hashSlots maps a 64-bit hash to indexes: one flat array of 8-byte slots,
// open addressing with linear probing, at most half full. A look-up in a
// big index is one cache miss, where a Go map of a million entries costs
// several (its directory, its control word, its slot), and the array has
// no pointers for the collector to scan. A slot keeps the tag of its hash:
// the top 32 bits of the hash times 2⁶⁴/φ (Fibonacci hashing, so all 64
// bits count), whose top bits are the slot to try first (its home) at any
// size, so growing never reads an item. The caller checks the item of
// every slot whose tag matches. Entries are never removed or replaced, and
// entries of one hash stay in the order they were inserted, through growth
// too: the layout decides only how fast an item is found, never which one,
// so the state machine's answers do not depend on it. The zero value is
// empty and "nil" (made is false), like a nil map.
//
// A big index (bigSlots and more) also keeps a filter of its tags that
// fits the processor's cache, and its newest entries in a short list
// (pending) before their slots: a look-up of a hash it lacks (a new
// ticket, a new customer: one per buyer) most often ends at the filter
// without reading a slot, and the slots of the pending entries are
// filled together, their cache misses overlapping, where each look-up and
// insert of a new key waited for one of its own.
type hashSlots struct {
	slots []hashSlot // len a power of two (or 0), at most 2³²
	n     int        // entries, in slots and pending
	made  bool       // as a map made with make, for what reads nil and empty apart
	// pending are the newest entries, in the order they came, not in
	// slots yet; filter has two bits set for the tag of every entry (a
	// 64-bit word per 16 slots). Both are nil below bigSlots slots.
	pending []hashSlot
	filter  []uint64
}

type hashSlot struct {
	tag uint32 // tagOf the hash
	i   int32  // 1 + the index; 0: empty
}

// tagOf is the top half of h times 2⁶⁴/φ.
func tagOf(h uint64) uint32 { return uint32((h * 0x9e3779b97f4a7c15) >> 32) }

// home is the first slot to try for tag in an array of n slots (a power of
// two): the tag's top bits.
func home(tag uint32, n int) int {
	return int(uint64(tag) >> (32 - bits.TrailingZeros(uint(n))))
}

// hugeMin is the size of a slot array from which it asks for huge pages
// (adviseHuge).
const hugeMin = 4 << 20

// minSlots is the size of a non-empty hashSlots' array, at least.
const minSlots = 16

// bigSlots is the size of a slot array (4 MiB) from which the index keeps
// a filter and pending entries; maxPending is how many entries wait for
// their slots, at most.
const (
	bigSlots   = 1 << 19
	maxPending = 64
)

// filterBits returns the word of the filter (of n words, a power of two)
// and the two bits of it that stand for tag: a mix of the tag other than
// the one that picks its home, so that the tags of one run of slots do
// not share a word.
func filterBits(tag uint32, n int) (int, uint64) {
	f := uint64(tag) * 0xff51afd7ed558ccd
	w := int(f >> (64 - bits.TrailingZeros(uint(n))))
	return w, 1<<(f&63) | 1<<((f>>6)&63)
}

// mayHave reports whether an entry may have tag: false only if none has.
func (x *hashSlots) mayHave(tag uint32) bool {
	if x.filter == nil {
		return true
	}
	w, b := filterBits(tag, len(x.filter))
	return x.filter[w]&b == b
}

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

func (x *hashSlots) len() int { return x.n }

// reserve makes room for n more entries, so that the next n inserts do
// not grow the array: a big index doubling moves every entry and touches
// fresh memory twice its size. The layout decides only how fast an item is
// found, so a reserved index answers as one that grew. It leaves made as
// it is.
func (x *hashSlots) reserve(n int) {
	if want := slotsFor(x.n + n); n > 0 && want > len(x.slots) {
		x.resize(want)
	}
}

// find returns the first index stored under h, in the order they were
// inserted, that is says yes to.
func (x *hashSlots) find(h uint64, is func(i int32) bool) (int32, bool) {
	return x.findFrom(x.start(h), is)
}

// probe is a look-up under way: the tag of its hash, and whether the
// filter lets an entry have it.
type probe struct {
	tag   uint32
	maybe bool
}

// start begins the look-up of h: it reads the filter, which in a big
// index may miss the cache. A caller that starts a look-up, does work
// that does not depend on it, then finishes it (findFrom) lets the
// processor fetch the filter while that work goes on.
func (x *hashSlots) start(h uint64) probe {
	tag := tagOf(h)
	return probe{tag, x.n > 0 && x.mayHave(tag)}
}

// findFrom is find for a look-up that start began.
func (x *hashSlots) findFrom(p probe, is func(i int32) bool) (int32, bool) {
	if !p.maybe {
		return 0, false
	}
	tag := p.tag
	mask := len(x.slots) - 1
	for j := home(tag, len(x.slots)); ; j = (j + 1) & mask {
		s := x.slots[j]
		if s.i == 0 {
			break
		}
		if s.tag == tag && is(s.i-1) {
			return s.i - 1, true
		}
	}
	for _, s := range x.pending { // newer than any in slots
		if s.tag == tag && is(s.i-1) {
			return s.i - 1, true
		}
	}
	return 0, false
}

// insert stores i under h, after the indexes already there.
func (x *hashSlots) insert(h uint64, i int32) {
	x.made = true
	if 2*(x.n+1) > len(x.slots) {
		x.resize(max(minSlots, 2*len(x.slots)))
	}
	tag := tagOf(h)
	x.n++
	if x.filter == nil {
		x.place(hashSlot{tag, i + 1}, home(tag, len(x.slots)))
		return
	}
	w, b := filterBits(tag, len(x.filter))
	x.filter[w] |= b
	x.pending = append(x.pending, hashSlot{tag, i + 1})
	if len(x.pending) == maxPending {
		x.flush()
	}
}

// flush puts the pending entries in their slots, in the order they came.
// Their homes are read one after the other without waiting on each other,
// so that their cache misses overlap.
func (x *hashSlots) flush() {
	for _, s := range x.pending {
		x.place(s, home(s.tag, len(x.slots)))
	}
	x.pending = x.pending[:0]
}

// place puts s in the first free slot from j on.
func (x *hashSlots) place(s hashSlot, j int) {
	mask := len(x.slots) - 1
	for x.slots[j].i != 0 {
		j = (j + 1) & mask
	}
	x.slots[j] = s
}

// resize moves the entries into an array of n slots, in the order of the
// old array from an empty slot on, so that no run of full slots is cut at
// the array's end and the entries of one hash keep their order; the
// pending ones go last, and a big array gets a filter of every tag.
func (x *hashSlots) resize(n int) {
	old, pending := x.slots, x.pending
	x.slots, x.pending, x.filter = make([]hashSlot, n), nil, nil
	if size := uintptr(n) * unsafe.Sizeof(hashSlot{}); size >= hugeMin {
		adviseHuge(unsafe.Pointer(&x.slots[0]), size)
	}
	if n >= bigSlots {
		x.filter = hugeWords(n / 16)
		x.pending = make([]hashSlot, 0, maxPending)
	}
	start := 0
	for start < len(old) && old[start].i != 0 {
		start++
	}
	for k := range old {
		if s := old[(start+k)&(len(old)-1)]; s.i != 0 {
			x.place(s, home(s.tag, n))
			x.mark(s.tag)
		}
	}
	for _, s := range pending {
		x.place(s, home(s.tag, n))
		x.mark(s.tag)
	}
}

// hugeWords returns n zeroed words for a filter. One of 2 MiB or more is
// aligned to 2 MiB and asks for huge pages (adviseHuge), which costs up to
// 2 MiB more of memory: each look-up of a new key reads a random word of
// it, and on 4 KiB pages that read missed the TLB as well as the cache
// (the filter of a million tickets is 2 MiB, 512 pages).
func hugeWords(n int) []uint64 {
	const huge = 2 << 20
	size := uintptr(n) * 8
	if size < huge {
		return make([]uint64, n)
	}
	buf := make([]uint64, n+huge/8)
	p := uintptr(unsafe.Pointer(&buf[0]))
	off := int(((p+huge-1)&^(huge-1) - p) / 8)
	w := buf[off : off+n : off+n]
	adviseHuge(unsafe.Pointer(&w[0]), size)
	return w
}

// mark sets the filter's bits for tag, if there is a filter.
func (x *hashSlots) mark(tag uint32) {
	if x.filter != nil {
		w, b := filterBits(tag, len(x.filter))
		x.filter[w] |= b
	}
}

// each calls f with every index stored, in no fixed order.
func (x *hashSlots) each(f func(i int32)) {
	for _, s := range x.slots {
		if s.i != 0 {
			f(s.i - 1)
		}
	}
	for _, s := range x.pending {
		f(s.i - 1)
	}
}

// clone copies x. An array sized ahead (reserve) that is still sparse is
// not copied whole: the copy gets an array sized for the entries it has,
// which reads the old one once and writes a fraction of it.
func (x *hashSlots) clone() hashSlots {
	c := *x
	if want := slotsFor(x.n); want < len(x.slots) {
		c.resize(want)
		return c
	}
	c.slots = slices.Clone(x.slots)
	c.filter = slices.Clone(x.filter)
	c.pending = slices.Clone(x.pending)
	return c
}

// hashSeed seeds keyHash: one per process, so that nobody outside can
// pick keys that share a hash. Indexes are never saved or sent (snapshots
// write the keys), and their layout decides how fast an item is found,
// never which one, so replicas whose seeds differ give the same answers.
var hashSeed = maphash.MakeSeed()

// keyHash is the hash of an index's key: hash/maphash, which reads the key
// eight bytes and more at a time (AES where the processor has it), where
// FNV-1a took a multiply per byte, one after the other.
func keyHash(key []byte) uint64 { return maphash.Bytes(hashSeed, key) }

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// fnv64 is FNV-1a over s, for what needs the same number in every process
// (an older drop's start key, fairness.go).
func fnv64(s string) uint64 {
	h := uint64(fnvOffset)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime
	}
	return h
}

// prefetchHash asks for the filter word (or, without a filter, the home
// slot) that a look-up of h reads first.
func (x *hashSlots) prefetchHash(h uint64) {
	if x.n == 0 {
		return
	}
	tag := tagOf(h)
	if x.filter != nil {
		w, _ := filterBits(tag, len(x.filter))
		prefetch(uintptr(unsafe.Pointer(&x.filter[w])))
		return
	}
	prefetch(uintptr(unsafe.Pointer(&x.slots[home(tag, len(x.slots))])))
}
