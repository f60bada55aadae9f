package identity

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
	"sync/atomic"
	"time"

	"github.com/floodgate/floodgate"
)

// Sessions issues and verifies buyer session tokens. A token is
// base64url(JSON claims) "." base64url(HMAC-SHA256(key, claims)); it is
// self-contained, so any node that shares the key can verify it.
//
// The key may be set after construction (SetKey): a node learns it from the
// replicated cluster secret once that is committed; until then Issue and
// Verify answer EUnavailable.
type Sessions struct {
	key atomic.Pointer[[]byte]
	ttl time.Duration
	// provider, when set, is the only provider whose sessions Verify
	// accepts (RequireProvider).
	provider atomic.Pointer[string]
}

// RequireProvider makes Verify accept only sessions issued through the
// named provider ("dev" or "oidc"): a session made with the dev provider
// while the cluster ran with --dev is refused once it runs with OIDC.
func (s *Sessions) RequireProvider(name string) {
	s.provider.Store(&name)
}

// NewSessions returns Sessions signing with key (nil: set it later with
// SetKey); tokens live for ttl.
func NewSessions(key []byte, ttl time.Duration) *Sessions {
	s := &Sessions{ttl: ttl}
	if len(key) > 0 {
		s.SetKey(key)
	}
	return s
}

// SetKey sets the signing key.
func (s *Sessions) SetKey(key []byte) {
	k := append([]byte(nil), key...)
	s.key.Store(&k)
}

// SessionCookie is the HttpOnly cookie that carries a buyer's session in the
// browser. The page never sees the token: the order call reads the cookie.
const SessionCookie = "fg_session"

var errNoKey = floodgate.Errorf(floodgate.EUnavailable, "Sign-in is starting up; retry in a moment.")

type sessionClaims struct {
	Customer string `json:"sub"`
	Provider string `json:"prv,omitempty"`
	Expires  int64  `json:"exp"`
}

// Issue returns a session token for customer, signed in by provider.
func (s *Sessions) Issue(customer, provider string, now time.Time) (string, error) {
	if customer == "" {
		return "", floodgate.Errorf(floodgate.EInvalid, "A session needs a customer.")
	}
	if s.key.Load() == nil {
		return "", errNoKey
	}
	body, err := json.Marshal(sessionClaims{Customer: customer, Provider: provider, Expires: now.Add(s.ttl).Unix()})
	if err != nil {
		return "", err
	}
	p := base64.RawURLEncoding.EncodeToString(body)
	return p + "." + base64.RawURLEncoding.EncodeToString(s.mac(p)), nil
}

// Verify checks token and returns its customer. Any fault is EUnauthenticated.
func (s *Sessions) Verify(token string, now time.Time) (string, error) {
	if s.key.Load() == nil {
		return "", errNoKey
	}
	bad := floodgate.Errorf(floodgate.EUnauthenticated, "The buyer session is missing, invalid or expired; sign in again.")
	p, sig, ok := strings.Cut(token, ".")
	if !ok || len(token) > 4096 {
		return "", bad
	}
	want, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(want, s.mac(p)) {
		return "", bad
	}
	body, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil {
		return "", bad
	}
	var c sessionClaims
	if err := json.Unmarshal(body, &c); err != nil || c.Customer == "" {
		return "", bad
	}
	if want := s.provider.Load(); want != nil && c.Provider != *want {
		return "", bad
	}
	if now.Unix() >= c.Expires {
		return "", floodgate.Errorf(floodgate.EUnauthenticated, "The buyer session has expired; sign in again.")
	}
	return c.Customer, nil
}

func (s *Sessions) mac(payload string) []byte {
	m := hmac.New(sha256.New, *s.key.Load())
	m.Write([]byte(payload))
	return m.Sum(nil)
}
