package identity

import (
	"crypto/rand"
	"encoding/base64"
	"sync"
	"time"
)

// ReplayGuard remembers login states already used, so that a callback URL
// replayed (from history, a log, or by an attacker) is refused even when its
// cookie was kept. Entries are forgotten after their flow expired, when a
// replay would be refused for its age anyway. One node remembers its own
// callbacks; the provider refuses a second use of a code as well.
type ReplayGuard struct {
	mu   sync.Mutex
	used map[string]time.Time
}

// NewReplayGuard returns an empty guard.
func NewReplayGuard() *ReplayGuard {
	return &ReplayGuard{used: make(map[string]time.Time)}
}

// Use marks state as used until expires and reports whether it was unused.
func (g *ReplayGuard) Use(state string, expires, now time.Time) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.used) > 1024 {
		for s, exp := range g.used {
			if now.After(exp) {
				delete(g.used, s)
			}
		}
	}
	if _, seen := g.used[state]; seen {
		return false
	}
	g.used[state] = expires
	return true
}

func randomString(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("identity: no randomness: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}
