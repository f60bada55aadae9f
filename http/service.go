package http

import (
	"context"
	"net/netip"
	"time"

	"github.com/floodgate/floodgate/identity"
	"github.com/floodgate/floodgate/queue"
)

// Queue is what the API needs from the waiting room (queue.Service).
type Queue interface {
	// Join admits a visitor to a drop's queue and returns their ticket,
	// asking for no work (presale joins, which are accounted for already).
	Join(ctx context.Context, drop string) (ticket string, st queue.Status, err error)
	// JoinChallenged admits a visitor from src to a drop's queue and
	// returns their ticket, or the join challenge to solve first (sol is
	// the visitor's solution, or nil).
	JoinChallenged(ctx context.Context, drop string, src netip.Addr, sol *queue.Solution) (ticket string, st queue.Status, ch *queue.Challenge, err error)
	// Gated runs do behind the drop's join challenge (a draw entry), or
	// returns the challenge to solve first.
	Gated(ctx context.Context, drop string, src netip.Addr, sol *queue.Solution, do func() error) (*queue.Challenge, error)
	// Challenges returns the counters of the join challenge.

	Challenges() *queue.ChallengeStats
	// Keys returns the ticket keys and a verifier, once the cluster secret
	// is committed.
	Keys() (*queue.Keys, *queue.Verifier, error)
	// Status tells a ticket's place in the queue; it fails with
	// unavailable while this node has not applied the ticket's drop.
	Status(c *queue.Claims) (queue.Status, error)
}

// Sessions issues and verifies buyer sessions (identity.Sessions).
type Sessions interface {
	Issue(customer, provider string, now time.Time) (string, error)
	Verify(token string, now time.Time) (customer string, err error)
	// VerifyBytes is Verify of a token in bytes that the caller reuses:
	// the customer is not those bytes.
	VerifyBytes(token []byte, now time.Time) (customer string, err error)
	// Parse is Verify with the session's id and expiry (for logout).
	Parse(token string, now time.Time) (identity.Session, error)
}

var (
	_ Queue    = (*queue.Service)(nil)
	_ Sessions = (*identity.Sessions)(nil)
)
