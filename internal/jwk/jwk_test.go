package jwk

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"testing"
)

func TestEd25519KeyRoundTrip(t *testing.T) {
	pub := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, 32)).Public().(ed25519.PublicKey)
	k := Ed25519(pub, "k7")
	b, err := json.Marshal(Set{Keys: []Key{k}})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"keys":[{"kty":"OKP","crv":"Ed25519","x":"` + base64.RawURLEncoding.EncodeToString(pub) + `","kid":"k7","alg":"EdDSA","use":"sig"}]}`
	if string(b) != want {
		t.Fatalf("the published set changed:\n got %s\nwant %s", b, want)
	}
	var set Set
	if err := json.Unmarshal(b, &set); err != nil {
		t.Fatal(err)
	}
	got, ok := set.Keys[0].PublicKey()
	if !ok || !got.Equal(pub) {
		t.Fatalf("PublicKey() = %x, %v; want %x", got, ok, pub)
	}
}

func TestPublicKeyRefusesOtherKeys(t *testing.T) {
	good := Ed25519(make(ed25519.PublicKey, ed25519.PublicKeySize), "k")
	for name, edit := range map[string]func(*Key){
		"RSA":             func(k *Key) { k.Kty = "RSA" },
		"X25519":          func(k *Key) { k.Crv = "X25519" },
		"31 bytes":        func(k *Key) { k.X = base64.RawURLEncoding.EncodeToString(make([]byte, 31)) },
		"padded base64":   func(k *Key) { k.X = base64.URLEncoding.EncodeToString(make([]byte, 32)) },
		"standard base64": func(k *Key) { k.X = "+/" + k.X[2:] },
		"empty":           func(k *Key) { k.X = "" },
	} {
		k := good
		edit(&k)
		if pub, ok := k.PublicKey(); ok {
			t.Errorf("%s: PublicKey() = %x, true; want false", name, pub)
		}
	}
	if _, ok := good.PublicKey(); !ok {
		t.Fatal("a well-formed Ed25519 key is refused")
	}
}
