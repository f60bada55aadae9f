package queue

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/floodgate/floodgate/internal/testkit"
)

// fillNow puts n fresh nonces in p, as fill does, without its thread.
func fillNow(p *presigner, n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ent == nil {
		p.ent = make([]nonce, p.size)
	}
	for ; n > 0 && p.n < len(p.ent); n-- {
		p.ent[p.n] = newNonce()
		p.n++
	}
}

// presignedKeys returns test keys with a pool of size nonces, filled.
func presignedKeys(tb testing.TB, size int) *Keys {
	tb.Helper()
	k := testKeys()
	k.ahead = newPresigner(k.TicketKey, size)
	if k.ahead == nil {
		tb.Fatal("no pool for a valid key")
	}
	fillNow(k.ahead, size)
	return k
}

// checkTicket verifies tok the ways its users do: crypto/ed25519 over the
// signing input, the Verifier as an edge has it (JWKS only, through
// golang-jwt) and as a node has it (MAC first). It returns the signature's R.
func checkTicket(tb testing.TB, k *Keys, tok string, c *Claims, now time.Time) string {
	tb.Helper()
	i := strings.LastIndexByte(tok, '.')
	sig, err := base64.RawURLEncoding.DecodeString(tok[i+1:])
	if err != nil || len(sig) != ed25519.SignatureSize {
		tb.Fatalf("signature %q: %v", tok[i+1:], err)
	}
	if !ed25519.Verify(k.TicketPub, []byte(tok[:i]), sig) {
		tb.Fatalf("crypto/ed25519 refuses the ticket %s", tok)
	}
	for name, v := range map[string]*Verifier{"edge": NewVerifier(k.TicketPub), "node": NewVerifier(k.TicketPub).WithMAC(k.MACKey)} {
		got, err := v.Verify(tok, c.Drop, now)
		if err != nil {
			tb.Fatalf("the %s's verifier refuses the ticket: %v", name, err)
		}
		if got.Drop != c.Drop || got.Visitor != c.Visitor || got.Seq != c.Seq || got.Early != c.Early || got.Position != c.Position {
			tb.Fatalf("the %s read %+v from a ticket of %+v", name, got, c)
		}
	}
	return string(sig[:32])
}

func quietLog() *slog.Logger { return slog.New(slog.DiscardHandler) }

func claimsAt(now time.Time, seq int64) *Claims {
	return &Claims{Drop: "lamp", Visitor: "v" + string(rune('a'+seq%26)), Seq: seq, Position: seq + 1, Early: seq%3 == 0,
		RegisteredClaims: jwt.RegisteredClaims{IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(TicketTTL))}}
}

// TestPresignedTicketsVerify: tickets signed from the pool are ordinary
// Ed25519 JWS: the same header and payload as without the pool, a signature
// every verifier accepts, a fresh R each time, and each nonce used once.
func TestPresignedTicketsVerify(t *testing.T) {
	const n = 300
	k := presignedKeys(t, n)
	plain := testKeys()
	now := time.Now()
	seen := map[string]bool{}
	for i := range int64(n) {
		c := claimsAt(now, i)
		tok := mustSign(t, k, c)
		want := mustSign(t, plain, c)
		if tok[:strings.LastIndexByte(tok, '.')] != want[:strings.LastIndexByte(want, '.')] {
			t.Fatalf("header or payload differ from the deterministic ticket:\n%s\n%s", tok, want)
		}
		if tok == want {
			t.Fatalf("ticket %d was not signed from the pool", i)
		}
		r := checkTicket(t, k, tok, c, now)
		if seen[r] {
			t.Fatalf("R repeats at signature %d", i)
		}
		seen[r] = true
		if got := k.ahead.count(); got != n-int(i)-1 {
			t.Fatalf("the pool holds %d nonces after %d signatures of %d", got, i+1, n)
		}
		if k.ahead.ent[k.ahead.n] != (nonce{}) {
			t.Fatalf("the used nonce %d was not wiped", k.ahead.n)
		}
	}
	if p, in := k.ahead.prepared.Load(), k.ahead.inline.Load(); p != n || in != 0 {
		t.Fatalf("%d signatures from the pool, %d in full; want %d and 0", p, in, n)
	}
}

