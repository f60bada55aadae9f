package sale

import (
	"slices"
	"strconv"
)

// The hot path of a rush is a hold and an order per buyer. What follows
// keeps their cost per command low: keys for look-ups are built on the
// stack, and the strings a new hold or order keeps are made in one
// allocation. Holds and orders live in tables (table.go).

// keyBuf is a stack buffer for keys; longer keys spill to the heap.
type keyBuf [256]byte

// joinKey appends a + sep + b: the Tickets key of a ticket is drop "/"
// visitor, an order's whole key in the idempotency index is customer
// "\x00" Idempotency-Key (idemKey).
func joinKey(buf []byte, a string, sep byte, b string) []byte {
	buf = append(buf, a...)
	buf = append(buf, sep)
	return append(buf, b...)
}

// newID returns prefix + base-36 n + "_" + shortID(visitor) (an id whose
// number idNumber reads as n when numbered(n)), and in the
// same allocation a + sep + b: a new object's id and the index key that
// leads to it.
func newID(prefix string, n uint64, visitor, a string, sep byte, b string) (id, key string) {
	var kb keyBuf
	buf := append(kb[:0], prefix...)
	buf = strconv.AppendUint(buf, n, 36)
	buf = append(buf, '_')
	buf = append(buf, shortID(visitor)...)
	cut := len(buf)
	buf = joinKey(buf, a, sep, b)
	s := string(buf)
	return s[:cut], s[cut:]
}

// numbered reports whether idNumber reads n from the id newID makes of it.
func numbered(n uint64) bool { return n >= 1 && n <= 1<<31-1 }

// room makes room for one more element in an append-only log (a drop's
// transparency log; the order feed grows in chunks, feed.go), doubling its
// capacity when full: append
// alone grows large slices by a quarter, which copies (and allocates) about
// five times the final size over the life of the slice.
func room[T any](s []T) []T {
	if len(s) < cap(s) {
		return s
	}
	return slices.Grow(s, max(len(s), 16))
}

// oneCopy makes the text fields of a buyer's command (hold, release,
// order: the commands of a rush) substrings of one copy of its encoding,
// one allocation instead of one per field. What the state keeps of them
// keeps that copy alive, which is as small as the command. Other kinds
// copy each field: a small one kept must not pin a large command.
func (d *decoder) oneCopy(buf []byte, k Kind) {
	switch k {
	case KindHold, KindRelease, KindOrder:
		if d.err == nil {
			d.all = string(buf)
		}
	}
}
