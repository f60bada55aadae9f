package handjson

import "unicode/utf8"

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
