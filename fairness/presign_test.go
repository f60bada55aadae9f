package fairness

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/floodgate/floodgate/internal/presign"
)

// checkReceipt verifies tok as a receipt of payload the ways its users do
// (the key set, through Verify; crypto/ed25519 over the signing input) and
// returns its signature's R and whether it is the deterministic token.
func checkReceipt(tb testing.TB, sg Signer, keys JWKS, tok string, payload []byte) (r string, deterministic bool) {
	tb.Helper()
	got, err := Verify(keys, TypeReceipt, tok)
	if err != nil || !bytes.Equal(got, payload) {
		tb.Fatalf("receipt %s of %q: %q, %v", tok, payload, got, err)
	}
	want := sg.SignReceipt(payload)
	i := strings.LastIndexByte(tok, '.')
	if tok[:i] != want[:strings.LastIndexByte(want, '.')] {
		tb.Fatalf("header or payload differ from the deterministic receipt:\n%s\n%s", tok, want)
	}
	sig, err := base64.RawURLEncoding.DecodeString(tok[i+1:])
	if err != nil || !ed25519.Verify(sg.Key.Public().(ed25519.PublicKey), []byte(tok[:i]), sig) {
		tb.Fatalf("crypto/ed25519 refuses the receipt %s: %v", tok, err)
	}
	return string(sig[:32]), tok == want
}

// TestReceiptsFromPreparedNonces: receipts asked for at once by many
// goroutines, and in lists, take the pool's nonces while it has some, each
// once, and are signed in full (the deterministic tokens) once it is empty;
// every one verifies with the key set, and no R comes twice.
func TestReceiptsFromPreparedNonces(t *testing.T) {
	sg, keys := testSigner(5)
	const size, workers, each = 200, 16, 20
	pool := presign.New(sg.Key, size)
	pool.Prepare(size)
	var counts presign.Counts
	rs := NewReceiptSigner(sg, pool, &counts)
	type signed struct {
		r             string
		deterministic bool
	}
	got := make([][]signed, workers+1)
	var wg sync.WaitGroup
	for g := range workers {
		wg.Go(func() {
			for i := range each {
				p := []byte(fmt.Sprintf(`{"type":"order","order":"o_%d_%d"}`, g, i))
				var tok string
				if i%2 == 0 {
					tok = rs.SignReceipt(p)
				} else {
					tok = rs.SignReceipts(p)[0]
				}
				r, det := checkReceipt(t, sg, keys, tok, p)
				got[g] = append(got[g], signed{r, det})
			}
		})
	}
	// Lists meanwhile, some taking the pool's last nonces.
	wg.Go(func() {
		for i := range 10 {
			list := [][]byte{[]byte(fmt.Sprint("a", i)), nil, []byte(fmt.Sprint("a", i)), []byte(`{"order":"x"}`)}
			for j, tok := range rs.SignReceipts(list...) {
				r, det := checkReceipt(t, sg, keys, tok, list[j])
				got[workers] = append(got[workers], signed{r, det})
			}
		}
	})
	wg.Wait()
	seen := map[string]bool{}
	var fromPool, deterministic uint64
	for _, l := range got {
		for _, s := range l {
			if s.deterministic {
				deterministic++
				continue
			}
			fromPool++
			if seen[s.r] {
				t.Fatal("R repeats across receipts")
			}
			seen[s.r] = true
		}
	}
	total := uint64(workers*each + 40)
	if fromPool != size || deterministic != total-size || counts.Prepared.Load() != size || counts.Inline.Load() != total-size || pool.Ready() != 0 {
		t.Fatalf("%d receipts from the pool, %d deterministic; counted %d and %d; want %d and %d",
			fromPool, deterministic, counts.Prepared.Load(), counts.Inline.Load(), size, total-size)
	}
}

// TestReceiptListTakesWhatThePoolHas: a list signs from the pool what it
// can, the rest as one batch, each receipt in its place.
func TestReceiptListTakesWhatThePoolHas(t *testing.T) {
	sg, keys := testSigner(6)
	pool := presign.New(sg.Key, 8)
	pool.Prepare(2)
	rs := NewReceiptSigner(sg, pool, nil)
	list := [][]byte{[]byte("a"), []byte("b"), []byte("c"), nil, []byte("a")}
	for i, tok := range rs.SignReceipts(list...) {
		if _, det := checkReceipt(t, sg, keys, tok, list[i]); det != (i >= 2) {
			t.Fatalf("receipt %d deterministic %v, want %v", i, det, i >= 2)
		}
	}
	// Another key's pool is never used.
	other, _ := testSigner(7)
	pool = presign.New(other.Key, 4)
	pool.Prepare(4)
	rs = NewReceiptSigner(sg, pool, nil)
	for i, tok := range rs.SignReceipts(list...) {
		if _, det := checkReceipt(t, sg, keys, tok, list[i]); !det || pool.Ready() != 4 {
			t.Fatal("a receipt signed from another key's nonces")
		}
	}
}

// FuzzPresignedReceipt: whatever the payload, a receipt signed from a
// prepared nonce, alone or in a list, verifies with the key set and gives
// the payload back.
func FuzzPresignedReceipt(f *testing.F) {
	f.Add([]byte(`{"type":"order","drop":"lamp","order":"o_1_ab","customer_hash":"00","position":1}`))
	f.Add([]byte{})
	sg, keys := testSigner(8)
	pool := presign.New(sg.Key, 1)
	var counts presign.Counts
	rs := NewReceiptSigner(sg, pool, &counts)
	f.Fuzz(func(t *testing.T, payload []byte) {
		pool.Prepare(1)
		before := counts.Prepared.Load()
		var tok string
		if len(payload)%2 == 0 {
			tok = rs.SignReceipt(payload)
		} else {
			tok = rs.SignReceipts(payload)[0]
		}
		if counts.Prepared.Load() != before+1 {
			t.Fatal("not signed from the pool")
		}
		if _, det := checkReceipt(t, sg, keys, tok, payload); det {
			t.Fatal("the deterministic receipt came from the pool")
		}
	})
}
