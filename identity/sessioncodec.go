package identity

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"hash"
	"sync"

	"github.com/floodgate/floodgate/internal/api"
)

// Every order verifies its buyer's session, so the check is kept cheap: the
// HMACs of the key are reused instead of built per call, and the claims
// that Issue writes are read without reflection.

// sessionKey is the signing key with its reusable HMACs.
type sessionKey struct {
	key  []byte
	macs sync.Pool // of *sessionMAC
}

// sessionMAC is an HMAC with room for its input and sum.
type sessionMAC struct {
	h   hash.Hash
	in  []byte
	sum []byte
}

// mac appends the HMAC-SHA256 of payload to dst.
func (k *sessionKey) mac(dst []byte, payload string) []byte {
	m, _ := k.macs.Get().(*sessionMAC)
	if m == nil {
		m = &sessionMAC{h: hmac.New(sha256.New, k.key), sum: make([]byte, 0, sha256.Size)}
	}
	m.in = append(m.in[:0], payload...)
	m.h.Write(m.in)
	m.sum = m.h.Sum(m.sum[:0])
	m.h.Reset()
	dst = append(dst, m.sum...)
	if cap(m.in) <= 4096 {
		k.macs.Put(m)
	}
	return dst
}

// decodeSessionClaims reads the claims of a session token: the shape
// json.Marshal gives a sessionClaims (`{"sid":…,"sub":…,"prv":…,"exp":…}`,
// sid and prv left out when empty) with strings without escapes is read
// directly (api.PlainString, api.PlainInt); anything else through
// json.Unmarshal, which gives the same claims for that shape.
func decodeSessionClaims(b []byte) (sessionClaims, error) {
	if c, ok := decodeSessionClaimsFast(b); ok {
		return c, nil
	}
	var c sessionClaims
	err := json.Unmarshal(b, &c)
	return c, err
}

func decodeSessionClaimsFast(b []byte) (c sessionClaims, ok bool) {
	if len(b) == 0 || b[0] != '{' {
		return c, false
	}
	b = b[1:]
	if rest, ok := api.CutPrefix(b, `"sid":`); ok {
		if c.ID, b, ok = api.PlainString(rest); !ok {
			return c, false
		}
		if b, ok = api.CutPrefix(b, ","); !ok {
			return c, false
		}
	}
	rest, ok := api.CutPrefix(b, `"sub":`)
	if !ok {
		return c, false
	}
	if c.Customer, b, ok = api.PlainString(rest); !ok {
		return c, false
	}
	if rest, ok := api.CutPrefix(b, `,"prv":`); ok {
		if c.Provider, b, ok = api.PlainString(rest); !ok {
			return c, false
		}
	}
	if b, ok = api.CutPrefix(b, `,"exp":`); !ok {
		return c, false
	}
	if c.Expires, b, ok = api.PlainInt(b); !ok {
		return c, false
	}
	return c, len(b) == 1 && b[0] == '}'
}
