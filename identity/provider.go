package identity

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/floodgate/floodgate"
	"github.com/floodgate/floodgate/internal/defaults"
)

// Provider signs a buyer in through the browser: the buyer is sent to
// AuthCodeURL and comes back to the callback with a code that Exchange turns
// into a Buyer. The dev provider and OIDC both fit this shape, so the pages
// have one login flow.
type Provider interface {
	// Name is a short name for logs and sessions: "dev" or "oidc".
	Name() string
	// AuthCodeURL returns where to send the browser to sign in. It fails with
	// floodgate.EUnavailable when the provider is known to be down, so the page
	// can keep the buyer (and the hold) instead of sending them to a dead site.
	AuthCodeURL(ctx context.Context, f Flow) (string, error)
	// Exchange turns the code of the callback into the buyer who signed in,
	// checking everything the flow promised (PKCE verifier, nonce).
	Exchange(ctx context.Context, code string, f Flow) (Buyer, error)
	// Down reports whether the provider is failing right now.
	Down() bool
}

// Health is the provider's health as the rest of Floodgate reads it: while
// Down is true, holds are paused and an incident is open.
type Health interface {
	Down() bool
}

// Buyer is who signed in.
type Buyer struct {
	// Customer is the stable identity orders are counted against: the
	// verified email when the provider gives one, otherwise issuer and subject.
	Customer string
	Email    string
	Name     string
}

// Flow is what one login attempt must carry from its start to its callback.
// All of it is random per attempt except Return.
type Flow struct {
	State    string // echoed by the provider; binds the callback to this browser
	Nonce    string // inside the ID token; binds the token to this attempt
	Verifier string // PKCE code verifier; only its S256 challenge leaves the server
}

// NewFlow returns a Flow with fresh random values.
func NewFlow() Flow {
	return Flow{State: randomString(24), Nonce: randomString(24), Verifier: randomString(32)}
}

// Config configures the login provider.
type Config struct {
	Issuer       string
	ClientID     string
	ClientSecret string
	RedirectURL  string
	// Scopes besides "openid"; "email profile" by default.
	Scopes []string
	// MaxPause is the longest a hold is paused while the provider is down.
	MaxPause time.Duration
	// ProbeInterval is how often the issuer's discovery document is fetched
	// to tell whether the provider is up.
	ProbeInterval time.Duration
	// Timeout bounds every call to the provider, so a provider that hangs
	// costs a buyer seconds, not minutes.
	Timeout time.Duration
	Logger  *slog.Logger
}

// Defaults for Config fields left zero.
const (
	DefaultMaxPause      = 15 * time.Minute
	DefaultProbeInterval = 2 * time.Second
	DefaultTimeout       = 3 * time.Second
)

func (c Config) withDefaults() Config {
	defaults.Positive(&c.MaxPause, DefaultMaxPause)
	defaults.Positive(&c.ProbeInterval, DefaultProbeInterval)
	defaults.Positive(&c.Timeout, DefaultTimeout)
	if len(c.Scopes) == 0 {
		c.Scopes = []string{"email", "profile"}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// NewProvider returns the OIDC provider when an issuer is configured, the dev
// provider when dev is on, and nil (no login) otherwise. An OIDC provider
// that cannot be reached at start is not an error: it reports Down and keeps
// probing until it answers, so a provider outage never stops the sale from
// starting. Background probing ends when ctx is done.
func NewProvider(ctx context.Context, cfg Config, dev bool) (Provider, error) {
	if err := cfg.Check(dev); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if cfg.Issuer != "" {
		return newOIDC(ctx, cfg)
	}
	if dev {
		return NewDev(), nil
	}
	return nil, nil
}

// Check refuses what NewProvider refuses, so that a node can say so before
// it opens anything: OIDC without its client id or redirect URL, and the dev
// provider (anyone signs in as any email) beside a real one.
func (c Config) Check(dev bool) error {
	if c.Issuer == "" {
		return nil
	}
	if dev {
		return floodgate.Errorf(floodgate.EInvalid, "--dev cannot be combined with --oidc-issuer: dev sign-in trusts any email; drop --dev in production")
	}
	var missing []string
	if c.ClientID == "" {
		missing = append(missing, "--oidc-client-id")
	}
	if c.RedirectURL == "" {
		missing = append(missing, "--oidc-redirect-url")
	}
	if len(missing) > 0 {
		return floodgate.Errorf(floodgate.EInvalid, "OIDC login needs %s as well as --oidc-issuer.", strings.Join(missing, " and "))
	}
	return nil
}

// HealthOf returns the health of p; no provider is never down.
func HealthOf(p Provider) Health {
	if p == nil {
		return neverDown{}
	}
	return p
}

type neverDown struct{}

func (neverDown) Down() bool { return false }
