package fairness

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/floodgate/floodgate/internal/jwk"
)

// Token types of the protected header.
const (
	TypeReceipt = "floodgate-receipt+jws"
	TypeHead    = "floodgate-sth+jws"
)

// Signer signs with one Ed25519 key named by kid in the JWKS.
type Signer struct {
	Key ed25519.PrivateKey
	Kid string
}

type header struct {
	Alg string `json:"alg"`
	Kid string `json:"kid"`
	Typ string `json:"typ"`
}

// Sign returns the compact JWS of payload with the given typ. Ed25519 is
// deterministic: the same key and payload give the same token on every node
// (a ReceiptSigner's receipts from prepared nonces are the exception).
// An order's answer carries a receipt, so this runs once per order: the
// token is built in one buffer, with the header's part made once per key
// and typ.
func (s Signer) Sign(typ string, payload []byte) string {
	h := encodedHeader(s.Kid, typ)
	enc := base64.RawURLEncoding
	buf := make([]byte, 0, len(h)+1+enc.EncodedLen(len(payload))+1+enc.EncodedLen(ed25519.SignatureSize))
	buf = append(buf, h...)
	buf = append(buf, '.')
	buf = enc.AppendEncode(buf, payload)
	sig := ed25519.Sign(s.Key, buf)
	buf = append(buf, '.')
	buf = enc.AppendEncode(buf, sig)
	return string(buf)
}

// headers caches the encoded protected header of each kid and typ signed
// with (a node has one ticket key at a time, and two types).
var headers sync.Map // kid "\x00" typ -> string

// encodedHeader is base64url(JSON of the protected header of kid and typ).
func encodedHeader(kid, typ string) string {
	key := kid + "\x00" + typ
	if h, ok := headers.Load(key); ok {
		return h.(string)
	}
	b, _ := json.Marshal(header{Alg: "EdDSA", Kid: kid, Typ: typ})
	h := base64.RawURLEncoding.EncodeToString(b)
	headers.Store(key, h)
	return h
}

// JWK is one key of a JWKS document; JWKS is the key set of
// /.well-known/jwks.json (package jwk: the same document tickets are
// verified with).
type (
	JWK  = jwk.Key
	JWKS = jwk.Set
)

// ErrSignature is returned for a token that does not verify.
var ErrSignature = errors.New("fairness: the signature does not verify with the published keys")

// Verify checks a compact JWS of type typ against the key set and returns its
// payload. Only EdDSA with an Ed25519 key of the set named by kid is accepted.
func Verify(keys JWKS, typ, token string) ([]byte, error) {
	parts := strings.Split(strings.TrimSpace(token), ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("fairness: not a compact JWS (want three dot-separated parts, got %d)", len(parts))
	}
	hb, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return nil, fmt.Errorf("fairness: bad JWS header encoding: %w", err)
	}
	var h header
	if err := json.Unmarshal(hb, &h); err != nil {
		return nil, fmt.Errorf("fairness: bad JWS header: %w", err)
	}
	if h.Alg != "EdDSA" {
		return nil, fmt.Errorf("fairness: JWS algorithm %q, want EdDSA", h.Alg)
	}
	if h.Typ != typ {
		return nil, fmt.Errorf("fairness: JWS type %q, want %q", h.Typ, typ)
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || len(sig) != ed25519.SignatureSize {
		return nil, ErrSignature
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, fmt.Errorf("fairness: bad JWS payload encoding: %w", err)
	}
	for _, k := range keys.Keys {
		if pub, ok := k.PublicKey(); ok && k.Kid == h.Kid && ed25519.Verify(pub, []byte(parts[0]+"."+parts[1]), sig) {
			return payload, nil
		}
	}
	return nil, ErrSignature
}
