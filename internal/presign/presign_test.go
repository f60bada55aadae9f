package presign

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/floodgate/floodgate/internal/testkit"
)

func testKey(b byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{b}, ed25519.SeedSize))
}

func quietLog() *slog.Logger { return slog.New(slog.DiscardHandler) }

// filled returns a pool of size nonces for priv, filled.
func filled(tb testing.TB, priv ed25519.PrivateKey, size int) *Pool {
	tb.Helper()
	p := New(priv, size)
	if p == nil {
		tb.Fatal("no pool for a valid key")
	}
	p.Prepare(size)
	return p
}

// check verifies sig of msg by priv with crypto/ed25519 and returns its R.
func check(tb testing.TB, priv ed25519.PrivateKey, msg []byte, sig *[ed25519.SignatureSize]byte) string {
	tb.Helper()
	if !ed25519.Verify(priv.Public().(ed25519.PublicKey), msg, sig[:]) {
		tb.Fatalf("crypto/ed25519 refuses the signature %x of %q", sig, msg)
	}
	return string(sig[:32])
}

// TestPoolSignsEd25519: signatures from the pool are ordinary Ed25519
// signatures that crypto/ed25519 accepts, each with a fresh R, each nonce
// used once and its slot wiped, and they are counted.
func TestPoolSignsEd25519(t *testing.T) {
	const n = 300
	priv := testKey(1)
	p := filled(t, priv, n)
	var c Counts
	seen := map[string]bool{}
	for i := range n {
		msg := bytes.Repeat([]byte{byte(i)}, i)
		var sig [ed25519.SignatureSize]byte
		if !p.Sign(priv, &c, &sig, msg) {
			t.Fatalf("signature %d was not made from the pool", i)
		}
		if bytes.Equal(sig[:], ed25519.Sign(priv, msg)) {
			t.Fatalf("signature %d is the deterministic one", i)
		}
		r := check(t, priv, msg, &sig)
		if seen[r] {
			t.Fatalf("R repeats at signature %d", i)
		}
		seen[r] = true
		if got := p.Ready(); got != n-i-1 {
			t.Fatalf("the pool holds %d nonces after %d signatures of %d", got, i+1, n)
		}
		if p.ent[p.n] != (nonce{}) {
			t.Fatalf("the used nonce %d was not wiped", p.n)
		}
	}
	if pr, in := c.Prepared.Load(), c.Inline.Load(); pr != n || in != 0 {
		t.Fatalf("%d signatures from the pool, %d in full; want %d and 0", pr, in, n)
	}
}

// TestPoolEmptyFallsBack: an empty pool refuses at once (the caller signs
// in full), counts it, and wakes the refill.
func TestPoolEmptyFallsBack(t *testing.T) {
	priv := testKey(2)
	p := filled(t, priv, 2)
	var c Counts
	var sig [ed25519.SignatureSize]byte
	for i := range 5 {
		if got := p.Sign(priv, &c, &sig, []byte{byte(i)}); got != (i < 2) {
			t.Fatalf("signature %d: from the pool %v, want %v", i, got, i < 2)
		}
	}
	if pr, in := c.Prepared.Load(), c.Inline.Load(); pr != 2 || in != 3 {
		t.Fatalf("%d from the pool, %d in full; want 2 and 3", pr, in)
	}
	if pr, in := p.all.Prepared.Load(), p.all.Inline.Load(); pr != 2 || in != 3 {
		t.Fatalf("the pool counted %d and %d; want 2 and 3", pr, in)
	}
	select {
	case <-p.wake:
	default:
		t.Fatal("taking nonces did not wake the refill")
	}
	// Without counts of its own, a use is still counted by the pool.
	p.Prepare(1)
	if !p.Sign(priv, nil, &sig, nil) || p.Sign(priv, nil, &sig, nil) || p.all.Prepared.Load() != 3 || p.all.Inline.Load() != 4 {
		t.Fatal("signing without counts")
	}
}

// TestPoolOtherKey: a pool serves only the key it was built for; a private
// key whose public half does not match its seed gets none, and a nil pool
// has no nonce.
func TestPoolOtherKey(t *testing.T) {
	priv, other := testKey(3), testKey(4)
	p := filled(t, other, 8)
	var c Counts
	var sig [ed25519.SignatureSize]byte
	if p.Sign(priv, &c, &sig, []byte("m")) || p.Ready() != 8 || c.Inline.Load() != 0 {
		t.Fatal("another key's nonce was used, or counted")
	}
	if p.Sign(priv[:40], &c, &sig, []byte("m")) {
		t.Fatal("a short key signed")
	}
	bad := append(ed25519.PrivateKey(nil), priv...)
	copy(bad[32:], other[32:])
	if New(bad, 8) != nil {
		t.Fatal("a pool for an inconsistent private key")
	}
	if New(priv, 0) != nil || New(priv[:40], 8) != nil {
		t.Fatal("a pool of no size or for a short key")
	}
	idle := New(priv, 8)
	if idle.Sign(priv, &c, &sig, nil) || c.Inline.Load() != 0 {
		t.Fatal("a pool never filled (a node that does not lead) signed, or counted")
	}
	var none *Pool
	if none.Sign(priv, &c, &sig, nil) || none.Ready() != 0 || none.Full() || none.Started() {
		t.Fatal("a nil pool signs")
	}
	none.Start(context.Background(), quietLog())
	none.Stop()
}

