package hmacpool

import (
	"crypto/hmac"
	"crypto/sha256"
	"strings"
	"sync"
	"testing"
)

func reference(key []byte, msg string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(msg))
	return h.Sum(nil)
}

// TestAppendIsHMACSHA256: the same MAC as crypto/hmac, call after call (a
// reused HMAC must start from the key each time), for strings and bytes,
// appended after what dst holds, from many goroutines at once.
func TestAppendIsHMACSHA256(t *testing.T) {
	key := []byte("a key of the cluster, for a test")
	k := New(key)
	if !k.Is(key) || k.Is([]byte("another key")) {
		t.Fatal("Is does not tell the key")
	}
	msgs := []string{"", "a", "eyJkcm9wIjoiZCJ9", strings.Repeat("x", 5000), "a"}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 50 {
				for _, m := range msgs {
					want := reference(key, m)
					if got := Append(k, []byte("pre"), m); string(got) != "pre"+string(want) {
						t.Errorf("Append(%.10q) = %x, want pre+%x", m, got, want)
						return
					}
					if got := Append(k, nil, []byte(m)); !hmac.Equal(got, want) {
						t.Errorf("Append([]byte %.10q) = %x, want %x", m, got, want)
						return
					}
				}
			}
		})
	}
	wg.Wait()
}

func TestAppendDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("under -race sync.Pool drops what it is given at random")
	}
	k := New([]byte("key"))
	var buf [sha256.Size]byte
	Append(k, buf[:0], "warm the pool")
	if n := testing.AllocsPerRun(100, func() { Append(k, buf[:0], "eyJkcm9wIjoiZCJ9") }); n > 0 {
		t.Errorf("Append allocates %v times per call", n)
	}
}
