package queue

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/floodgate/floodgate"
	"github.com/floodgate/floodgate/internal/api"
)

var fuzzKeys = DeriveKeys([]byte("0123456789abcdef0123456789abcdef"))

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// craft builds a token from a raw header and payload, with a signature of
// the right length (but not a valid one).
func craft(header, payload string) string {
	return b64(header) + "." + b64(payload) + "." + base64.RawURLEncoding.EncodeToString(make([]byte, 64))
}

// TestOverlongHeaderField: a ticket whose "fgm" header field is longer than
// any MAC is refused as a bad ticket (401), not a crash.
func TestOverlongHeaderField(t *testing.T) {
	v := NewVerifier(fuzzKeys.TicketPub).WithMAC(fuzzKeys.MACKey)
	for _, n := range []int{43, 44, 100, 5000} {
		tok := craft(`{"alg":"EdDSA","fgm":"`+strings.Repeat("A", n)+`"}`, `{"drop":"d","vid":"v","seq":1,"exp":9999999999}`)
		_, err := v.Verify(tok, "d", time.Now())
		if floodgate.ErrorCode(err) != floodgate.EUnauthenticated {
			t.Errorf("fgm of %d characters: %v, want unauthenticated", n, err)
		}
	}
}

// TestIssuedAtLeeway: an edge whose clock is a little behind the leader
// accepts a ticket issued "in the future" (the Ed25519 path checks iat).
func TestIssuedAtLeeway(t *testing.T) {
	now := time.Now()
	c := &Claims{Drop: "d", Visitor: "v", Seq: 1, RegisteredClaims: jwt.RegisteredClaims{
		IssuedAt: jwt.NewNumericDate(now.Add(30 * time.Second)), ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour))}}
	tok, err := SignTicket(fuzzKeys, c)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewVerifier(fuzzKeys.TicketPub).Verify(tok, "d", now); err != nil {
		t.Fatalf("a ticket issued 30 s ahead of the edge's clock: %v", err)
	}
	c.IssuedAt = jwt.NewNumericDate(now.Add(time.Hour))
	far, _ := SignTicket(fuzzKeys, c)
	if _, err := NewVerifier(fuzzKeys.TicketPub).Verify(far, "d", now); err == nil {
		t.Fatal("a ticket issued an hour in the future was accepted")
	}
}

// FuzzVerifyTicket: whatever a client sends as a ticket, verification
// never panics and never fails in a way that would be a 5xx: a bad ticket
// is the client's fault (401, or 403 for another drop).
func FuzzVerifyTicket(f *testing.F) {
	now := time.Now()
	good, _ := SignTicket(fuzzKeys, &Claims{Drop: "d", Visitor: "v", Seq: 1, RegisteredClaims: jwt.RegisteredClaims{
		IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour))}})
	parts := strings.Split(good, ".")
	f.Add(good, "", "")
	f.Add("", `{"alg":"EdDSA","fgm":"`+strings.Repeat("A", 200)+`"}`, `{"drop":"d","vid":"v","seq":1,"exp":9999999999}`)
	f.Add("", `{"alg":"EdDSA","fgm":"\"}`, `{"drop":"d","vid":"v","seq":-1,"exp":1e400}`)
	f.Add("", `{"alg":"none"}`, `{}`)
	f.Add(parts[0]+"."+parts[1]+".", "", "")
	f.Add("a.b.c.d", "", "")
	f.Fuzz(func(t *testing.T, token, header, payload string) {
		if header != "" || payload != "" {
			token = craft(header, payload)
		}
		for _, v := range []*Verifier{NewVerifier(fuzzKeys.TicketPub).WithMAC(fuzzKeys.MACKey), NewVerifier(fuzzKeys.TicketPub)} {
			c, err := v.Verify(token, "d", now)
			if err != nil {
				if st := api.Status(floodgate.ErrorCode(err)); st >= 500 {
					t.Fatalf("Verify(%q) = %v: status %d", token, err, st)
				}
				continue
			}
			if c.Drop != "d" || c.Visitor == "" {
				t.Fatalf("Verify(%q) accepted claims %+v", token, c)
			}
		}
	})
}
