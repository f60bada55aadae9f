package identity

import (
	"encoding/json"

	"github.com/floodgate/floodgate/internal/api"
)

// Every order verifies its buyer's session, so the check is kept cheap: the
// HMACs of the key are reused instead of built per call (Sessions.key, a
// hmacpool.Key), and the claims that Issue writes are read without
// reflection.

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
