package queue

import (
	"crypto/ed25519"
	"encoding/base64"
	"log/slog"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/floodgate/floodgate/internal/presign"
	"github.com/floodgate/floodgate/internal/testkit"
)

// presignedKeys returns test keys with a pool of size nonces, filled.
func presignedKeys(tb testing.TB, size int) *Keys {
	tb.Helper()
	k := testKeys()
	k.ahead = presign.New(k.TicketKey, size)
	if k.ahead == nil {
		tb.Fatal("no pool for a valid key")
	}
	k.ahead.Prepare(size)
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
		if got := k.ahead.Ready(); got != n-int(i)-1 {
			t.Fatalf("the pool holds %d nonces after %d signatures of %d", got, i+1, n)
		}
	}
	if p, in := k.tickets.Prepared.Load(), k.tickets.Inline.Load(); p != n || in != 0 {
		t.Fatalf("%d signatures from the pool, %d in full; want %d and 0", p, in, n)
	}
}

// TestPresignEmptyFallsBack: an empty pool never holds a join up: the
// ticket is signed in full, exactly as ed25519.Sign does.
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
	if p, in := k.tickets.Prepared.Load(), k.tickets.Inline.Load(); p != 2 || in != 3 {
		t.Fatalf("%d from the pool, %d in full; want 2 and 3", p, in)
	}
}

// TestPresignOtherKey: a pool serves only the key it was built for
// (internal/presign's tests cover the pool itself: concurrency, refills in
// lulls, R never repeating, wiping).
func TestPresignOtherKey(t *testing.T) {
	k := testKeys()
	other := DeriveKeys([]byte("another cluster's secret, 32 bytes or more"))
	k.ahead = presign.New(other.TicketKey, 8)
	k.ahead.Prepare(8)
	now := time.Now()
	c := claimsAt(now, 7)
	tok := mustSign(t, k, c)
	checkTicket(t, k, tok, c, now)
	if k.ahead.Ready() != 8 || tok != mustSign(t, testKeys(), c) {
		t.Fatal("another key's nonce was used")
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
	if keys.ahead.Ready() != 0 || keys.ahead.Started() {
		t.Fatal("the pool fills with no drop on sale")
	}
	createDrop(t, st, dropSpec("d", 3, time.Now().Add(time.Hour), 1000))
	testkit.WaitFor(t, "the pool to fill", func() bool { return keys.ahead.Ready() == 32 })
	join(t, q, "d")
	if keys.tickets.Prepared.Load() != 1 || keys.Presigned() != keys.ahead {
		t.Fatalf("%d signatures from the pool after one join", keys.tickets.Prepared.Load())
	}
	prepared := testkit.Metric(t, reg, "floodgate_ticket_signatures_prepared_total").GetCounter().GetValue()
	inline := testkit.Metric(t, reg, "floodgate_ticket_signatures_inline_total").GetCounter().GetValue()
	ready := testkit.Metric(t, reg, "floodgate_ticket_nonces_ready").GetGauge().GetValue()
	if prepared != 1 || inline != 0 || ready > 32 {
		t.Fatalf("metrics after one join from a full pool of 32: prepared %v, inline %v, ready %v", prepared, inline, ready)
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
	k.ahead = presign.New(k.TicketKey, 1)
	now := time.Now()
	f.Fuzz(func(t *testing.T, drop, vid string, seq, pos int64, early bool) {
		if drop == "" || vid == "" || seq < 0 || !utf8.ValidString(drop) || !utf8.ValidString(vid) {
			return // refused by design, or changed by JSON (invalid UTF-8)
		}
		k.ahead.Prepare(1)
		c := &Claims{Drop: drop, Visitor: vid, Seq: seq, Position: pos, Early: early,
			RegisteredClaims: jwt.RegisteredClaims{IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(TicketTTL))}}
		before := k.tickets.Prepared.Load()
		tok, err := SignTicket(k, c)
		if err != nil {
			t.Skip("claims JSON cannot encode")
		}
		if k.tickets.Prepared.Load() != before+1 {
			t.Fatal("not signed from the pool")
		}
		if len(tok) <= 2048 {
			checkTicket(t, k, tok, c, now)
		}
	})
}
