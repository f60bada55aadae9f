package handjson

import (
	"encoding/binary"
	"unicode/utf8"
)

// The fast paths of the hand-written decoders (ticket claims, session
// claims) read the one shape their encoder writes with these, and hand
// anything else to encoding/json: each reports false for input it does not
// read exactly as json.Unmarshal would.

// CutPrefix returns b without prefix, and whether b started with it.
func CutPrefix(b []byte, prefix string) ([]byte, bool) {
	if len(b) < len(prefix) || string(b[:len(prefix)]) != prefix {
		return b, false
	}
	return b[len(prefix):], true
}

// PlainString reads a JSON string at the start of b that has no escapes or
// control characters and is valid UTF-8, and returns it and the rest of b.
func PlainString(b []byte) (string, []byte, bool) {
	n, ok := plainEnd(b)
	if !ok {
		return "", b, false
	}
	return string(b[1:n]), b[n+1:], true
}

// PlainBytes is PlainString without the copy: the string is returned as
// the bytes of b between the quotes.
func PlainBytes(b []byte) ([]byte, []byte, bool) {
	n, ok := plainEnd(b)
	if !ok {
		return nil, b, false
	}
	return b[1:n], b[n+1:], true
}

// PlainStringOf is PlainString reading b, the end of whole (b holds the
// bytes of whole[len(whole)-len(b):]): the string it returns is that part
// of whole, not a copy. A decoder that reads several strings of one input
// converts the input to a string once and takes each of them from it.
func PlainStringOf(whole string, b []byte) (string, []byte, bool) {
	n, ok := plainEnd(b)
	if !ok {
		return "", b, false
	}
	at := len(whole) - len(b)
	return whole[at+1 : at+n], b[n+1:], true
}

// plainEnd finds the closing quote of the string PlainString reads.
func plainEnd(b []byte) (int, bool) {
	if len(b) == 0 || b[0] != '"' {
		return 0, false
	}
	ascii := true
	for i := 1; i < len(b); i++ {
		for i+8 <= len(b) && plain8(binary.LittleEndian.Uint64(b[i:])) {
			i += 8
		}
		if i == len(b) {
			break
		}
		switch c := b[i]; {
		case c == '"':
			if !ascii && !utf8.Valid(b[1:i]) {
				return 0, false
			}
			return i, true
		case c < 0x20 || c == '\\':
			return 0, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return 0, false
}

// plain8 reports whether none of the eight bytes of x ends a plain string
// or leaves it: no quote, backslash, control character or byte of a
// multi-byte UTF-8 sequence. A session token's or a ticket's strings are
// read eight bytes a step. (A byte of x below 0x20 makes x-0x20… borrow into
// its top bit; has(x, c) has a top bit set where a byte of x is c.)
func plain8(x uint64) bool {
	return (x|(x-ones*0x20)|has(x, '"')|has(x, '\\'))&tops == 0
}

// safe8 is plain8 for AppendString: none of the eight bytes is escaped,
// so neither is <, > or &.
func safe8(x uint64) bool {
	return (x|(x-ones*0x20)|has(x, '"')|has(x, '\\')|has(x, '<')|has(x, '>')|has(x, '&'))&tops == 0
}

const ones, tops = 0x0101010101010101, 0x8080808080808080

// has sets the top bit of each byte of x that is c (c below 0x80), and may
// set it in bytes above such a byte; of none when no byte is c.
func has(x uint64, c byte) uint64 {
	v := x ^ ones*uint64(c)
	return (v - ones) &^ v
}

// PlainInt reads an integer -?(0|[1-9][0-9]*) of at most 15 digits at the
// start of b (exact in an int64 and in a float64), and returns it and the
// rest of b.
func PlainInt(b []byte) (int64, []byte, bool) {
	i := 0
	neg := false
	if len(b) > 0 && b[0] == '-' {
		neg = true
		i++
	}
	start := i
	var n int64
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		n = n*10 + int64(b[i]-'0')
		i++
	}
	digits := i - start
	if digits == 0 || digits > 15 || (digits > 1 && b[start] == '0') {
		return 0, b, false
	}
	if neg {
		n = -n
	}
	return n, b[i:], true
}
