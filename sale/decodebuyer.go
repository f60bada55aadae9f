package sale

import (
	"encoding/binary"
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
// gives the same command or the error. c must be zero; on false it may
// hold part of the fields.
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
	if k == KindHold {
		if c.Drop, i, ok = textAt(buf, all, i); !ok {
			return false
		}
		if c.Visitor, i, ok = textAt(buf, all, i); !ok || i >= len(buf) || buf[i] > 1 {
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
	if c.HoldID, i, ok = textAt(buf, all, i); !ok {
		return false
	}
	if c.Visitor, i, ok = textAt(buf, all, i); !ok {
		return false
	}
	if c.Customer, i, ok = textAt(buf, all, i); !ok {
		return false
	}
	if c.IdemKey, i, ok = textAt(buf, all, i); !ok {
		return false
	}
	return i == len(buf)
}

// textAt reads the text field at buf[i:] (a uvarint length, then valid
// UTF-8) as a substring of all, which is buf, and returns the offset after it.
func textAt(buf []byte, all string, i int) (string, int, bool) {
	n, j, ok := uvarintAt(buf, i)
	if !ok || n > uint64(len(buf)-j) {
		return "", i, false
	}
	s := all[j : j+int(n)]
	if !ascii(buf[j:j+int(n)]) && !utf8.ValidString(s) {
		return "", i, false
	}
	return s, j + int(n), true
}

// ascii reports whether b is all ASCII, eight bytes at a time.
func ascii(b []byte) bool {
	var or uint64
	for len(b) >= 8 {
		or |= binary.LittleEndian.Uint64(b)
		b = b[8:]
	}
	for _, c := range b {
		or |= uint64(c)
	}
	return or&0x8080808080808080 == 0
}

// uvarintAt reads the uvarint at buf[i:] and returns it and the offset
// after it, as binary.Uvarint reads it (false where it reports n <= 0).
func uvarintAt(buf []byte, i int) (uint64, int, bool) {
	if i < len(buf) && buf[i] < 0x80 {
		return uint64(buf[i]), i + 1, true
	}
	if i > len(buf) {
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
