// Package jwk is the JSON Web Key set (RFC 7517, RFC 8037) a cluster
// publishes at /.well-known/jwks.json. Its Ed25519 key signs the waiting
// room's tickets and the fairness log's heads and receipts: package queue
// writes the set, and edges and the fairness auditor read the key back from
// it, through one type and one decoding.
package jwk

import (
	"crypto/ed25519"
	"encoding/base64"
)

// Key is one JSON Web Key.
type Key struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	Use string `json:"use"`
}

// Set is the document served at /.well-known/jwks.json.
type Set struct {
	Keys []Key `json:"keys"`
}

// Ed25519 is the JWK of an Ed25519 public key that signs (EdDSA), named kid.
func Ed25519(pub ed25519.PublicKey, kid string) Key {
	return Key{Kty: "OKP", Crv: "Ed25519", X: base64.RawURLEncoding.EncodeToString(pub), Kid: kid, Alg: "EdDSA", Use: "sig"}
}

// PublicKey is the key's Ed25519 public key; ok is false for any other kind
// of key and for an x that is not 32 bytes of unpadded base64url.
func (k Key) PublicKey() (pub ed25519.PublicKey, ok bool) {
	if k.Kty != "OKP" || k.Crv != "Ed25519" {
		return nil, false
	}
	b, err := base64.RawURLEncoding.DecodeString(k.X)
	if err != nil || len(b) != ed25519.PublicKeySize {
		return nil, false
	}
	return b, true
}
