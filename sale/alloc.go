package sale

import (
	"slices"
	"strconv"
	"unsafe"
)

// The hot path of a rush is a hold and an order per buyer. What follows
// keeps their cost per command low: their text is read in place, keys for
// look-ups are built on the stack, and the strings a new hold or order
// keeps are made in one allocation. Holds and orders live in tables
// (table.go).

// keyBuf is a stack buffer for keys; longer keys spill to the heap.
type keyBuf [256]byte

// joinKey appends a + sep + b: the Tickets key of a ticket is drop "/"
// visitor, an order's whole key in the idempotency index is customer
// "\x00" Idempotency-Key.
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
// The state keeps none of them: what a new hold or order keeps, newID
// copies in its one allocation, and refusals format their messages. So
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
