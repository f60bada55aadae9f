package rush

import (
	"encoding/json"

	"github.com/floodgate/floodgate/internal/handjson"
)

// errorCode returns the code of an API error answer ({"error":{"code",
// "message"}}), or "" when b is not one, as json.Unmarshal reads it. Most
// error answers of a rush are joins told the drop is sold out, one for every
// late visitor: the shape the API writes (api.WriteError) is read by hand,
// without allocating for the codes the rush acts on; anything else goes to
// encoding/json.
func errorCode(b []byte) string {
	if code, ok := readErrorCode(b); ok {
		return code
	}
	var e struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	if json.Unmarshal(b, &e) != nil {
		return ""
	}
	return e.Error.Code
}

// readErrorCode reads exactly {"error":{"code":"…","message":"…"}} with
// plain strings and white space only at the end, or reports false.
func readErrorCode(b []byte) (string, bool) {
	rest, ok := handjson.CutPrefix(b, `{"error":{"code":`)
	if !ok {
		return "", false
	}
	code, rest, ok := handjson.PlainBytes(rest)
	if !ok {
		return "", false
	}
	if rest, ok = handjson.CutPrefix(rest, `,"message":`); !ok {
		return "", false
	}
	if _, rest, ok = handjson.PlainBytes(rest); !ok {
		return "", false
	}
	if rest, ok = handjson.CutPrefix(rest, `}}`); !ok || len(skipSpace(rest)) != 0 {
		return "", false
	}
	return errorCodeOf(code), true
}

// errorCodeOf returns the codes the rush acts on without allocating.
func errorCodeOf(b []byte) string {
	for _, known := range [...]string{"sold_out", "not_admitted", "hold_expired", "limit_exceeded", "rate_limited", "challenge_required"} {
		if string(b) == known {
			return known
		}
	}
	return string(b)
}
