package queue

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"strconv"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/golang-jwt/jwt/v5"

	"github.com/floodgate/floodgate/internal/handjson"
	"github.com/floodgate/floodgate/internal/hmacpool"
)

// appendClaims appends c as json.Marshal writes it, byte for byte: every
// join signs one, and reflection was a visible share of a join's CPU.
// Anything it does not write itself (an audience, a time precision other
// than jwt's default of seconds) goes through json.Marshal.
func appendClaims(dst []byte, c *Claims) ([]byte, error) {
	if c.Audience != nil || jwt.TimePrecision != time.Second {
		b, err := json.Marshal(c)
		return append(dst, b...), err
	}
	dst = append(dst, `{"drop":`...)
	dst = handjson.AppendString(dst, c.Drop)
	dst = append(dst, `,"vid":`...)
	dst = handjson.AppendString(dst, c.Visitor)
	if c.Early {
		dst = append(dst, `,"early":true`...)
	}
	dst = append(dst, `,"seq":`...)
	dst = strconv.AppendInt(dst, c.Seq, 10)
	if c.Position != 0 {
		dst = append(dst, `,"pos":`...)
		dst = strconv.AppendInt(dst, c.Position, 10)
	}
	r := &c.RegisteredClaims
	if r.Issuer != "" {
		dst = append(dst, `,"iss":`...)
		dst = handjson.AppendString(dst, r.Issuer)
	}
	if r.Subject != "" {
		dst = append(dst, `,"sub":`...)
		dst = handjson.AppendString(dst, r.Subject)
	}
	if r.ExpiresAt != nil {
		dst = append(dst, `,"exp":`...)
		dst = appendNumericDate(dst, r.ExpiresAt)
	}
	if r.NotBefore != nil {
		dst = append(dst, `,"nbf":`...)
		dst = appendNumericDate(dst, r.NotBefore)
	}
	if r.IssuedAt != nil {
		dst = append(dst, `,"iat":`...)
		dst = appendNumericDate(dst, r.IssuedAt)
	}
	if r.ID != "" {
		dst = append(dst, `,"jti":`...)
		dst = handjson.AppendString(dst, r.ID)
	}
	return append(dst, '}'), nil
}

// appendNumericDate writes d as jwt.NumericDate.MarshalJSON does with a
// precision of a second: the whole seconds, rounded down.
func appendNumericDate(dst []byte, d *jwt.NumericDate) []byte {
	return strconv.AppendInt(dst, d.Truncate(time.Second).Unix(), 10)
}

// flatClaims are the fields of a payload the MAC path reads. A flat struct
// decodes several times faster than jwt's NumericDate.
type flatClaims struct {
	Drop    string  `json:"drop"`
	Visitor string  `json:"vid"`
	Early   bool    `json:"early"`
	Seq     int64   `json:"seq"`
	Pos     int64   `json:"pos"`
	Exp     float64 `json:"exp"`
	Iat     float64 `json:"iat"`
}

// decodeFlatClaims decodes a payload as json.Unmarshal does. The
// shape SignTicket writes is read without reflection; anything else (other
// fields, whitespace, escapes, fractions) goes to json.Unmarshal. The
// strings the direct reading gives are pb's bytes, valid while pb is: the
// caller copies what it keeps.
func decodeFlatClaims(pb []byte) (flatClaims, error) {
	if f, ok := decodeClaimsFast(pb); ok {
		return f, nil
	}
	// json.Unmarshal's arguments escape to the heap: copies keep the fast
	// path's off it.
	var g flatClaims
	err := json.Unmarshal(bytes.Clone(pb), &g)
	return g, err
}

// decodeClaimsFast reads exactly
// {"drop":S,"vid":S[,"early":true],"seq":I[,"pos":I],"exp":I[,"iat":I]}
// where the strings hold no escapes, control characters or invalid UTF-8
// and the numbers are plain integers of at most 15 digits (exact in an
// int64 and a float64). It reports false for anything else.
func decodeClaimsFast(b []byte) (f flatClaims, ok bool) {
	whole := unsafe.String(unsafe.SliceData(b), len(b))
	if b, ok = handjson.CutPrefix(b, `{"drop":`); !ok {
		return f, false
	}
	if f.Drop, b, ok = handjson.PlainStringOf(whole, b); !ok {
		return f, false
	}
	if b, ok = handjson.CutPrefix(b, `,"vid":`); !ok {
		return f, false
	}
	if f.Visitor, b, ok = handjson.PlainStringOf(whole, b); !ok {
		return f, false
	}
	if b, ok = handjson.CutPrefix(b, `,"early":true`); ok {
		f.Early = true
	}
	if b, ok = handjson.CutPrefix(b, `,"seq":`); !ok {
		return f, false
	}
	if f.Seq, b, ok = handjson.PlainInt(b); !ok {
		return f, false
	}
	if b, ok = handjson.CutPrefix(b, `,"pos":`); ok {
		if f.Pos, b, ok = handjson.PlainInt(b); !ok {
			return f, false
		}
	}
	if b, ok = handjson.CutPrefix(b, `,"exp":`); !ok {
		return f, false
	}
	var n int64
	if n, b, ok = handjson.PlainInt(b); !ok {
		return f, false
	}
	f.Exp = float64(n)
	if b, ok = handjson.CutPrefix(b, `,"iat":`); ok {
		if n, b, ok = handjson.PlainInt(b); !ok {
			return f, false
		}
		f.Iat = float64(n)
	}
	return f, len(b) == 1 && b[0] == '}'
}

// ticketMACs keeps the HMACs of the cluster's MAC key for reuse (package
// hmacpool).
var ticketMACs atomic.Pointer[hmacpool.Key]

// ticketMAC writes the 16-byte MAC of a payload segment into out.
func ticketMAC[S string | []byte](out *[16]byte, key []byte, payloadSegment S) {
	p := ticketMACs.Load()
	if p == nil || !p.Is(key) {
		p = hmacpool.New(key)
		ticketMACs.Store(p)
	}
	var sum [sha256.Size]byte
	copy(out[:], hmacpool.Append(p, sum[:0], payloadSegment))
}
