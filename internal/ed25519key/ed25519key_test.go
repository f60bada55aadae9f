package ed25519key

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha512"
	"testing"

	"filippo.io/edwards25519"
)

// TestFinishWithTheDeterministicNonceIsEd25519Sign: with RFC 8032's nonce,
// r = SHA-512(prefix ‖ msg), Expand and Finish give ed25519.Sign's bytes.
func TestFinishWithTheDeterministicNonceIsEd25519Sign(t *testing.T) {
	for seed := range byte(4) {
		priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize))
		k := Expand(priv)
		if k == nil {
			t.Fatal("a key from NewKeyFromSeed is refused")
		}
		if !bytes.Equal(k.Pub[:], priv.Public().(ed25519.PublicKey)) {
			t.Fatal("the expanded public key is not the key's")
		}
		for _, msg := range [][]byte{nil, []byte("a"), bytes.Repeat([]byte("receipt "), 100)} {
			rh := sha512.Sum512(append(k.Prefix[:], msg...))
			r, err := new(edwards25519.Scalar).SetUniformBytes(rh[:])
			if err != nil {
				t.Fatal(err)
			}
			var R [32]byte
			copy(R[:], new(edwards25519.Point).ScalarBaseMult(r).Bytes())
			var sig [ed25519.SignatureSize]byte
			k.Finish(&sig, r, &R, msg)
			if want := ed25519.Sign(priv, msg); !bytes.Equal(sig[:], want) {
				t.Fatalf("seed %d, %d-byte message:\n got %x\nwant %x", seed, len(msg), sig, want)
			}
		}
	}
}

func TestExpandRefusesInconsistentKeys(t *testing.T) {
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, ed25519.SeedSize))
	other := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{2}, ed25519.SeedSize))
	mixed := append(append(ed25519.PrivateKey{}, priv[:32]...), other[32:]...)
	for name, k := range map[string]ed25519.PrivateKey{"short": priv[:63], "empty": nil, "another key's public half": mixed} {
		if Expand(k) != nil {
			t.Errorf("%s: expanded", name)
		}
	}
}
