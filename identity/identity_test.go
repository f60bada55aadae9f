package identity_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/oauth2-proxy/mockoidc"

	"github.com/floodgate/floodgate"
	"github.com/floodgate/floodgate/identity"
	"github.com/floodgate/floodgate/internal/testkit"
)

func TestBreakerOpensAfterThresholdAndRecoversAfterTrial(t *testing.T) {
	now := time.Unix(1000, 0)
	b := identity.NewBreaker(2, 5*time.Second)
	b.Now = func() time.Time { return now }

	b.Failure()
	if b.Open() || !b.Allow() {
		t.Fatal("one failure must not open the breaker")
	}
	b.Failure()
	if !b.Open() {
		t.Fatal("two failures in a row must open the breaker")
	}
	if b.Allow() {
		t.Fatal("an open breaker must refuse calls during its cooldown")
	}
	now = now.Add(6 * time.Second)
	if !b.Allow() {
		t.Fatal("after the cooldown one trial call must be allowed")
	}
	if b.Allow() {
		t.Fatal("only one trial call at a time while half-open")
	}
	b.Failure()
	if !b.Open() || b.Allow() {
		t.Fatal("a failed trial must open the breaker again")
	}
	now = now.Add(6 * time.Second)
	if !b.Allow() {
		t.Fatal("trial expected")
	}
	b.Success()
	if b.Open() || !b.Allow() {
		t.Fatal("a successful trial must close the breaker")
	}
}

func TestCheckEmail(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"jane@example.com", "jane@example.com", true},
		{"  Jane@Example.COM ", "jane@example.com", true},
		{"", "", false},
		{"jane", "", false},
		{"jane@localhost", "", false},
		{"Jane <jane@example.com>", "", false},
		{"a@b.c\r\nBcc: x@y.z", "", false},
	} {
		got, err := identity.CheckEmail(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("CheckEmail(%q) = %q, %v; want %q ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
		if err != nil && floodgate.ErrorCode(err) != floodgate.EInvalid {
			t.Errorf("CheckEmail(%q) error code = %s", tc.in, floodgate.ErrorCode(err))
		}
	}
}

func TestDevProvider(t *testing.T) {
	p, err := identity.NewProvider(context.Background(), identity.Config{}, true)
	if err != nil || p == nil || p.Name() != "dev" {
		t.Fatalf("NewProvider(dev) = %v, %v", p, err)
	}
	u, err := p.AuthCodeURL(context.Background(), identity.Flow{State: "s1"})
	if err != nil || u != identity.DevLoginPath+"?state=s1" {
		t.Fatalf("AuthCodeURL = %q, %v", u, err)
	}
	b, err := p.Exchange(context.Background(), "Buyer@Example.com", identity.Flow{})
	if err != nil || b.Customer != "buyer@example.com" {
		t.Fatalf("Exchange = %+v, %v", b, err)
	}
	if _, err := p.Exchange(context.Background(), "not-an-email", identity.Flow{}); floodgate.ErrorCode(err) != floodgate.EInvalid {
		t.Fatalf("Exchange(bad email) = %v", err)
	}
	if p.Down() {
		t.Fatal("dev provider is never down")
	}
}

func TestNoProviderWithoutIssuerOrDev(t *testing.T) {
	p, err := identity.NewProvider(context.Background(), identity.Config{}, false)
	if err != nil || p != nil {
		t.Fatalf("NewProvider() = %v, %v; want nil, nil", p, err)
	}
	if identity.HealthOf(nil).Down() {
		t.Fatal("no provider is never down")
	}
	_, err = identity.NewProvider(context.Background(), identity.Config{Issuer: "https://idp.example"}, false)
	if floodgate.ErrorCode(err) != floodgate.EInvalid {
		t.Fatalf("issuer without client id: err = %v", err)
	}
}

// TestConfigCheck: OIDC needs its client id and redirect URL, and the dev
// provider (anyone signs in as any email) never runs beside it.
func TestConfigCheck(t *testing.T) {
	oidc := identity.Config{Issuer: "https://idp.example", ClientID: "c", RedirectURL: "https://shop.example/auth/callback"}
	for _, c := range []struct {
		cfg  identity.Config
		dev  bool
		want string // in the error; "" for none
	}{
		{identity.Config{}, false, ""},
		{identity.Config{}, true, ""},
		{oidc, false, ""},
		{oidc, true, "--dev cannot be combined with --oidc-issuer"},
		{identity.Config{Issuer: oidc.Issuer, ClientID: "c"}, false, "needs --oidc-redirect-url"},
		{identity.Config{Issuer: oidc.Issuer}, false, "needs --oidc-client-id and --oidc-redirect-url"},
	} {
		err := c.cfg.Check(c.dev)
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%+v, dev %v: err = %v; want %q", c.cfg, c.dev, err, c.want)
		}
		if err != nil && floodgate.ErrorCode(err) != floodgate.EInvalid {
			t.Errorf("%+v, dev %v: code %q; want invalid", c.cfg, c.dev, floodgate.ErrorCode(err))
		}
	}
}

func TestReplayGuard(t *testing.T) {
	g := identity.NewReplayGuard()
	now := time.Now()
	if !g.Use("a", now.Add(time.Minute), now) {
		t.Fatal("first use must pass")
	}
	if g.Use("a", now.Add(time.Minute), now) {
		t.Fatal("second use of the same state must be refused")
	}
}

