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

// TestReceiptsFromPreparedNonces: the answers to orders, asked for at once
// by many goroutines, take the pool's nonces while it has some, each once,
// and are signed in full (the deterministic tokens) once it is empty;
// reads of orders meanwhile, alone and in lists, never take one. Every
// receipt verifies with the key set, and no R comes twice.
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
	got := make([][]signed, workers)
	var wg sync.WaitGroup
	for g := range workers {
		wg.Go(func() {
			for i := range each {
				p := []byte(fmt.Sprintf(`{"type":"order","order":"o_%d_%d"}`, g, i))
				r, det := checkReceipt(t, sg, keys, rs.SignReceiptAhead(p), p)
				got[g] = append(got[g], signed{r, det})
			}
		})
	}
	wg.Go(func() {
		for i := range 10 {
			list := [][]byte{[]byte(fmt.Sprint("a", i)), nil, []byte(fmt.Sprint("a", i)), []byte(`{"order":"x"}`)}
			for j, tok := range rs.SignReceipts(list...) {
				if _, det := checkReceipt(t, sg, keys, tok, list[j]); !det {
					t.Error("a list's receipt took a nonce")
				}
			}
			if _, det := checkReceipt(t, sg, keys, rs.SignReceipt(list[0]), list[0]); !det {
				t.Error("a read's receipt took a nonce")
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
	const total = workers * each
	if fromPool != size || deterministic != total-size || counts.Prepared.Load() != size || counts.Inline.Load() != total-size || pool.Ready() != 0 {
		t.Fatalf("%d receipts from the pool, %d deterministic; counted %d and %d; want %d and %d",
			fromPool, deterministic, counts.Prepared.Load(), counts.Inline.Load(), size, total-size)
	}
}

// TestReceiptReadsLeaveThePool: reads of orders never take a nonce; the
// answers to orders take what the pool has, then are deterministic; another
// key's pool is never used.
func TestReceiptReadsLeaveThePool(t *testing.T) {
	sg, keys := testSigner(6)
	pool := presign.New(sg.Key, 8)
	pool.Prepare(2)
	rs := NewReceiptSigner(sg, pool, nil)
	list := [][]byte{[]byte("a"), []byte("b"), []byte("c"), nil, []byte("a")}
	for i, tok := range rs.SignReceipts(list...) {
		if _, det := checkReceipt(t, sg, keys, tok, list[i]); !det {
			t.Fatalf("a list's receipt %d took a nonce", i)
		}
	}
	if _, det := checkReceipt(t, sg, keys, rs.SignReceipt(list[1]), list[1]); !det || pool.Ready() != 2 {
		t.Fatal("a read took a nonce")
	}
	for i, p := range list[:4] {
		var tok string
		if i%2 == 0 {
			tok = rs.SignReceiptAhead(p)
		} else {
			tok = appendAhead(t, rs, p)
		}
		if _, det := checkReceipt(t, sg, keys, tok, p); det != (i >= 2) {
			t.Fatalf("answer %d deterministic %v, want %v", i, det, i >= 2)
		}
	}
	other, _ := testSigner(7)
	pool = presign.New(other.Key, 4)
	pool.Prepare(4)
	rs = NewReceiptSigner(sg, pool, nil)
	if _, det := checkReceipt(t, sg, keys, rs.SignReceiptAhead(list[0]), list[0]); !det || pool.Ready() != 4 {
		t.Fatal("a receipt signed from another key's nonces")
	}
}

// FuzzPresignedReceipt: whatever the payload, a receipt signed from a
// prepared nonce verifies with the key set and gives the payload back.
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
			tok = rs.SignReceiptAhead(payload)
		} else {
			tok = appendAhead(t, rs, payload)
		}
		if counts.Prepared.Load() != before+1 {
			t.Fatal("not signed from the pool")
		}
		if _, det := checkReceipt(t, sg, keys, tok, payload); det {
			t.Fatal("the deterministic receipt came from the pool")
		}
	})
}

// appendAhead is the receipt rs.AppendReceiptAhead appends after the start
// of an answer, which it must keep.
func appendAhead(tb testing.TB, rs *ReceiptSigner, payload []byte) string {
	tb.Helper()
	const start = `{"id":"o_1_ab","receipt":"`
	tok, ok := strings.CutPrefix(string(rs.AppendReceiptAhead([]byte(start), payload)), start)
	if !ok {
		tb.Fatal("AppendReceiptAhead lost what dst held")
	}
	return tok
}
