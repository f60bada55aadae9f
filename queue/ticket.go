package queue

import (
	"crypto/ed25519"
	"errors"
	"hash/maphash"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/floodgate/floodgate"
)

// TicketTTL is how long a ticket stays valid after it was issued.
const TicketTTL = 7 * 24 * time.Hour

// Claims are what a ticket says.
type Claims struct {
	Drop    string `json:"drop"`
	Visitor string `json:"vid"`
	Early   bool   `json:"early,omitempty"`
	Seq     int64  `json:"seq"`
	// Position is the 1-based position when it was known at issue time (0
	// for early arrivals, who are placed at the start).
	Position int64 `json:"pos,omitempty"`
	jwt.RegisteredClaims
}

// SignTicket signs claims with the ticket key.
func SignTicket(k *Keys, c *Claims) (string, error) {
	t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, c)
	t.Header["kid"] = k.KeyID
	return t.SignedString(k.TicketKey)
}

var errBadTicket = floodgate.Errorf(floodgate.EUnauthenticated, "The ticket is missing, invalid or expired; join the queue again.")

// Verifier checks tickets and remembers the ones it has verified, because a
// waiting visitor asks for its position many times and an Ed25519
// verification costs far more than a map lookup.
type Verifier struct {
	pub    ed25519.PublicKey
	parser *jwt.Parser
	seed   maphash.Seed
	shards [64]verifierShard
}

type verifierShard struct {
	mu sync.RWMutex
	m  map[string]*Claims
}

// maxCachedPerShard bounds the memory of the cache: 64 shards of 4096
// tickets, a few tens of MiB at most.
const maxCachedPerShard = 4096

// NewVerifier returns a Verifier for tickets signed by pub.
func NewVerifier(pub ed25519.PublicKey) *Verifier {
	v := &Verifier{
		pub:    pub,
		parser: jwt.NewParser(jwt.WithValidMethods([]string{"EdDSA"}), jwt.WithExpirationRequired(), jwt.WithIssuedAt()),
		seed:   maphash.MakeSeed(),
	}
	for i := range v.shards {
		v.shards[i].m = make(map[string]*Claims)
	}
	return v
}

// Verify checks token and returns its claims; drop, when not empty, must be
// the ticket's drop. The returned claims must not be modified.
func (v *Verifier) Verify(token, drop string, now time.Time) (*Claims, error) {
	if token == "" || len(token) > 2048 {
		return nil, errBadTicket
	}
	sh := &v.shards[maphash.String(v.seed, token)%uint64(len(v.shards))]
	sh.mu.RLock()
	c, ok := sh.m[token]
	sh.mu.RUnlock()
	if !ok {
		var err error
		c, err = v.parse(token)
		if err != nil {
			return nil, err
		}
		sh.mu.Lock()
		if len(sh.m) >= maxCachedPerShard {
			clear(sh.m)
		}
		sh.m[token] = c
		sh.mu.Unlock()
	}
	if c.ExpiresAt != nil && !now.Before(c.ExpiresAt.Time) {
		return nil, errBadTicket
	}
	if drop != "" && c.Drop != drop {
		return nil, floodgate.Errorf(floodgate.EForbidden, "This ticket is for another drop (%s); join this drop's queue.", c.Drop)
	}
	return c, nil
}

func (v *Verifier) parse(token string) (*Claims, error) {
	c := &Claims{}
	_, err := v.parser.ParseWithClaims(token, c, func(t *jwt.Token) (any, error) { return v.pub, nil })
	if err != nil {
		if errors.Is(err, jwt.ErrTokenExpired) {
			return nil, floodgate.Errorf(floodgate.EUnauthenticated, "The ticket has expired; join the queue again.")
		}
		return nil, errBadTicket
	}
	if c.Drop == "" || c.Visitor == "" || c.Seq < 0 {
		return nil, errBadTicket
	}
	return c, nil
}