// TestPresignEmptyFallsBack: an empty pool never holds a join up: the
// ticket is signed in full, exactly as ed25519.Sign does, and asks for a
// refill.
func TestPresignEmptyFallsBack(t *testing.T) {
	k := presignedKeys(t, 2)
	now := time.Now()
	for i := range int64(5) {
		c := claimsAt(now, i)
		tok := mustSign(t, k, c)
		checkTicket(t, k, tok, c, now)
		if want := mustSign(t, testKeys(), c); (i >= 2) != (tok == want) {
			t.Fatalf("ticket %d: from the pool %v, want %v", i, tok != want, i < 2)
		}
	}
	if p, in := k.ahead.prepared.Load(), k.ahead.inline.Load(); p != 2 || in != 3 {
		t.Fatalf("%d from the pool, %d in full; want 2 and 3", p, in)
	}
	select {
	case <-k.ahead.wake:
	default:
		t.Fatal("taking nonces did not wake the refill")
	}
}

// TestPresignOtherKey: a pool serves only the key it was built for; a
// private key whose public half does not match its seed gets none.
func TestPresignOtherKey(t *testing.T) {
	k := testKeys()
	other := DeriveKeys([]byte("another cluster's secret, 32 bytes or more"))
	k.ahead = newPresigner(other.TicketKey, 8)
	fillNow(k.ahead, 8)
	now := time.Now()
	c := claimsAt(now, 7)
	tok := mustSign(t, k, c)
	checkTicket(t, k, tok, c, now)
	if k.ahead.count() != 8 {
		t.Fatal("another key's nonce was used")
	}
	bad := append(ed25519.PrivateKey(nil), k.TicketKey...)
	copy(bad[32:], other.TicketPub)
	if newPresigner(bad, 8) != nil {
		t.Fatal("a pool for an inconsistent private key")
	}
	if newPresigner(k.TicketKey, 0) != nil || newPresigner(k.TicketKey[:40], 8) != nil {
		t.Fatal("a pool of no size or for a short key")
	}
}

