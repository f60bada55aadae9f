package identity

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/floodgate/floodgate"
	"github.com/floodgate/floodgate/internal/ticker"
)

// Buyer-facing messages of provider faults. They say what happened to the
// buyer's place, because that is what a buyer worries about.
var (
	errProviderDown = floodgate.Errorf(floodgate.EUnavailable,
		"The sign-in service is not answering right now. Your hold is paused and kept; try again in a moment.")
	errLoginRejected = floodgate.Errorf(floodgate.EUnauthenticated,
		"The sign-in could not be completed (it may have been used already or taken too long). Your hold is kept; sign in again.")
)

// OIDC is the OpenID Connect provider: authorization code flow with PKCE
// (S256), state and nonce, through coreos/go-oidc and x/oauth2. Every call
// to the provider goes through a circuit breaker, and a probe fetches the
// discovery document in the background so that Down tells the truth even
// when no buyer is signing in.
type OIDC struct {
	cfg     Config
	client  *http.Client
	breaker *Breaker
	log     interface {
		Warn(string, ...any)
		Info(string, ...any)
	}

	mu       sync.Mutex
	provider *oidc.Provider // nil until discovery succeeded once
	oauth    oauth2.Config
	verifier *oidc.IDTokenVerifier
	lastOK   time.Time
	down     bool // last known state, to log changes once
}

var _ Provider = (*OIDC)(nil)

func newOIDC(ctx context.Context, cfg Config) (*OIDC, error) {
	if !strings.HasPrefix(cfg.Issuer, "https://") && !strings.HasPrefix(cfg.Issuer, "http://") {
		return nil, floodgate.Errorf(floodgate.EInvalid, "--oidc-issuer %q must be an http(s) URL such as https://accounts.example.com.", cfg.Issuer)
	}
	p := &OIDC{
		cfg:     cfg,
		client:  &http.Client{Timeout: cfg.Timeout},
		breaker: NewBreaker(2, cfg.ProbeInterval),
		log:     cfg.Logger.With("component", "identity", "issuer", cfg.Issuer),
	}
	if err := p.discover(ctx); err != nil {
		p.log.Warn("identity provider not reachable at start; buyers see a banner until it answers", "err", err)
	}
	go p.probeLoop(ctx)
	return p, nil
}

// Name implements Provider.
func (*OIDC) Name() string { return "oidc" }

// Down implements Provider and Health: the breaker is open, or the provider
// was never reached.
func (p *OIDC) Down() bool {
	p.mu.Lock()
	undiscovered := p.provider == nil
	p.mu.Unlock()
	return undiscovered || p.breaker.Open()
}

