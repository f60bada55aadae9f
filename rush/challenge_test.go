package rush

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"testing"
	"time"

	"github.com/floodgate/floodgate/internal/pow"
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
