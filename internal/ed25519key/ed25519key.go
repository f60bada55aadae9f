// Package ed25519key is an Ed25519 private key in the form signing uses
// (RFC 8032 5.1.5/5.1.6), for the signers that do part of the work apart
// from crypto/ed25519: internal/presign's pool of nonces prepared ahead and
// fairness's receipts signed in batches. Both give signatures that
// ed25519.Verify accepts; the batches' are byte-identical to ed25519.Sign.
package ed25519key

import (
	"crypto/ed25519"
	"crypto/sha512"
	"crypto/subtle"

	"filippo.io/edwards25519"
)

// Key is an expanded Ed25519 private key.
type Key struct {
	A      edwards25519.Scalar // clamped SHA-512(seed)[:32]
	Prefix [32]byte            // SHA-512(seed)[32:]: keys the deterministic nonce
	Pub    [32]byte            // A = a·B, encoded
}

// Expand returns the expanded form of priv, or nil when priv is not a
// consistent Ed25519 private key (its public half is not its seed's); the
// caller then leaves it to ed25519.Sign, which decides.
func Expand(priv ed25519.PrivateKey) *Key {
	if len(priv) != ed25519.PrivateKeySize {
		return nil
	}
	k := &Key{}
	h := sha512.Sum512(priv.Seed())
	defer clear(h[:])
	if _, err := k.A.SetBytesWithClamping(h[:32]); err != nil {
		return nil
	}
	copy(k.Prefix[:], h[32:])
	copy(k.Pub[:], new(edwards25519.Point).ScalarBaseMult(&k.A).Bytes())
	if subtle.ConstantTimeCompare(k.Pub[:], priv[32:]) != 1 {
		return nil
	}
	return k
}

// Finish writes to sig the signature of msg whose secret nonce is r and
// whose encoded commitment R = r·B is R: R, then S = SHA-512(R ‖ A ‖ msg)·a + r.
func (k *Key) Finish(sig *[ed25519.SignatureSize]byte, r *edwards25519.Scalar, R *[32]byte, msg []byte) {
	var d [sha512.Size]byte
	h := sha512.New()
	h.Write(R[:])
	h.Write(k.Pub[:])
	h.Write(msg)
	c, err := new(edwards25519.Scalar).SetUniformBytes(h.Sum(d[:0]))
	if err != nil {
		panic("ed25519key: " + err.Error()) // 64 bytes are always accepted
	}
	s := new(edwards25519.Scalar).MultiplyAdd(c, &k.A, r)
	copy(sig[:32], R[:])
	copy(sig[32:], s.Bytes())
}
