package identity

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strings"
	"sync/atomic"
	"time"

	"github.com/floodgate/floodgate"
	"github.com/floodgate/floodgate/internal/hmacpool"
)

// Sessions issues and verifies buyer session tokens. A token is
// base64url(JSON claims) "." base64url(HMAC-SHA256(key, claims)); it is
// self-contained, so any node that shares the key can verify it.
//
// The key may be set after construction (SetKey): a node learns it from the
// replicated cluster secret once that is committed; until then Issue and
// Verify answer EUnavailable.
type Sessions struct {
	key atomic.Pointer[hmacpool.Key] // HMACs reused: every order checks a session
	ttl time.Duration
	// provider, when set, is the only provider whose sessions Verify
	// accepts (RequireProvider).
	provider atomic.Pointer[string]
	// revoked, when set, tells whether a session id was revoked (logout).
	revoked atomic.Pointer[func(id string, now time.Time) bool]
}

// SetRevoked sets how Verify learns that a session was ended at logout: the
// node reads the revocations from the replicated state.
func (s *Sessions) SetRevoked(fn func(id string, now time.Time) bool) {
	s.revoked.Store(&fn)
}

// Session is what a verified session token says.
type Session struct {
	Customer string
	// ID identifies the session for revocation ("" for tokens issued
	// before sessions had ids).
	ID      string
	Expires time.Time
}

// RequireProvider makes Verify accept only sessions issued through the
// named provider ("dev" or "oidc"): a session made with the dev provider
// while the cluster ran with --dev is refused once it runs with OIDC.
func (s *Sessions) RequireProvider(name string) {
	s.provider.Store(&name)
}

// DefaultSessionTTL is how long a buyer stays signed in: the lifetime of a
// node's session tokens, and of the cookie the pages keep them in.
const DefaultSessionTTL = 12 * time.Hour

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
	s.key.Store(hmacpool.New(key))
}

// SessionCookie is the HttpOnly cookie that carries a buyer's session in the
// browser. The page never sees the token: the order call reads the cookie.
const SessionCookie = "fg_session"

var errNoKey = floodgate.Errorf(floodgate.EUnavailable, "Sign-in is starting up; retry in a moment.")

type sessionClaims struct {
	ID       string `json:"sid,omitempty"`
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
	var id [16]byte
	if _, err := rand.Read(id[:]); err != nil {
		return "", err
	}
	body, err := json.Marshal(sessionClaims{ID: hex.EncodeToString(id[:]), Customer: customer, Provider: provider, Expires: now.Add(s.ttl).Unix()})
	if err != nil {
		return "", err
	}
	p := base64.RawURLEncoding.EncodeToString(body)
	return p + "." + base64.RawURLEncoding.EncodeToString(hmacpool.Append(s.key.Load(), nil, p)), nil
}

// Verify checks token and returns its customer. Any fault is EUnauthenticated.
func (s *Sessions) Verify(token string, now time.Time) (string, error) {
	c, err := parse(s, token, strings.IndexByte(token, '.'), now)
	return c.Customer, err
}

// VerifyBytes is Verify of a token held in bytes, such as a request's body
// read into a reused buffer: nothing returned refers to token.
func (s *Sessions) VerifyBytes(token []byte, now time.Time) (string, error) {
	c, err := parse(s, token, bytes.IndexByte(token, '.'), now)
	return c.Customer, err
}

// Parse checks token like Verify and returns what it says.
func (s *Sessions) Parse(token string, now time.Time) (Session, error) {
	c, err := parse(s, token, strings.IndexByte(token, '.'), now)
	if err != nil {
		return Session{}, err
	}
	return Session{Customer: c.Customer, ID: c.ID, Expires: time.Unix(c.Expires, 0)}, nil
}

// parse checks token, whose first dot is at dot (-1: none), and returns
// its claims, which are not token's bytes (claimsOf copies them). The
// caller finds the dot with the strings or bytes function for its type: a
// token of type string converted to []byte here would be copied.
func parse[T ~string | ~[]byte](s *Sessions, token T, dot int, now time.Time) (sessionClaims, error) {
	k := s.key.Load()
	if k == nil {
		return sessionClaims{}, errNoKey
	}
	if dot < 0 || len(token) > 4096 {
		return sessionClaims{}, badSession()
	}
	p, sig := token[:dot], token[dot+1:]
	var want, got [sha256.Size]byte
	if base64.RawURLEncoding.DecodedLen(len(sig)) != len(want) {
		return sessionClaims{}, badSession()
	}
	if _, err := base64.RawURLEncoding.Decode(want[:], []byte(sig)); err != nil || !hmac.Equal(want[:], hmacpool.Append(k, got[:0], p)) {
		return sessionClaims{}, badSession()
	}
	c, err := claimsOf(p)
	if err != nil || c.Customer == "" {
		return sessionClaims{}, badSession()
	}
	if want := s.provider.Load(); want != nil && c.Provider != *want {
		return sessionClaims{}, badSession()
	}
	if now.Unix() >= c.Expires {
		return sessionClaims{}, floodgate.Errorf(floodgate.EUnauthenticated, "The buyer session has expired; sign in again.")
	}
	if fn := s.revoked.Load(); fn != nil && c.ID != "" && (*fn)(c.ID, now) {
		return sessionClaims{}, floodgate.Errorf(floodgate.EUnauthenticated, "This buyer session was signed out; sign in again.")
	}
	return c, nil
}

// claimsOf decodes the claims segment of a token on the stack: the claims'
// strings share one copy of it.
func claimsOf[T ~string | ~[]byte](p T) (sessionClaims, error) {
	var buf [384]byte
	if n := base64.RawURLEncoding.DecodedLen(len(p)); n <= len(buf) {
		m, err := base64.RawURLEncoding.Decode(buf[:n], []byte(p))
		if err != nil {
			return sessionClaims{}, err
		}
		return decodeSessionClaims(buf[:m])
	}
	body, err := base64.RawURLEncoding.DecodeString(string(p))
	if err != nil {
		return sessionClaims{}, err
	}
	return decodeSessionClaims(body)
}

func badSession() error {
	return floodgate.Errorf(floodgate.EUnauthenticated, "The buyer session is missing, invalid or expired; sign in again.")
}
