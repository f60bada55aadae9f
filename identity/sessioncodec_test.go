package identity

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// checkSessionClaims fails if the direct reading of b accepts it and
// disagrees with json.Unmarshal.
func checkSessionClaims(t *testing.T, b []byte) {
	t.Helper()
	got, ok := decodeSessionClaimsFast(b)
	if !ok {
		return
	}
	var want sessionClaims
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatalf("%q: read directly as %+v, but json.Unmarshal fails: %v", b, got, err)
	}
	if got != want {
		t.Fatalf("%q: read directly as %+v, json.Unmarshal gives %+v", b, got, want)
	}
}

func TestSessionClaimsAsIssued(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	strs := []string{"", "a@example.com", "0123456789abcdef0123456789abcdef", "dev", "oidc", "a<b>&c", "ü@example.com", "q\"uote", "back\\slash", "\x01", "\xff"}
	for range 20000 {
		c := sessionClaims{ID: strs[r.IntN(len(strs))], Customer: strs[r.IntN(len(strs))], Provider: strs[r.IntN(len(strs))], Expires: r.Int64N(1<<40) - 1<<20}
		b, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		checkSessionClaims(t, b)
		got, err := decodeSessionClaims(b)
		if err != nil {
			t.Fatal(err)
		}
		var want sessionClaims
		_ = json.Unmarshal(b, &want)
		if got != want {
			t.Fatalf("%s: got %+v, want %+v", b, got, want)
		}
	}
	// What Issue writes is read directly.
	k := []byte("0123456789abcdef0123456789abcdef")
	s := NewSessions(k, time.Hour)
	tok, err := s.Issue("a@example.com", "dev", time.Unix(1e9, 0))
	if err != nil {
		t.Fatal(err)
	}
	sess, err := s.Parse(tok, time.Unix(1e9, 0))
	if err != nil || sess.Customer != "a@example.com" || sess.ID == "" || sess.Expires.Unix() != 1e9+3600 {
		t.Fatalf("Parse: %+v %v", sess, err)
	}
}

// FuzzSessionClaims checks the direct reading of session claims against
// json.Unmarshal for any bytes.
func FuzzSessionClaims(f *testing.F) {
	f.Add([]byte(`{"sid":"0123","sub":"a@example.com","prv":"dev","exp":1767225600}`))
	f.Add([]byte(`{"sub":"a@example.com","exp":0}`))
	f.Add([]byte(`{"sub":"a","exp":01}`))
	f.Add([]byte(`{"sid":"","sub":"","prv":"","exp":123456789012345678}`))
	f.Fuzz(func(t *testing.T, b []byte) { checkSessionClaims(t, b) })
}

// The claims of a session are read with one allocation: the copy their
// strings are taken from.
func TestClaimsAllocateOnce(t *testing.T) {
	c := sessionClaims{ID: "0123456789abcdef", Customer: "a-buyer-with-a-long-name@example.com", Provider: "dev", Expires: 1767225600}
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	p := base64.RawURLEncoding.EncodeToString(b)
	if allocs := testing.AllocsPerRun(100, func() {
		if got, err := claimsOf(p); err != nil || got != c {
			t.Fatal(got, err)
		}
	}); allocs != 1 {
		t.Fatalf("claimsOf allocates %v times, want 1", allocs)
	}
}

// A session is verified with the one allocation of its claims, from a
// string (a cookie) as from the bytes of a body.
func TestVerifyAllocatesOnce(t *testing.T) {
	if raceEnabled {
		t.Skip("under -race sync.Pool drops what it is given at random")
	}
	s := NewSessions([]byte("0123456789abcdef0123456789abcdef"), time.Hour)
	now := time.Unix(1_800_000_000, 0)
	token, err := s.Issue("a-buyer-with-a-long-name@example.com", "dev", now)
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(token)
	for name, verify := range map[string]func() (string, error){
		"Verify":      func() (string, error) { return s.Verify(token, now) },
		"VerifyBytes": func() (string, error) { return s.VerifyBytes(body, now) },
	} {
		if allocs := testing.AllocsPerRun(100, func() {
			if got, err := verify(); err != nil || got != "a-buyer-with-a-long-name@example.com" {
				t.Fatal(got, err)
			}
		}); allocs != 1 {
			t.Errorf("%s allocates %v times, want 1", name, allocs)
		}
	}
}

// VerifyBytes answers as Verify does, and what it returns does not refer
// to the token's bytes: the caller reuses them at once.
func TestVerifyBytesAsVerify(t *testing.T) {
	s := NewSessions([]byte("0123456789abcdef0123456789abcdef"), time.Hour)
	now := time.Unix(1e9, 0)
	tok, err := s.Issue("a@example.com", "dev", now)
	if err != nil {
		t.Fatal(err)
	}
	expired, err := s.Issue("b@example.com", "dev", now.Add(-2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	sig := strings.LastIndexByte(tok, '.')
	for _, token := range []string{tok, expired, tok[:sig] + "." + tok[:43], tok[:sig], tok[:sig] + tok[sig+1:], "", ".", tok + ".", "x" + tok, tok + strings.Repeat("A", 4096)} {
		want, wantErr := s.Verify(token, now)
		b := []byte(token)
		got, err := s.VerifyBytes(b, now)
		for i := range b {
			b[i] = 'x'
		}
		if got != want || fmt.Sprint(err) != fmt.Sprint(wantErr) {
			t.Fatalf("%.60q: VerifyBytes %q, %v; Verify %q, %v", token, got, err, want, wantErr)
		}
	}
	if got, err := s.Verify(tok, now); got != "a@example.com" || err != nil {
		t.Fatalf("Verify of a good token: %q, %v", got, err)
	}
}
