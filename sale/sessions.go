package sale

import (
	"github.com/floodgate/floodgate"
)

// Security in the state machine (kinds 70-79): revoked buyer sessions, and
// idempotency keys scoped per customer.

// KindRevokeSession ends a buyer's session at logout on every node.
const KindRevokeSession Kind = 70

// MaxSessionID bounds a session id in the log.
const MaxSessionID = 64

// revokeSession records a session as revoked until it would have expired
// anyway (Until, unix ms); after that the entry is useless and is pruned.
func (s *State) revokeSession(c *Command) Result {
	if c.SessionID == "" || len(c.SessionID) > MaxSessionID || c.Until <= 0 {
		return refuse(floodgate.EInvalid, "A session revocation needs a session id (1 to %d bytes) and its expiry.", MaxSessionID)
	}
	if s.RevokedSessions == nil {
		s.RevokedSessions = map[string]int64{}
	}
	if c.Until > c.Now {
		s.RevokedSessions[c.SessionID] = c.Until
	}
	// Prune expired entries each time the table doubles (from 1024 on):
	// amortized constant work per logout, and the same on every replica.
	if n := len(s.RevokedSessions); n >= 1024 && n&(n-1) == 0 {
		for id, until := range s.RevokedSessions {
			if until <= c.Now {
				delete(s.RevokedSessions, id)
			}
		}
	}
	return Result{}
}

// SessionRevoked reports whether the session id was revoked (and would not
// have expired by now, unix ms).
func (s *State) SessionRevoked(id string, now int64) bool {
	until, ok := s.RevokedSessions[id]
	return ok && until > now
}
