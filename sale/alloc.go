package sale

import (
	"math"
	"slices"
	"unsafe"
)

// The hot path of a rush is a hold and an order per buyer. What follows
// keeps their cost per command low: their text is read in place, keys for
// look-ups are built on the stack, and the strings a new hold or order
// keeps are cut from a chunk of text (textArena). Holds and orders live in
// tables (table.go).

// keyBuf is a stack buffer for keys and ids; longer ones spill to the heap.
type keyBuf [256]byte

// joinKey appends a + sep + b: the Tickets key of a ticket is drop "/"
// visitor.
func joinKey(buf []byte, a string, sep byte, b string) []byte {
	buf = append(buf, a...)
	buf = append(buf, sep)
	return append(buf, b...)
}

// appendID appends prefix + base-36 n + "_" + shortID(visitor): an id
// whose number idNumber reads as n when numbered(n).
func appendID(buf []byte, prefix string, n uint64, visitor string) []byte {
	buf = append(buf, prefix...)
	buf = appendBase36(buf, n)
	buf = append(buf, '_')
	return append(buf, shortID(visitor)...)
}

// appendBase36 appends n in base 36, as strconv.AppendUint(buf, n, 36)
// does: dividing by a constant is a multiply, where strconv divides by a
// base it reads at run time, a division per digit.
func appendBase36(buf []byte, n uint64) []byte {
	const digits = "0123456789abcdefghijklmnopqrstuvwxyz"
	var b [13]byte // 36¹³ > 2⁶⁴
	i := len(b)
	for n >= 36 {
		i--
		b[i] = digits[n%36]
		n /= 36
	}
	i--
	b[i] = digits[n]
	return append(buf, b[i:]...)
}

// textArena keeps the text of the holds and orders the state makes: a new
// hold's id and visitor, a new order's id, customer and Idempotency-Key,
// each object's in one block. The blocks are cut from chunks of
// arenaChunk bytes without pointers, one after the other, where one
// allocation each cost a call into the allocator per buyer's command and
// a size class's rounding. A string the arena hands out points into its
// chunk, which keeps the chunk alive, and its bytes are never written
// again: the state keeps its holds and orders as long as it lives, so the
// chunks hold no text that could have been freed. A copy of the state
// (Clone) starts a chunk of its own, so the two never write where the
// other's strings look.
type textArena struct {
	free []byte // the unused end of the current chunk
}

const arenaChunk = 16 << 10

// text returns a string with the bytes of b.
func (a *textArena) text(b []byte) string {
	n := len(b)
	if n == 0 {
		return ""
	}
	if n > len(a.free) {
		if n > arenaChunk/16 {
			return string(b)
		}
		a.free = make([]byte, arenaChunk)
	}
	p := a.free[:n:n]
	a.free = a.free[n:]
	copy(p, b)
	return unsafe.String(&p[0], n)
}

// holdText returns a new hold's id, made from its number n, and its copy
// of visitor, in one block: the id ends with the visitor's first bytes,
// which the copy starts with.
func (a *textArena) holdText(n uint64, visitor string) (id, vis string) {
	var kb keyBuf
	buf := appendID(kb[:0], "h_", n, "")
	cut := len(buf)
	buf = append(buf, visitor...)
	s := a.text(buf)
	return s[:cut+len(shortID(visitor))], s[cut:]
}

// orderText returns a new order's id, made from its number n and its
// visitor, and its copies of customer and key, in one block.
func (a *textArena) orderText(n uint64, visitor, customer, key string) (id, cust, k string) {
	var kb keyBuf
	buf := appendID(kb[:0], "o_", n, visitor)
	cut := len(buf)
	buf = append(buf, customer...)
	buf = append(buf, key...)
	s := a.text(buf)
	return s[:cut], s[cut : cut+len(customer)], s[cut+len(customer):]
}

// numbered reports whether idNumber reads n from the id appendID makes of it.
func numbered(n uint64) bool { return n >= 1 && n <= 1<<31-1 }

// room makes room for one more element in a slice that grows by one per
// buyer (a drop's customers; the order feed and the transparency log grow
// in chunks, feed.go, leaflog.go), doubling its capacity when full: append
// alone grows large slices by a quarter, which copies (and allocates) about
// five times the final size over the life of the slice.
func room[T any](s []T) []T {
	if len(s) < cap(s) {
		return s
	}
	return slices.Grow(s, max(len(s), 16))
}

// shareText makes the text fields of a buyer's command (hold, release,
// order: the commands of a rush) substrings of buf itself, without a copy.
// The state keeps none of them: what a new hold or order keeps, the
// state's textArena copies, and refusals format their messages. So
// nothing of buf outlives the command's Apply, and buf must not change
// while the command is in use (the store applies a log entry's bytes,
// which nothing writes again). The replay of the property test and
// FuzzDecodeCommand overwrite the bytes after Apply and find the state and
// the results unchanged. Other kinds copy each field.
func (d *decoder) shareText(buf []byte, k Kind) {
	switch k {
	case KindHold, KindRelease, KindOrder:
		if d.err == nil && len(buf) > 0 {
			d.all = unsafe.String(&buf[0], len(buf))
		}
	}
}

// The indexes that take an entry per buyer (tickets, the customers' records,
// the tables' numbers) are sized ahead for the buyers a drop can have, so
// that a rush does not double them as it goes: doubling an index of a
// million entries moves each one and touches fresh memory twice its size,
// all inside one command's Apply. Each unit of stock goes to one buyer at
// most, so a drop's stock (its unsold units, for a state read back) bounds
// the holds and orders still to come, unless holds lapse and return their
// units; up to maxReserve each, past which the indexes grow as before. Only
// arrays without pointers are sized ahead, which the collector never reads,
// and the sizes change how fast an entry is found, never which one.
const maxReserve = 1 << 20

// expect makes room for n more buyers (at most maxReserve).
func (s *State) expect(n int64) {
	k := int(min(n, maxReserve))
	if k <= 0 {
		return
	}
	s.Tickets.reserve(k)
	s.Holds.reserve(int(min(s.NextHold, math.MaxInt32)) + k)
	s.Orders.reserve(int(min(s.NextOrder, math.MaxInt32)) + k)
	if s.custs.built {
		s.custs.reserve(k)
	}
}

// unsold is the units of the open drops not sold or awaiting payment, at
// most maxReserve: the orders still to come, in most cases.
func (s *State) unsold() int {
	var n int64
	for _, d := range s.Drops {
		if !d.Closed {
			n += d.Available + d.Held
		}
	}
	return int(min(n, maxReserve))
}
