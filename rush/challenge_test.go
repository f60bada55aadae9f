package rush

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"testing"
	"time"

	"github.com/floodgate/floodgate/internal/pow"
	"github.com/floodgate/floodgate/internal/testkit"
)

func TestSolve(t *testing.T) {
	prefix := []byte("0123456789abcdef")
	ch := &challengeJSON{Algorithm: "sha256", Prefix: base64.RawURLEncoding.EncodeToString(prefix), Difficulty: 12, ExpiresAt: time.Now().Add(time.Minute)}
	nonce, hashes := solve(context.Background(), ch)
	if nonce == "" || hashes < 1 {
		t.Fatalf("no nonce (%d hashes)", hashes)
	}
	sum := sha256.Sum256(append(append([]byte(nil), prefix...), nonce...))
	if z := pow.LeadingZeroBits(sum[:]); z < 12 {
		t.Fatalf("nonce %q gives %d zero bits, want 12", nonce, z)
	}
	// A challenge that expired is given up, not solved forever.
	ch.Difficulty, ch.ExpiresAt = 60, time.Now().Add(-time.Second)
	if nonce, _ := solve(context.Background(), ch); nonce != "" {
		t.Fatalf("solved an expired 60-bit challenge: %q", nonce)
	}
	if _, ok := parseChallenge([]byte(`{"error":{"code":"challenge_required"},"challenge":{"id":"x","algorithm":"sha256","prefix":"AA","difficulty":3}}`)); !ok {
		t.Error("a 428 body with a challenge is not parsed")
	}
	if _, ok := parseChallenge([]byte(`{"error":{"code":"challenge_required"}}`)); ok {
		t.Error("a 428 body without a challenge is parsed")
	}
}

// TestFarmSolves: the bots' farm, in goroutines and in a process of its
// own (floodgate rush --bot-farm), answers each challenge with a nonce the
// server would take, gives up a challenge that expired, and reports its CPU.
func TestFarmSolves(t *testing.T) {
	for _, c := range []struct {
		name string
		bin  func() string
	}{
		{"in process", func() string { return "" }},
		{"own process", func() string { return testkit.Binary(t) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.name != "in process" && testing.Short() {
				t.Skip("builds floodgate")
			}
			b, err := startFarm(c.bin(), 2)
			if err != nil {
				t.Fatal(err)
			}
			defer b.close()
			prefixes := [][]byte{[]byte("0123456789abcdef"), []byte("fedcba9876543210")}
			answers := make(chan botAnswer, len(prefixes))
			for _, prefix := range prefixes {
				go func() {
					ch := &challengeJSON{Algorithm: "sha256", Prefix: base64.RawURLEncoding.EncodeToString(prefix), Difficulty: 14, ExpiresAt: time.Now().Add(time.Minute)}
					a, ok := b.solve(context.Background(), ch)
					if !ok || !pow.Solves(prefix, a.nonce, 14) {
						t.Errorf("prefix %q: nonce %q (ok %v), not a solution", prefix, a.nonce, ok)
					}
					answers <- a
				}()
			}
			var hashes int64
			for range prefixes {
				hashes += (<-answers).hashes
			}
			if hashes < 2 {
				t.Errorf("%d hashes for two challenges", hashes)
			}
			expired := &challengeJSON{Algorithm: "sha256", Prefix: "AAAA", Difficulty: 60, ExpiresAt: time.Now().Add(-time.Second)}
			if a, ok := b.solve(context.Background(), expired); ok || a.nonce != "" {
				t.Errorf("an expired 60-bit challenge solved: %q", a.nonce)
			}
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			if _, ok := b.solve(ctx, &challengeJSON{Algorithm: "sha256", Prefix: "AAAA", Difficulty: 60, ExpiresAt: time.Now().Add(time.Minute)}); ok {
				t.Error("a challenge solved for a bot that had given up")
			}
			b.close()
			if b.cpu() <= 0 {
				t.Errorf("the farm reports %v of CPU after %d hashes", b.cpu(), hashes)
			}
		})
	}
}
