package http

import (
	"context"
	"time"

	"github.com/floodgate/floodgate/identity"
	"github.com/floodgate/floodgate/queue"
)

// Queue is what the API needs from the waiting room (queue.Service).
type Queue interface {
	// Join admits a visitor to a drop's queue and returns their ticket.
	Join(ctx context.Context, drop string) (ticket string, st queue.Status, err error)
	// Keys returns the ticket keys and a verifier, once the cluster secret
	// is committed.
	Keys() (*queue.Keys, *queue.Verifier, error)
	// Status tells a ticket's place in the queue.
	Status(c *queue.Claims) queue.Status
}

// Sessions issues and verifies buyer sessions (identity.Sessions).
type Sessions interface {
	Issue(customer, provider string, now time.Time) (string, error)
	Verify(token string, now time.Time) (customer string, err error)
	// Parse is Verify with the session's id and expiry (for logout).
	Parse(token string, now time.Time) (identity.Session, error)
}

var (
	_ Queue    = (*queue.Service)(nil)
	_ Sessions = (*identity.Sessions)(nil)
)
