package fairness

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/floodgate/floodgate/sale"
)

func testSigner(b byte) (Signer, JWKS) {
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{b}, 32))
	kid := fmt.Sprintf("k%d", b)
	return Signer{Key: key, Kid: kid}, JWKS{Keys: []JWK{{Kty: "OKP", Crv: "Ed25519", Kid: kid,
		X: base64.RawURLEncoding.EncodeToString(key.Public().(ed25519.PublicKey))}}}
}

func TestSignaturesVerifyWithTheKeySetOnly(t *testing.T) {
	sg, keys := testSigner(1)
	_, other := testSigner(2)
	other.Keys[0].Kid = sg.Kid // same kid, another key
	h := Head{Drop: "d", TreeSize: 3, RootHash: strings.Repeat("ab", 32), At: "2026-11-30T01:00:00.000Z"}
	tok := sg.SignHead(h)
	if tok != sg.SignHead(h) {
		t.Fatal("signing the same head twice gave two tokens; Ed25519 is deterministic")
	}
	got, err := VerifyHead(keys, tok)
	if err != nil || got != h {
		t.Fatalf("VerifyHead = %+v, %v", got, err)
	}
	if _, err := VerifyHead(other, tok); err == nil {
		t.Fatal("a head verified with another key")
	}
	if _, err := Verify(keys, TypeReceipt, tok); err == nil {
		t.Fatal("a tree head passed as a receipt")
	}
	parts := strings.Split(tok, ".")
	for name, bad := range map[string]string{
		"payload changed": parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"drop":"d","tree_size":4}`)) + "." + parts[2],
		"alg none":        base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"floodgate-sth+jws"}`)) + "." + parts[1] + ".",
		"two parts":       parts[0] + "." + parts[1],
		"garbage":         "a.b.c",
	} {
		if _, err := VerifyHead(keys, bad); err == nil {
			t.Errorf("%s: verified", name)
		}
	}
}

// TestProofsForEverySize builds trees of 1 to 70 leaves and checks every
// inclusion and consistency proof, and that a changed leaf or root fails.
func TestProofsForEverySize(t *testing.T) {
	var tree Tree
	var roots [][]byte
	roots = append(roots, mustRoot(t, &tree, 0))
	for n := int64(1); n <= 70; n++ {
		tree.Append([]byte(fmt.Sprintf(`{"leaf":%d}`, n-1)))
		roots = append(roots, mustRoot(t, &tree, n))
	}
	for size := int64(1); size <= 70; size++ {
		for i := int64(0); i < size; i++ {
			p, err := tree.Inclusion(i, size)
			if err != nil {
				t.Fatal(err)
			}
			leaf := LeafHash([]byte(fmt.Sprintf(`{"leaf":%d}`, i)))
			if err := VerifyInclusion(i, size, leaf, p, roots[size]); err != nil {
				t.Fatalf("inclusion of %d in %d: %v", i, size, err)
			}
			if err := VerifyInclusion(i, size, LeafHash([]byte("other")), p, roots[size]); err == nil {
				t.Fatalf("inclusion of a changed leaf %d in %d verified", i, size)
			}
		}
		for from := int64(1); from <= size; from++ {
			p, err := tree.Consistency(from, size)
			if err != nil {
				t.Fatal(err)
			}
			if err := VerifyConsistency(from, size, p, roots[from], roots[size]); err != nil {
				t.Fatalf("consistency %d→%d: %v", from, size, err)
			}
			if from < size {
				if err := VerifyConsistency(from, size, p, roots[from-1], roots[size]); err == nil {
					t.Fatalf("consistency %d→%d verified with the root of %d", from, size, from-1)
				}
			}
		}
	}
	if _, err := tree.Root(71); err == nil {
		t.Fatal("a root beyond the tree")
	}
	// RFC 6962: the root of an empty tree is SHA-256 of nothing.
	if got := fmt.Sprintf("%x", roots[0]); got != "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" {
		t.Fatalf("empty root %s", got)
	}
}

func mustRoot(t *testing.T, tree *Tree, n int64) []byte {
	t.Helper()
	r, err := tree.Root(n)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestReceiptFrom(t *testing.T) {
	for in, want := range map[string]string{
		"a.b.c\n":                      "a.b.c",
		`{"id":"o","receipt":"x.y.z"}`: "x.y.z",
	} {
		if got, err := ReceiptFrom([]byte(in)); err != nil || got != want {
			t.Errorf("ReceiptFrom(%q) = %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "{}", "nothing", `{"receipt":""}`} {
		if _, err := ReceiptFrom([]byte(in)); err == nil {
			t.Errorf("ReceiptFrom(%q) accepted", in)
		}
	}
}

// FuzzVerify: a token of any bytes never panics the verifier.
func FuzzVerify(f *testing.F) {
	sg, keys := testSigner(3)
	f.Add(sg.SignReceipt([]byte(`{"type":"order"}`)))
	f.Add("a.b.c")
	f.Fuzz(func(t *testing.T, tok string) {
		_, _ = VerifyReceipt(keys, tok)
		_, _ = VerifyHead(keys, tok)
	})
}

// TestPublishedHeadsAreSignedOnce: asking for the published heads again
// signs only those published since, and a new key signs them all again.
func TestPublishedHeadsAreSignedOnce(t *testing.T) {
	l := NewLogs(func(func(*sale.State)) {})
	signed := 0
	sign := func(m sale.HeadMark) (SignedHead, error) {
		signed++
		return SignedHead{Head: Head{TreeSize: m.Size, Final: m.Final}, Signed: fmt.Sprint(m.Size)}, nil
	}
	marks := []sale.HeadMark{{Size: 2}, {Size: 5}}
	if hs, _ := l.PublishedHeads("d", "k1", marks, sign); len(hs) != 2 || signed != 2 {
		t.Fatalf("first ask: %d heads, %d signed", len(hs), signed)
	}
	marks = append(marks, sale.HeadMark{Size: 7, Final: true})
	if hs, _ := l.PublishedHeads("d", "k1", marks, sign); len(hs) != 3 || signed != 3 || !hs[2].Final {
		t.Fatalf("after one more head: %+v, %d signed", hs, signed)
	}
	if _, _ = l.PublishedHeads("d", "k2", marks, sign); signed != 6 {
		t.Fatalf("a new key re-signed %d", signed-3)
	}
}

// TestSignAsBefore pins the token Sign makes to the construction it
// replaced: base64url of the header's JSON, of the payload, and of the
// Ed25519 signature over the two joined by a dot.
func TestSignAsBefore(t *testing.T) {
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
	for _, kid := range []string{"k1", "a<b>\"c\"", ""} {
		for _, typ := range []string{TypeReceipt, TypeHead} {
			for _, payload := range [][]byte{nil, []byte(`{"type":"order"}`), bytes.Repeat([]byte{0xff}, 301)} {
				h, _ := json.Marshal(struct {
					Alg string `json:"alg"`
					Kid string `json:"kid"`
					Typ string `json:"typ"`
				}{"EdDSA", kid, typ})
				signing := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(payload)
				want := signing + "." + base64.RawURLEncoding.EncodeToString(ed25519.Sign(key, []byte(signing)))
				for range 2 { // the header's part is cached after the first
					if got := (Signer{Key: key, Kid: kid}).Sign(typ, payload); got != want {
						t.Fatalf("kid %q typ %q: got %s, want %s", kid, typ, got, want)
					}
				}
			}
		}
	}
}