// AuthCodeURL implements Provider. Right before the browser is sent away the
// provider must have answered recently; otherwise it is asked now, so a
// buyer is never sent to a provider that is down.
func (p *OIDC) AuthCodeURL(ctx context.Context, f Flow) (string, error) {
	p.mu.Lock()
	fresh := p.provider != nil && time.Since(p.lastOK) < p.cfg.ProbeInterval
	p.mu.Unlock()
	if !fresh {
		if err := p.probe(ctx); err != nil {
			return "", errProviderDown
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.provider == nil {
		return "", errProviderDown
	}
	return p.oauth.AuthCodeURL(f.State, oidc.Nonce(f.Nonce), oauth2.S256ChallengeOption(f.Verifier)), nil
}

// Exchange implements Provider: code for tokens (with the PKCE verifier),
// then the ID token's signature, issuer, audience, expiry and nonce.
func (p *OIDC) Exchange(ctx context.Context, code string, f Flow) (Buyer, error) {
	p.mu.Lock()
	cfg, verifier := p.oauth, p.verifier
	p.mu.Unlock()
	if verifier == nil || !p.breaker.Allow() {
		return Buyer{}, errProviderDown
	}
	ctx, cancel := context.WithTimeout(oidc.ClientContext(ctx, p.client), p.cfg.Timeout)
	defer cancel()
	tok, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(f.Verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.Response != nil && re.Response.StatusCode < 500 {
			// The provider answered: it is up, and it refused this code
			// (replayed, expired, wrong verifier).
			p.succeeded()
			return Buyer{}, errLoginRejected
		}
		p.failed(err)
		return Buyer{}, errProviderDown
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		p.succeeded()
		return Buyer{}, floodgate.Errorf(floodgate.EUnauthenticated, "The sign-in service gave no ID token; ask the operator to allow the openid scope for this client.")
	}
	idt, err := verifier.Verify(ctx, raw)
	if err != nil {
		if ctx.Err() != nil || isNetworkError(err) {
			p.failed(err)
			return Buyer{}, errProviderDown
		}
		p.succeeded()
		return Buyer{}, errLoginRejected
	}
	p.succeeded()
	if idt.Nonce != f.Nonce {
		return Buyer{}, errLoginRejected
	}
	var claims struct {
		Email         string   `json:"email"`
		EmailVerified flexBool `json:"email_verified"`
		Name          string   `json:"name"`
	}
	if err := idt.Claims(&claims); err != nil {
		return Buyer{}, errLoginRejected
	}
	b := Buyer{Email: claims.Email, Name: claims.Name, Customer: idt.Issuer + "#" + idt.Subject}
	// A verified email is the identity buyers recognise on their order; an
	// unverified one could be anybody's, so the subject is used instead.
	// A provider that does not say the email is verified has not verified
	// it: a missing email_verified counts as false.
	if claims.Email != "" && claims.EmailVerified {
		b.Customer = NormalizeEmail(claims.Email)
	}
	return b, nil
}

func isNetworkError(err error) bool {
	s := err.Error()
	return strings.Contains(s, "connection refused") || strings.Contains(s, "timeout") ||
		strings.Contains(s, "deadline") || strings.Contains(s, "fetching keys") || strings.Contains(s, "EOF")
}

// discover fetches the discovery document and sets up the OAuth2 and ID
// token configuration.
func (p *OIDC) discover(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(oidc.ClientContext(ctx, p.client), p.cfg.Timeout)
	defer cancel()
	prov, err := oidc.NewProvider(ctx, p.cfg.Issuer)
	if err != nil {
		p.failed(err)
		return err
	}
	p.mu.Lock()
	p.provider = prov
	p.oauth = oauth2.Config{
		ClientID:     p.cfg.ClientID,
		ClientSecret: p.cfg.ClientSecret,
		RedirectURL:  p.cfg.RedirectURL,
		Endpoint:     prov.Endpoint(),
		Scopes:       append([]string{oidc.ScopeOpenID}, p.cfg.Scopes...),
	}
	p.verifier = prov.Verifier(&oidc.Config{ClientID: p.cfg.ClientID})
	p.mu.Unlock()
	p.succeeded()
	return nil
}

// probe asks the provider whether it is up by fetching its discovery
// document (or discovering it the first time).
func (p *OIDC) probe(ctx context.Context) error {
	p.mu.Lock()
	discovered := p.provider != nil
	p.mu.Unlock()
	if !discovered {
		return p.discover(ctx)
	}
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(p.cfg.Issuer, "/")+"/.well-known/openid-configuration", nil)
	if err != nil {
		return err
	}
	resp, err := p.client.Do(req)
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			err = fmt.Errorf("discovery document answered %s", resp.Status)
		}
	}
	if err != nil {
		p.failed(err)
		return err
	}
	p.succeeded()
	return nil
}

func (p *OIDC) probeLoop(ctx context.Context) {
	ticker.Every(ctx, p.cfg.ProbeInterval, func(ctx context.Context) { _ = p.probe(ctx) })
}

func (p *OIDC) succeeded() {
	p.breaker.Success()
	p.mu.Lock()
	p.lastOK = time.Now()
	was := p.down
	p.down = false
	p.mu.Unlock()
	if was {
		p.log.Info("identity provider answers again; paused holds resume")
	}
}

func (p *OIDC) failed(err error) {
	p.breaker.Failure()
	open := p.breaker.Open()
	p.mu.Lock()
	was := p.down
	p.down = open
	p.mu.Unlock()
	if open && !was {
		p.log.Warn("identity provider is down; holds are paused and buyers see a banner", "err", err)
	}
}

// flexBool reads a JSON boolean, or the strings "true" and "false" that some
// providers send for email_verified; anything else is false.
type flexBool bool

func (b *flexBool) UnmarshalJSON(data []byte) error {
	switch strings.Trim(string(data), `"`) {
	case "true":
		*b = true
	default:
		*b = false
	}
	return nil
}
