package testkit

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
)

// MustClaims decodes the payload of the compact JWS token (a queue ticket,
// an order's receipt) into v without checking its signature, and fails tb
// when token is not header.payload.signature with a JSON payload.
func MustClaims(tb testing.TB, token string, v any) {
	tb.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		tb.Fatalf("%q is not a compact JWS", token)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err == nil {
		err = json.Unmarshal(payload, v)
	}
	if err != nil {
		tb.Fatalf("the payload of %q: %v", token, err)
	}
}
