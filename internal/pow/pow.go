// Package pow is the arithmetic of the join challenge, shared by the
// waiting room that asks it (queue), the load generator that solves it
// (rush) and the tests: SHA-256(prefix ‖ nonce) must begin with Difficulty
// zero bits.
package pow

import (
	"crypto/sha256"
	"math/bits"
	"time"
)

// Challenge is what a client must solve before it gets a ticket, as a 428
// challenge_required answer carries it.
type Challenge struct {
	ID         string    `json:"id"`
	Algorithm  string    `json:"algorithm"`
	Prefix     string    `json:"prefix"`
	Difficulty int       `json:"difficulty"`
	ExpiresAt  time.Time `json:"expires_at"`
}

// Solves reports whether SHA-256(prefix ‖ nonce) begins with difficulty
// zero bits.
func Solves(prefix []byte, nonce string, difficulty int) bool {
	var buf [128]byte // a prefix and a nonce of the sizes queue allows fit: no allocation
	msg := append(append(buf[:0], prefix...), nonce...)
	sum := sha256.Sum256(msg)
	return LeadingZeroBits(sum[:]) >= difficulty
}

// LeadingZeroBits counts the zero bits at the start of b.
func LeadingZeroBits(b []byte) int {
	n := 0
	for _, x := range b {
		if x != 0 {
			return n + bits.LeadingZeros8(x)
		}
		n += 8
	}
	return n
}
