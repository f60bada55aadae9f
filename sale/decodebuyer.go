package sale

import (
	"encoding/binary"
	"math/bits"
	"unicode/utf8"
	"unsafe"
)

// decodeBuyer decodes a hold or an order, the two commands of every buyer
// in a rush, straight from buf by offsets: the general decoder checks an
// error after every step of every field, which cost more than the fields
// themselves. It reads exactly what DecodeCommand's cases for KindHold and
// KindOrder read, with the text cut from buf as shareText does, and reports
// false for anything else (another kind, a malformed or non-UTF-8 field,
// trailing bytes): DecodeCommand then decodes buf the general way, which
// gives the same command or the error. c must be zero, or hold a command
// decodeBuyer took: it sets every field a hold or an order has, the other
// kind's to zero. On false it may hold part of the fields.
func decodeBuyer(buf []byte, c *Command) bool {
	if len(buf) == 0 {
		return false
	}
	k := Kind(buf[0])
	if k != KindHold && k != KindOrder {
		return false
	}
	all := unsafe.String(&buf[0], len(buf))
	v, i, ok := uvarintAt(buf, 1)
	if !ok {
		return false
	}
	c.Kind = k
	c.Now = unzigzag(v)
	// The text fields follow one another, each after its length: where
	// every length is one byte (under 128, so itself ASCII) and the text
	// all ASCII, one look at their bytes together finds them valid UTF-8.
	var text [4]string
	fields := 4
	if k == KindHold {
		fields = 2
	}
	from := i
	for f := range fields {
		if i < len(buf) && int(buf[i]) < min(0x80, len(buf)-i) { // a length of one byte, the text inside buf
			n := int(buf[i])
			text[f] = all[i+1 : i+1+n]
			i += 1 + n
		} else if text[f], i, ok = cutAt(buf, all, i); !ok {
			return false
		}
	}
	if !ascii(buf[from:i]) {
		for _, t := range text[:fields] {
			if !utf8.ValidString(t) {
				return false
			}
		}
	}
	if k == KindHold {
		c.Drop, c.Visitor = text[0], text[1]
		c.HoldID, c.Customer, c.IdemKey = "", "", ""
		if i >= len(buf) || buf[i] > 1 {
			return false
		}
		c.Early = buf[i] == 1
		if v, i, ok = uvarintAt(buf, i+1); !ok {
			return false
		}
		c.Seq = unzigzag(v)
		if v, i, ok = uvarintAt(buf, i); !ok {
			return false
		}
		c.Quantity = unzigzag(v)
		return i == len(buf)
	}
	c.HoldID, c.Visitor, c.Customer, c.IdemKey = text[0], text[1], text[2], text[3]
	c.Drop, c.Early, c.Seq, c.Quantity = "", false, 0, 0
	return i == len(buf)
}

// cutAt reads the text field at buf[i:] (a uvarint length, then the text)
// as a substring of all, which is buf, and returns the offset after it.
// Whether the text is UTF-8 is for the caller to check.
func cutAt(buf []byte, all string, i int) (string, int, bool) {
	n, j, ok := uvarintAt(buf, i)
	if !ok || n > uint64(len(buf)-j) {
		return "", i, false
	}
	return all[j : j+int(n)], j + int(n), true
}

// ascii reports whether b is all ASCII, eight bytes at a time: the bytes
// past the last whole eight are read again with the seven before them,
// and text shorter than eight as two loads of four, two or one that may
// overlap, instead of a loop over each byte.
func ascii(b []byte) bool {
	const high = 0x8080808080808080
	n := len(b)
	switch {
	case n >= 8:
		or := binary.LittleEndian.Uint64(b[n-8:])
		for ; len(b) >= 8; b = b[8:] {
			or |= binary.LittleEndian.Uint64(b)
		}
		return or&high == 0
	case n >= 4:
		return uint64(binary.LittleEndian.Uint32(b)|binary.LittleEndian.Uint32(b[n-4:]))&high == 0
	case n >= 2:
		return uint64(binary.LittleEndian.Uint16(b)|binary.LittleEndian.Uint16(b[n-2:]))&high == 0
	case n == 1:
		return b[0] < 0x80
	}
	return true
}

// uvarintAt reads the uvarint at buf[i:] and returns it and the offset
// after it, as binary.Uvarint reads it (false where it reports n <= 0).
func uvarintAt(buf []byte, i int) (uint64, int, bool) {
	if i < len(buf) && buf[i] < 0x80 {
		return uint64(buf[i]), i + 1, true
	}
	return uvarintLong(buf, i)
}

// uvarintLong is uvarintAt for a uvarint of more than one byte (a time in
// unix ms takes six). One of up to eight bytes with eight to read is taken
// from one load: its 7-bit groups are moved together in three steps
// instead of a loop over each byte. Up to eight bytes hold 56 bits, so
// none overflows, as in binary.Uvarint.
func uvarintLong(buf []byte, i int) (uint64, int, bool) {
	if i >= 0 && len(buf)-i >= 8 {
		w := binary.LittleEndian.Uint64(buf[i:])
		if last := ^w & 0x8080808080808080; last != 0 {
			n := bits.TrailingZeros64(last)/8 + 1 // the uvarint's bytes
			w &= 0x7f7f7f7f7f7f7f7f >> (64 - 8*n)
			w = w&0x007f007f007f007f | w&0x7f007f007f007f00>>1
			w = w&0x00003fff00003fff | w&0x3fff00003fff0000>>2
			w = w&0x000000000fffffff | w&0x0fffffff00000000>>4
			return w, i + n, true
		}
	}
	if i < 0 || i > len(buf) {
		return 0, i, false
	}
	v, n := binary.Uvarint(buf[i:])
	if n <= 0 {
		return 0, i, false
	}
	return v, i + n, true
}

// unzigzag is binary.Varint's reading of a uvarint.
func unzigzag(ux uint64) int64 {
	x := int64(ux >> 1)
	if ux&1 != 0 {
		x = ^x
	}
	return x
}