// TestPoolConcurrent: many signers at once while the pool refills take
// distinct nonces, and every signature verifies (run with -race); stopping
// wipes the pool.
func TestPoolConcurrent(t *testing.T) {
	priv := testKey(5)
	p := New(priv, 64)
	ctx, cancel := context.WithCancel(context.Background())
	p.Start(ctx, quietLog())
	testkit.WaitFor(t, "the pool to fill", func() bool { return p.Ready() == 64 })
	var c Counts
	const workers, each = 8, 150
	rs := make([][]string, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				msg := []byte{byte(w), byte(i)}
				var sig [ed25519.SignatureSize]byte
				if !p.Sign(priv, &c, &sig, msg) {
					sig = [ed25519.SignatureSize]byte(ed25519.Sign(priv, msg))
				}
				rs[w] = append(rs[w], check(t, priv, msg, &sig))
			}
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, l := range rs {
		for _, r := range l {
			if seen[r] {
				t.Fatal("R repeats across concurrent signatures")
			}
			seen[r] = true
		}
	}
	if len(seen) != workers*each || c.Prepared.Load() < 64 || c.Prepared.Load()+c.Inline.Load() != workers*each {
		t.Fatalf("%d distinct signatures, %d from the pool, %d in full", len(seen), c.Prepared.Load(), c.Inline.Load())
	}
	// The refill brings the pool back to full, and stopping wipes it.
	testkit.WaitFor(t, "the pool to refill", func() bool { return p.Ready() == 64 })
	cancel()
	p.Stop()
	p.mu.Lock()
	wiped := p.ent == nil && p.n == 0
	p.mu.Unlock()
	if !wiped {
		t.Fatal("the stopped pool was not wiped")
	}
	var sig [ed25519.SignatureSize]byte
	before := c.Inline.Load()
	if p.Sign(priv, &c, &sig, nil) || c.Inline.Load() != before {
		t.Fatal("a stopped pool signed, or counted")
	}
}

// TestRNeverRepeats: over many signatures, through refills and fallbacks,
// no R comes twice.
func TestRNeverRepeats(t *testing.T) {
	priv := testKey(6)
	p := filled(t, priv, 256)
	var c Counts
	seen := map[string]bool{}
	for i := range 3000 {
		if i%500 == 0 {
			p.Prepare(256)
		}
		msg := []byte{byte(i), byte(i >> 8)}
		var sig [ed25519.SignatureSize]byte
		if !p.Sign(priv, &c, &sig, msg) {
			sig = [ed25519.SignatureSize]byte(ed25519.Sign(priv, msg))
		}
		if seen[string(sig[:32])] {
			t.Fatalf("R repeats at signature %d", i)
		}
		seen[string(sig[:32])] = true
		if i%97 == 0 {
			check(t, priv, msg, &sig)
		}
	}
	if c.Prepared.Load() == 0 || c.Inline.Load() == 0 {
		t.Fatalf("the test did not sign both ways: %d from the pool, %d in full", c.Prepared.Load(), c.Inline.Load())
	}
}

// TestPoolRefillsInLulls: the pool fills at once, but refills only once no
// signature has asked for a nonce for RefillIdle, never while they keep
// coming (refilling then would take CPU from the burst itself).
func TestPoolRefillsInLulls(t *testing.T) {
	priv := testKey(7)
	p := New(priv, 32)
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { cancel(); p.Stop() }()
	p.Start(ctx, quietLog())
	testkit.WaitFor(t, "the first fill", func() bool { return p.Ready() == 32 })
	var sig [ed25519.SignatureSize]byte
	// A burst: a signature every 10 ms; the pool only drains. A step that
	// came after a real lull (a slow machine can sleep far longer than
	// asked) may see a refill and is not judged.
	want, judged, last := p.Ready(), 0, time.Now()
	for i := range 30 {
		gap := time.Since(last)
		before := p.Ready()
		p.Sign(priv, nil, &sig, []byte{byte(i)})
		last = time.Now()
		if gap < RefillIdle/2 && before != want {
			t.Fatalf("step %d of a burst: %d nonces before signing, want %d: the pool refilled mid-burst", i, before, want)
		}
		if gap < RefillIdle/2 {
			judged++
		}
		want = p.Ready()
		time.Sleep(10 * time.Millisecond)
	}
	if judged == 0 {
		t.Fatal("no step of the burst came within half of RefillIdle of the one before")
	}
	// The lull: it refills.
	testkit.WaitFor(t, "the refill after the burst", func() bool { return p.Ready() == 32 })
}

// FuzzPoolSign: whatever the message, a signature from a prepared nonce
// verifies and is not the deterministic one.
func FuzzPoolSign(f *testing.F) {
	f.Add([]byte("eyJhbGciOiJFZERTQSJ9.eyJ0eXBlIjoib3JkZXIifQ"))
	f.Add([]byte{})
	priv := testKey(8)
	p := New(priv, 1)
	f.Fuzz(func(t *testing.T, msg []byte) {
		p.Prepare(1)
		var sig [ed25519.SignatureSize]byte
		if !p.Sign(priv, nil, &sig, msg) {
			t.Fatal("not signed from the pool")
		}
		check(t, priv, msg, &sig)
		if bytes.Equal(sig[:], ed25519.Sign(priv, msg)) {
			t.Fatal("the deterministic nonce came out of the pool")
		}
	})
}
