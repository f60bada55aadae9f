package queue

import (
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// TestTicketMAC checks both ways of verifying a ticket agree, and that the
// MAC path accepts nothing the Ed25519 path would refuse.
func TestTicketMAC(t *testing.T) {
	keys := DeriveKeys([]byte("0123456789abcdef0123456789abcdef"))
	other := DeriveKeys([]byte("another secret, another cluster.."))
	now := time.Now()
	c := &Claims{Drop: "d", Visitor: "v1", Seq: 7, RegisteredClaims: jwt.RegisteredClaims{
		IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour))}}
	tok, err := SignTicket(keys, c)
	if err != nil {
		t.Fatal(err)
	}
	withMAC := NewVerifier(keys.TicketPub).WithMAC(keys.MACKey)
	edOnly := NewVerifier(keys.TicketPub)
	if _, ok := withMAC.parseMAC(tok); !ok {
		t.Fatal("the MAC path refused a ticket the cluster signed")
	}
	for name, v := range map[string]*Verifier{"mac": withMAC, "ed25519": edOnly} {
		got, err := v.Verify(tok, "d", now)
		if err != nil || got.Visitor != "v1" || got.Seq != 7 {
			t.Fatalf("%s: Verify = %+v, %v", name, got, err)
		}
	}
	// A ticket signed by another cluster, and one whose payload was changed,
	// must fail on both paths.
	foreign, _ := SignTicket(other, c)
	parts := strings.Split(tok, ".")
	c2 := *c
	c2.Seq = 0
	forgedTok, _ := SignTicket(other, &c2)
	tampered := parts[0] + "." + strings.Split(forgedTok, ".")[1] + "." + parts[2]
	for _, bad := range []string{foreign, tampered, parts[0] + "." + parts[1] + ".", tok + "x"} {
		for name, v := range map[string]*Verifier{"mac": NewVerifier(keys.TicketPub).WithMAC(keys.MACKey), "ed25519": NewVerifier(keys.TicketPub)} {
			if _, err := v.Verify(bad, "d", now); err == nil {
				t.Errorf("%s accepted a bad ticket %q", name, bad)
			}
		}
	}
	// The Ed25519 signature still covers the header with the MAC in it.
	if _, err := edOnly.parse(tok, now); err != nil {
		t.Fatalf("Ed25519 verification of a ticket with a MAC header: %v", err)
	}
}
