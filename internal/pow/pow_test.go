package pow

import (
	"crypto/sha256"
	"strconv"
	"testing"
)

func TestLeadingZeroBits(t *testing.T) {
	for _, tc := range []struct {
		b    []byte
		want int
	}{{nil, 0}, {[]byte{0x80}, 0}, {[]byte{0x01}, 7}, {[]byte{0, 0x10}, 11}, {[]byte{0, 0, 0}, 24}} {
		if got := LeadingZeroBits(tc.b); got != tc.want {
			t.Errorf("LeadingZeroBits(%x) = %d, want %d", tc.b, got, tc.want)
		}
	}
}

// TestSolves finds a nonce by brute force and checks it against the hash
// computed here, and that a long prefix (past the stack buffer) still works.
func TestSolves(t *testing.T) {
	for _, prefix := range [][]byte{[]byte("0123456789abcdef"), make([]byte, 100)} {
		for i := 0; ; i++ {
			n := strconv.FormatInt(int64(i), 36)
			sum := sha256.Sum256(append(append([]byte(nil), prefix...), n...))
			want := LeadingZeroBits(sum[:]) >= 10
			if got := Solves(prefix, n, 10); got != want {
				t.Fatalf("Solves(%q) = %v, want %v", n, got, want)
			}
			if want {
				break
			}
		}
	}
}
