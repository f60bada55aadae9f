package queue

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/floodgate/floodgate"
)

var testNow = time.Date(2026, 11, 23, 11, 0, 0, 0, time.UTC)

func testKeys() *Keys { return DeriveKeys(bytes.Repeat([]byte{42}, 32)) }

func testClaims() *Claims {
	return &Claims{
		Drop: "drop-1", Visitor: "visitor-abc", Seq: 17, Position: 18,
		RegisteredClaims: jwt.RegisteredClaims{
			IssuedAt:  jwt.NewNumericDate(testNow),
			ExpiresAt: jwt.NewNumericDate(testNow.Add(TicketTTL)),
		},
	}
}

func mustSign(tb testing.TB, k *Keys, c *Claims) string {
	tb.Helper()
	tok, err := SignTicket(k, c)
	if err != nil {
		tb.Fatal(err)
	}
	return tok
}

func TestTicketRoundTrip(t *testing.T) {
	k := testKeys()
	v := NewVerifier(k.TicketPub)
	tok := mustSign(t, k, testClaims())
	for range 2 { // the second time from the cache
		c, err := v.Verify(tok, "drop-1", testNow.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if c.Drop != "drop-1" || c.Visitor != "visitor-abc" || c.Seq != 17 || c.Position != 18 || c.Early {
			t.Fatalf("claims %+v", c)
		}
	}
	if _, err := v.Verify(tok, "", testNow); err != nil {
		t.Fatalf("any drop: %v", err)
	}
	_, err := v.Verify(tok, "other", testNow)
	if floodgate.ErrorCode(err) != floodgate.EForbidden {
		t.Fatalf("a ticket for another drop: %v, want forbidden", err)
	}
	// Expiry is checked on every use, cached or not.
	_, err = v.Verify(tok, "drop-1", testNow.Add(TicketTTL))
	if floodgate.ErrorCode(err) != floodgate.EUnauthenticated {
		t.Fatalf("an expired ticket from the cache: %v, want unauthenticated", err)
	}
	_, err = NewVerifier(k.TicketPub).Verify(tok, "drop-1", testNow.Add(TicketTTL+time.Second))
	if floodgate.ErrorCode(err) != floodgate.EUnauthenticated {
		t.Fatalf("an expired ticket: %v, want unauthenticated", err)
	}
}

func TestDeriveKeys(t *testing.T) {
	a, b := testKeys(), testKeys()
	if !a.TicketPub.Equal(b.TicketPub) || a.KeyID != b.KeyID || !bytes.Equal(a.SessionKey, b.SessionKey) {
		t.Fatal("the same secret gives other keys: nodes would not verify each other's tickets")
	}
	c := DeriveKeys(bytes.Repeat([]byte{43}, 32))
	if c.TicketPub.Equal(a.TicketPub) || bytes.Equal(c.SessionKey, a.SessionKey) {
		t.Fatal("another secret gives the same keys")
	}
	if bytes.Equal(a.SessionKey, a.TicketKey.Seed()) {
		t.Fatal("the session key is the ticket key")
	}
	jwks := a.JWKS()
	if len(jwks.Keys) != 1 {
		t.Fatalf("%d keys in the JWKS", len(jwks.Keys))
	}
	j := jwks.Keys[0]
	pub, err := base64.RawURLEncoding.DecodeString(j.X)
	if err != nil || !ed25519.PublicKey(pub).Equal(a.TicketPub) || j.Kty != "OKP" || j.Crv != "Ed25519" || j.Alg != "EdDSA" || j.Kid != a.KeyID {
		t.Fatalf("JWKS %+v does not describe the ticket key", j)
	}
	// An origin can verify a ticket with the published key alone.
	tok := mustSign(t, a, testClaims())
	if _, err := NewVerifier(ed25519.PublicKey(pub)).Verify(tok, "drop-1", testNow); err != nil {
		t.Fatalf("verify with the JWKS key: %v", err)
	}
}

// forgeries returns tickets that must never verify under testKeys().
func forgeries(tb testing.TB) map[string]string {
	tb.Helper()
	k := testKeys()
	good := mustSign(tb, k, testClaims())
	parts := strings.Split(good, ".")
	_, otherPriv, _ := ed25519.GenerateKey(rand.Reader)
	other := &Keys{TicketKey: otherPriv, KeyID: k.KeyID}
	claims := testClaims()
	claims.Seq = 0
	changed, _ := json.Marshal(claims)
	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, testClaims()).SignedString(jwt.UnsafeAllowNoneSignatureType)
	hs, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, testClaims()).SignedString([]byte(k.TicketPub))
	noExp := testClaims()
	noExp.ExpiresAt = nil
	noDrop := testClaims()
	noDrop.Drop = ""
	negSeq := testClaims()
	negSeq.Seq = -1
	return map[string]string{
		"other key":              mustSign(tb, other, testClaims()),
		"changed payload":        parts[0] + "." + base64.RawURLEncoding.EncodeToString(changed) + "." + parts[2],
		"no signature":           parts[0] + "." + parts[1] + ".",
		"cut signature":          parts[0] + "." + parts[1] + "." + parts[2][:10],
		"alg none":               none,
		"HS256 with the pub key": hs,
		"no expiry":              mustSign(tb, k, noExp),
		"no drop":                mustSign(tb, k, noDrop),
		"negative seq":           mustSign(tb, k, negSeq),
		"empty":                  "",
		"too long":               good + strings.Repeat("A", 2048),
	}
}

func TestForgedTicketsAreRefused(t *testing.T) {
	v := NewVerifier(testKeys().TicketPub)
	for name, tok := range forgeries(t) {
		if c, err := v.Verify(tok, "", testNow); err == nil {
			t.Errorf("%s: accepted with claims %+v", name, c)
		} else if floodgate.ErrorCode(err) != floodgate.EUnauthenticated {
			t.Errorf("%s: error %v, want unauthenticated", name, err)
		}
	}
}

// signedBy reports whether token is a compact JWS whose signature over
// header.payload verifies with pub: the ground truth Verify must agree with.
func signedBy(token string, pub ed25519.PublicKey) bool {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return false
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return false
	}
	return ed25519.Verify(pub, []byte(parts[0]+"."+parts[1]), sig)
}

// FuzzVerify feeds arbitrary tokens to Verifier.Verify: it never panics, and
// it accepts a token only if its Ed25519 signature verifies with the key
// and its claims are complete.
func FuzzVerify(f *testing.F) {
	k := testKeys()
	f.Add(mustSign(f, k, testClaims()), "drop-1")
	for _, tok := range forgeries(f) {
		f.Add(tok, "")
	}
	f.Add("a.b.c", "x")
	f.Add("eyJhbGciOiJFZERTQSJ9.e30.", "")
	f.Fuzz(func(t *testing.T, token, drop string) {
		v := NewVerifier(k.TicketPub)
		c, err := v.Verify(token, drop, testNow)
		if err != nil {
			code := floodgate.ErrorCode(err)
			if code != floodgate.EUnauthenticated && code != floodgate.EForbidden {
				t.Fatalf("error %v with code %s", err, code)
			}
			return
		}
		if !signedBy(token, k.TicketPub) {
			t.Fatalf("accepted a token not signed by the ticket key: %q", token)
		}
		if c.Drop == "" || c.Visitor == "" || c.Seq < 0 || c.ExpiresAt == nil || (drop != "" && c.Drop != drop) {
			t.Fatalf("accepted incomplete claims %+v for drop %q", c, drop)
		}
	})
}
