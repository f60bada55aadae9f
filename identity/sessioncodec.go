package identity

import (
	"bytes"
	"encoding/json"

	"github.com/floodgate/floodgate/internal/handjson"
)

// Every order verifies its buyer's session, so the check is kept cheap: the
// HMACs of the key are reused instead of built per call (Sessions.key, a
// hmacpool.Key), and the claims that Issue writes are read without
// reflection.

// decodeSessionClaims reads the claims of a session token: the shape
// json.Marshal gives a sessionClaims (`{"sid":…,"sub":…,"prv":…,"exp":…}`,
// sid and prv left out when empty) with strings without escapes is read
// directly (handjson.PlainStringOf, handjson.PlainInt), its strings taken
// from one copy of b; anything else through json.Unmarshal, which gives the
// same claims for that shape. b is not kept.
func decodeSessionClaims(b []byte) (sessionClaims, error) {
	if c, ok := decodeSessionClaimsFast(b); ok {
		return c, nil
	}
	// json.Unmarshal's arguments escape to the heap: a copy keeps b (a
	// buffer on the caller's stack) off it.
	var c sessionClaims
	err := json.Unmarshal(bytes.Clone(b), &c)
	return c, err
}

func decodeSessionClaimsFast(b []byte) (c sessionClaims, ok bool) {
	if len(b) == 0 || b[0] != '{' {
		return c, false
	}
	whole := string(b)
	b = b[1:]
	if rest, ok := handjson.CutPrefix(b, `"sid":`); ok {
		if c.ID, b, ok = handjson.PlainStringOf(whole, rest); !ok {
			return c, false
		}
		if b, ok = handjson.CutPrefix(b, ","); !ok {
			return c, false
		}
	}
	rest, ok := handjson.CutPrefix(b, `"sub":`)
	if !ok {
		return c, false
	}
	if c.Customer, b, ok = handjson.PlainStringOf(whole, rest); !ok {
		return c, false
	}
	if rest, ok := handjson.CutPrefix(b, `,"prv":`); ok {
		if c.Provider, b, ok = handjson.PlainStringOf(whole, rest); !ok {
			return c, false
		}
	}
	if b, ok = handjson.CutPrefix(b, `,"exp":`); !ok {
		return c, false
	}
	if c.Expires, b, ok = handjson.PlainInt(b); !ok {
		return c, false
	}
	return c, len(b) == 1 && b[0] == '}'
}
