package identity_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/oauth2-proxy/mockoidc"

	"github.com/floodgate/floodgate/identity"
)

// TestOIDCMissingEmailVerified: a provider that does not say the email is
// verified (no email_verified claim) has not verified it, so the buyer is
// its issuer and subject, not the email someone typed at that provider.
func TestOIDCMissingEmailVerified(t *testing.T) {
	i := startIDP(t)
	p := newOIDC(t, i)
	i.M.QueueUser(&mockoidc.MockUser{Subject: "mallory-1", Email: "victim@example.com", EmailVerified: false})
	f, code := signIn(t, p)
	b, err := p.Exchange(context.Background(), code, f)
	if err != nil {
		t.Fatal(err)
	}
	if b.Customer == "victim@example.com" || !strings.HasSuffix(b.Customer, "#mallory-1") {
		t.Fatalf("customer = %q; an unverified email must not be the customer", b.Customer)
	}
}

// TestEmailsNotMergedByUnicodeCase: lower-casing keeps addresses that
// differ in more than ASCII case apart (the Kelvin sign lower-cases to "k"
// under Unicode rules).
func TestEmailsNotMergedByUnicodeCase(t *testing.T) {
	kelvin, err := identity.CheckEmail("\u212aim@example.com")
	if err != nil {
		t.Fatal(err)
	}
	kim, _ := identity.CheckEmail("Kim@Example.com")
	if kim != "kim@example.com" {
		t.Fatalf("ASCII case: %q", kim)
	}
	if kelvin == kim {
		t.Fatalf("%q and %q became one customer", "\u212aim@example.com", "Kim@Example.com")
	}
	if identity.NormalizeEmail("\u0130nci@example.com") == identity.NormalizeEmail("i\u0307nci@example.com") {
		t.Fatal("dotted capital I merged with i + combining dot")
	}
}

// TestSessionsRequireProvider: once the node runs with a provider, a
// session issued through another (a dev session from an earlier --dev run
// with the same cluster secret) is refused.
func TestSessionsRequireProvider(t *testing.T) {
	s := identity.NewSessions([]byte("0123456789abcdef0123456789abcdef"), time.Hour)
	now := time.Now()
	dev, _ := s.Issue("anyone@example.com", "dev", now)
	oidc, _ := s.Issue("buyer@example.com", "oidc", now)
	s.RequireProvider("oidc")
	if _, err := s.Verify(dev, now); err == nil {
		t.Fatal("a dev session was accepted by a node whose provider is OIDC")
	}
	if c, err := s.Verify(oidc, now); err != nil || c != "buyer@example.com" {
		t.Fatalf("an OIDC session: %q %v", c, err)
	}
}