// idp is a real OIDC provider that a test can stop and start again.
type idp = testkit.OIDC

func startIDP(t *testing.T) *idp { return testkit.StartOIDC(t) }

func newOIDC(t *testing.T, i *idp) identity.Provider {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	c := i.M.Config()
	p, err := identity.NewProvider(ctx, identity.Config{
		Issuer: c.Issuer, ClientID: c.ClientID, ClientSecret: c.ClientSecret,
		RedirectURL:   "http://127.0.0.1:1/auth/callback",
		ProbeInterval: 50 * time.Millisecond,
	}, false)
	if err != nil {
		t.Fatal(err)
	}
	if p.Name() != "oidc" {
		t.Fatalf("provider = %s, want oidc", p.Name())
	}
	return p
}

// authorize follows the provider's authorization endpoint like a browser and
// returns the code and state of the redirect back.
func authorize(t *testing.T, authURL string) (code, state string) {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.StatusCode != http.StatusFound {
		t.Fatalf("authorize: %s %q %v", resp.Status, resp.Header.Get("Location"), err)
	}
	return loc.Query().Get("code"), loc.Query().Get("state")
}

// signIn starts a sign-in at p and has the provider authorize it; it
// returns the flow and the authorization code.
func signIn(t *testing.T, p identity.Provider) (identity.Flow, string) {
	t.Helper()
	f := identity.NewFlow()
	u, err := p.AuthCodeURL(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	code, _ := authorize(t, u)
	return f, code
}

func TestOIDCLoginWithPKCEStateAndNonce(t *testing.T) {
	i := startIDP(t)
	p := newOIDC(t, i)
	ctx := context.Background()
	f := identity.NewFlow()
	u, err := p.AuthCodeURL(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	q, _ := url.Parse(u)
	if q.Query().Get("code_challenge_method") != "S256" || q.Query().Get("code_challenge") == "" || q.Query().Get("nonce") != f.Nonce {
		t.Fatalf("authorization URL lacks PKCE or nonce: %s", u)
	}
	if q.Query().Get("code_challenge") == f.Verifier {
		t.Fatal("the PKCE verifier must never leave the server")
	}
	code, state := authorize(t, u)
	if state != f.State {
		t.Fatalf("state = %q, want %q", state, f.State)
	}
	b, err := p.Exchange(ctx, code, f)
	if err != nil {
		t.Fatal(err)
	}
	if b.Customer != mockoidc.DefaultUser().Email {
		t.Fatalf("customer = %q, want the verified email %q", b.Customer, mockoidc.DefaultUser().Email)
	}

	// The same code again (a replayed callback) is refused, and the
	// provider is not counted as down for it.
	if _, err := p.Exchange(ctx, code, f); floodgate.ErrorCode(err) != floodgate.EUnauthenticated {
		t.Fatalf("replayed code: err = %v, want unauthenticated", err)
	}
	if p.Down() {
		t.Fatal("a refused code is not an outage")
	}
}

func TestOIDCRejectsWrongVerifierAndWrongNonce(t *testing.T) {
	i := startIDP(t)
	p := newOIDC(t, i)
	ctx := context.Background()

	f, code := signIn(t, p)
	other := f
	other.Verifier = identity.NewFlow().Verifier
	if _, err := p.Exchange(ctx, code, other); floodgate.ErrorCode(err) != floodgate.EUnauthenticated {
		t.Fatalf("wrong PKCE verifier: err = %v", err)
	}

	f, code = signIn(t, p)
	other = f
	other.Nonce = "someone-elses-nonce"
	if _, err := p.Exchange(ctx, code, other); floodgate.ErrorCode(err) != floodgate.EUnauthenticated {
		t.Fatalf("wrong nonce: err = %v", err)
	}
}

func TestOIDCOutageIsDetectedAndRecovers(t *testing.T) {
	i := startIDP(t)
	p := newOIDC(t, i)
	ctx := context.Background()
	if p.Down() {
		t.Fatal("provider reachable: must not be down")
	}
	f, code := signIn(t, p)

	i.Stop()
	testkit.WaitFor(t, "provider reported down", p.Down)
	if _, err := p.AuthCodeURL(ctx, identity.NewFlow()); floodgate.ErrorCode(err) != floodgate.EUnavailable {
		t.Fatalf("AuthCodeURL while down: err = %v, want unavailable", err)
	}
	if _, err := p.Exchange(ctx, code, f); floodgate.ErrorCode(err) != floodgate.EUnavailable {
		t.Fatalf("Exchange while down: err = %v, want unavailable", err)
	}

	i.Start()
	testkit.WaitFor(t, "provider reported up again", func() bool { return !p.Down() })
	// The code issued before the outage still works: nothing was lost.
	if _, err := p.Exchange(ctx, code, f); err != nil {
		t.Fatalf("Exchange after recovery: %v", err)
	}
}

func TestOIDCUnreachableAtStartIsDownNotFatal(t *testing.T) {
	i := startIDP(t)
	i.Stop()
	p := newOIDC(t, i)
	if !p.Down() {
		t.Fatal("a provider never reached must be down")
	}
	i.Start()
	testkit.WaitFor(t, "provider discovered after start", func() bool { return !p.Down() })
	if _, err := p.AuthCodeURL(context.Background(), identity.NewFlow()); err != nil {
		t.Fatal(err)
	}
}
