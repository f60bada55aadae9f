package sale

import (
	"encoding/hex"
	"strconv"

	"github.com/floodgate/floodgate/internal/handjson"
)

// orderLeafFields is the leaf of order o, number i of its drop's log, whose
// hold is h.
func orderLeafFields(o *Order, h *Hold, i int64) Leaf {
	early, seq := h.Early, h.Seq
	return Leaf{
		Type:         LeafOrder,
		Drop:         o.Drop,
		Order:        o.ID,
		CustomerHash: CustomerHash(o.Drop, o.Customer),
		Position:     h.Position + 1,
		AdmittedAt:   LogTime(admittedAt(h)),
		OrderedAt:    LogTime(o.CreatedAt),
		Quantity:     o.Quantity,
		Early:        &early,
		Seq:          &seq,
		LogIndex:     i,
	}
}

// admittedAt is when the visitor of hold h was admitted, as its order's leaf
// says: the hold's time when the admission's is not known.
func admittedAt(h *Hold) int64 {
	if h.AdmittedAt == 0 {
		return h.CreatedAt
	}
	return h.AdmittedAt
}

// appendOrderLeaf appends the leaf of order o (number i of its drop's log,
// hold h): the bytes json.Marshal gives for orderLeafFields(o, h, i),
// written without reflection or time formatting, because every order's
// answer carries its receipt and so its leaf.
func appendOrderLeaf(dst []byte, o *Order, h *Hold, i int64) []byte {
	dst = append(dst, `{"type":"order","drop":`...)
	dst = handjson.AppendString(dst, o.Drop)
	if o.ID != "" {
		dst = append(dst, `,"order":`...)
		dst = handjson.AppendString(dst, o.ID)
	}
	dst = append(dst, `,"customer_hash":"`...)
	sum := customerHashSum(o.Drop, o.Customer)
	dst = hex.AppendEncode(dst, sum[:])
	dst = append(dst, '"')
	if p := h.Position + 1; p != 0 {
		dst = append(dst, `,"position":`...)
		dst = strconv.AppendInt(dst, p, 10)
	}
	dst = append(dst, `,"admitted_at":"`...)
	dst = appendLogTime(dst, admittedAt(h))
	dst = append(dst, `","ordered_at":"`...)
	dst = appendLogTime(dst, o.CreatedAt)
	dst = append(dst, '"')
	if o.Quantity != 0 {
		dst = append(dst, `,"quantity":`...)
		dst = strconv.AppendInt(dst, o.Quantity, 10)
	}
	dst = append(dst, `,"early":`...)
	dst = strconv.AppendBool(dst, h.Early)
	dst = append(dst, `,"seq":`...)
	dst = strconv.AppendInt(dst, h.Seq, 10)
	dst = append(dst, `,"log_index":`...)
	dst = strconv.AppendInt(dst, i, 10)
	return append(dst, '}')
}

// appendLogTime appends LogTime(ms) without time.Format's layout parsing,
// for the years 0 to 9999 (anything else through LogTime).
func appendLogTime(dst []byte, ms int64) []byte {
	t := Time(ms)
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		return append(dst, LogTime(ms)...)
	}
	hour, min, sec := t.Clock()
	dst = appendDigits(dst, year, 4)
	dst = append(dst, '-')
	dst = appendDigits(dst, int(month), 2)
	dst = append(dst, '-')
	dst = appendDigits(dst, day, 2)
	dst = append(dst, 'T')
	dst = appendDigits(dst, hour, 2)
	dst = append(dst, ':')
	dst = appendDigits(dst, min, 2)
	dst = append(dst, ':')
	dst = appendDigits(dst, sec, 2)
	dst = append(dst, '.')
	dst = appendDigits(dst, t.Nanosecond()/1e6, 3)
	return append(dst, 'Z')
}

// appendDigits appends v (0 <= v < 10^n) in n decimal digits.
func appendDigits(dst []byte, v, n int) []byte {
	for i := n - 1; i >= 0; i-- {
		d := v
		for range i {
			d /= 10
		}
		dst = append(dst, byte('0'+d%10))
	}
	return dst
}
