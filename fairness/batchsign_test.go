package fairness

import (
	"bytes"
	"crypto/ed25519"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/floodgate/floodgate/internal/nice"
	"github.com/floodgate/floodgate/internal/presign"
)

func TestBatchSignAsEd25519(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for keyN := range 8 {
		seed := make([]byte, ed25519.SeedSize)
		for i := range seed {
			seed[i] = byte(r.IntN(256))
		}
		priv := ed25519.NewKeyFromSeed(seed)
		k := expand(priv)
		if k == nil {
			t.Fatal("a valid key was not expanded")
		}
		for _, n := range []int{1, 2, 3, 7, 16, 33} {
			msgs := make([][]byte, n)
			for i := range msgs {
				msgs[i] = make([]byte, r.IntN(400))
				for j := range msgs[i] {
					msgs[i][j] = byte(r.IntN(256))
				}
			}
			if n > 2 {
				msgs[1] = msgs[0] // the same message twice in a batch
			}
			sigs := make([][ed25519.SignatureSize]byte, n)
			k.signBatch(msgs, sigs)
			for i, m := range msgs {
				if want := ed25519.Sign(priv, m); !bytes.Equal(sigs[i][:], want) {
					t.Fatalf("key %d, batch of %d, message %d: signature %x, ed25519.Sign %x", keyN, n, i, sigs[i], want)
				}
			}
		}
	}
	bad := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, 32))
	bad[40] ^= 1 // a public half that is not the seed's
	if expand(bad) != nil || expand(bad[:10]) != nil {
		t.Fatal("an inconsistent key was expanded")
	}
}

// TestReceiptSignerAsSignReceipt: receipts asked for at once by many
// goroutines, one at a time and in lists of one, and in lists, are the
// tokens Signer.SignReceipt gives; so is SignReceiptAhead without a pool.
func TestReceiptSignerAsSignReceipt(t *testing.T) {
	sg, _ := testSigner(3)
	for _, rs := range []*ReceiptSigner{NewReceiptSigner(sg, nil, nil), {sg: sg}} { // batched, and a key it cannot expand
		var wg sync.WaitGroup
		for g := range 32 {
			wg.Go(func() {
				for i := range 20 {
					p := []byte(fmt.Sprintf(`{"type":"order","order":"o_%d_%d"}`, g, i))
					var got string
					switch i % 3 {
					case 0:
						got = rs.SignReceipt(p)
					case 1:
						got = rs.SignReceipts(p)[0]
					default:
						got = rs.SignReceiptAhead(p)
					}
					if want := sg.SignReceipt(p); got != want {
						t.Errorf("receipt %s, want %s", got, want)
						return
					}
				}
			})
		}
		wg.Wait()
		list := [][]byte{[]byte("a"), []byte("b"), nil, []byte("a")}
		got := rs.SignReceipts(list...)
		for i, p := range list {
			if want := sg.SignReceipt(p); got[i] != want {
				t.Fatalf("list item %d: %s, want %s", i, got[i], want)
			}
		}
	}
}

func BenchmarkSignReceipt(b *testing.B) {
	sg, _ := testSigner(4)
	p := bytes.Repeat([]byte("x"), 260)
	b.Run("single", func(b *testing.B) {
		cpu := nice.ProcessCPU()
		for b.Loop() {
			sg.SignReceipt(p)
		}
		b.ReportMetric(float64(nice.ProcessCPU()-cpu)/float64(time.Microsecond)/float64(b.N), "cpu-µs/receipt")
	})
	// From nonces prepared beforehand, as the leader's pool has them.
	b.Run("presigned", func(b *testing.B) {
		pool := presign.New(sg.Key, b.N)
		pool.Prepare(b.N)
		var counts presign.Counts
		rs := NewReceiptSigner(sg, pool, &counts)
		b.ResetTimer()
		cpu := nice.ProcessCPU()
		for range b.N {
			rs.SignReceiptAhead(p)
		}
		b.ReportMetric(float64(nice.ProcessCPU()-cpu)/float64(time.Microsecond)/float64(b.N), "cpu-µs/receipt")
		if counts.Inline.Load() != 0 {
			b.Fatal("signed in full")
		}
	})
	for _, n := range []int{1, 8, 32} {
		b.Run(fmt.Sprintf("batch%d", n), func(b *testing.B) {
			rs := NewReceiptSigner(sg, nil, nil)
			list := make([][]byte, n)
			for i := range list {
				list[i] = p
			}
			cpu := nice.ProcessCPU()
			for b.Loop() {
				rs.SignReceipts(list...)
			}
			b.ReportMetric(float64(nice.ProcessCPU()-cpu)/float64(time.Microsecond)/float64(b.N*n), "cpu-µs/receipt")
		})
	}
}