// TestPresignConcurrent: many joins signing at once while the pool refills
// take distinct nonces, and every ticket verifies (run with -race).
func TestPresignConcurrent(t *testing.T) {
	k := testKeys()
	k.ahead = newPresigner(k.TicketKey, 64)
	ctx, cancel := context.WithCancel(context.Background())
	k.ahead.start(ctx, quietLog())
	testkit.WaitFor(t, "the pool to fill", func() bool { return k.ahead.count() == 64 })
	now := time.Now()
	const workers, each = 8, 150
	rs := make([][]string, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range int64(each) {
				c := claimsAt(now, int64(w*each)+i)
				tok, err := SignTicket(k, c)
				if err != nil {
					t.Error(err)
					return
				}
				rs[w] = append(rs[w], checkTicket(t, k, tok, c, now))
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
	if len(seen) != workers*each || k.ahead.prepared.Load() < 64 {
		t.Fatalf("%d distinct signatures, %d from the pool", len(seen), k.ahead.prepared.Load())
	}
	// The refill brings the pool back to full, and stopping wipes it.
	testkit.WaitFor(t, "the pool to refill", func() bool { return k.ahead.count() == 64 })
	cancel()
	testkit.WaitFor(t, "the pool to be wiped", func() bool {
		k.ahead.mu.Lock()
		defer k.ahead.mu.Unlock()
		return k.ahead.ent == nil && k.ahead.n == 0
	})
	c := claimsAt(now, 1)
	checkTicket(t, k, mustSign(t, k, c), c, now)
}

// TestRNeverRepeats: over many signatures, through
// refills and fallbacks, no R comes twice.
func TestRNeverRepeats(t *testing.T) {
	k := presignedKeys(t, 256)
	now := time.Now()
	seen := map[string]bool{}
	for i := range int64(3000) {
		if i%500 == 0 {
			fillNow(k.ahead, 256)
		}
		c := claimsAt(now, i)
		tok := mustSign(t, k, c)
		sig, _ := base64.RawURLEncoding.DecodeString(tok[strings.LastIndexByte(tok, '.')+1:])
		if seen[string(sig[:32])] {
			t.Fatalf("R repeats at signature %d", i)
		}
		seen[string(sig[:32])] = true
		if i%97 == 0 {
			checkTicket(t, k, tok, c, now)
		}
	}
	if k.ahead.prepared.Load() == 0 || k.ahead.inline.Load() == 0 {
		t.Fatalf("the test did not sign both ways: %d from the pool, %d in full", k.ahead.prepared.Load(), k.ahead.inline.Load())
	}
}

// TestServicePreparesWhileADropIsOnSale: the leader fills its pool once a
// drop is on sale, joins take their signatures from it, and SignAhead < 0
// turns it off.
func TestServicePreparesWhileADropIsOnSale(t *testing.T) {
	st := openStore(t)
	reg := prometheus.NewRegistry()
	q := New(Config{Store: st, TickInterval: 10 * time.Millisecond, SignAhead: 32, Registerer: reg, Logger: quietLog()})
	testkit.Background(t, q.Run)
	testkit.WaitFor(t, "cluster secret", func() bool { _, _, err := q.Keys(); return err == nil })
	keys, _, _ := q.Keys()
	time.Sleep(50 * time.Millisecond)
	if keys.ahead.count() != 0 || keys.ahead.started.Load() {
		t.Fatal("the pool fills with no drop on sale")
	}
	createDrop(t, st, dropSpec("d", 3, time.Now().Add(time.Hour), 1000))
	testkit.WaitFor(t, "the pool to fill", func() bool { return keys.ahead.count() == 32 })
	join(t, q, "d")
	if keys.ahead.prepared.Load() != 1 {
		t.Fatalf("%d signatures from the pool after one join", keys.ahead.prepared.Load())
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		m := mf.GetMetric()[0]
		got[mf.GetName()] = m.GetCounter().GetValue() + m.GetGauge().GetValue()
	}
	if got["floodgate_ticket_signatures_prepared_total"] != 1 || got["floodgate_ticket_signatures_inline_total"] != 0 || got["floodgate_ticket_nonces_ready"] > 32 {
		t.Fatalf("metrics after one join from a full pool of 32: %v", got)
	}

	off := New(Config{Store: st, SignAhead: -1})
	if k, _, _ := off.Keys(); k.ahead != nil {
		t.Fatal("SignAhead < 0 still prepares signatures")
	}
}

// FuzzPresignedTicket: whatever the claims, a ticket signed from a
// prepared nonce verifies everywhere and reads back the same.
func FuzzPresignedTicket(f *testing.F) {
	f.Add("lamp", "yPn6cE7RrBDu6M7xBJYD7Q", int64(9), int64(201), false)
	f.Add("d\"\\\u2028<>", "", int64(0), int64(-1), true)
	k := testKeys()
	k.ahead = newPresigner(k.TicketKey, 1)
	now := time.Now()
	f.Fuzz(func(t *testing.T, drop, vid string, seq, pos int64, early bool) {
		if drop == "" || vid == "" || seq < 0 || !utf8.ValidString(drop) || !utf8.ValidString(vid) {
			return // refused by design, or changed by JSON (invalid UTF-8)
		}
		fillNow(k.ahead, 1)
		c := &Claims{Drop: drop, Visitor: vid, Seq: seq, Position: pos, Early: early,
			RegisteredClaims: jwt.RegisteredClaims{IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(TicketTTL))}}
		before := k.ahead.prepared.Load()
		tok, err := SignTicket(k, c)
		if err != nil {
			t.Skip("claims JSON cannot encode")
		}
		if k.ahead.prepared.Load() != before+1 {
			t.Fatal("not signed from the pool")
		}
		if len(tok) <= 2048 {
			checkTicket(t, k, tok, c, now)
		}
	})
}

// TestPresignRefillsInLulls: the pool fills at once, but refills only once
// joins have stopped asking for nonces for refillIdle, never while they
// keep coming (refilling then would take CPU from the burst itself).
func TestPresignRefillsInLulls(t *testing.T) {
	k := testKeys()
	p := newPresigner(k.TicketKey, 32)
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { cancel(); p.stop() }()
	p.start(ctx, quietLog())
	testkit.WaitFor(t, "the first fill", func() bool { return p.count() == 32 })
	var sig [ed25519.SignatureSize]byte
	// A burst: a join every 10 ms; the pool only drains. A step that came
	// after a real lull (a slow machine can sleep far longer than asked)
	// may see a refill and is not judged.
	want, judged, last := p.count(), 0, time.Now()
	for i := range 30 {
		gap := time.Since(last)
		before := p.count()
		p.sign(&sig, []byte{byte(i)})
		last = time.Now()
		if gap < refillIdle/2 && before != want {
			t.Fatalf("step %d of a burst: %d nonces before signing, want %d: the pool refilled mid-burst", i, before, want)
		}
		if gap < refillIdle/2 {
			judged++
		}
		want = p.count()
		time.Sleep(10 * time.Millisecond)
	}
	if judged == 0 {
		t.Fatal("no step of the burst came within half of refillIdle of the one before")
	}
	// The lull: it refills.
	testkit.WaitFor(t, "the refill after the burst", func() bool { return p.count() == 32 })
}
