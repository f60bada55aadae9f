package identity

import (
	"sync"
	"time"
)

// Breaker is a circuit breaker in front of the identity provider. After
// Threshold failures in a row it opens: calls fail at once instead of each
// waiting for a timeout, so a dead provider does not slow every request.
// After Cooldown one trial call is let through (half-open); its success
// closes the breaker, its failure opens it again.
type Breaker struct {
	Threshold int
	Cooldown  time.Duration
	Now       func() time.Time

	mu       sync.Mutex
	failures int
	openedAt time.Time
	open     bool
	trial    bool // a half-open trial is in flight
}

// NewBreaker returns a closed breaker.
func NewBreaker(threshold int, cooldown time.Duration) *Breaker {
	return &Breaker{Threshold: threshold, Cooldown: cooldown, Now: time.Now}
}

// Allow reports whether a call may go to the provider now. Every allowed call
// must be followed by Success or Failure.
func (b *Breaker) Allow() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.open {
		return true
	}
	if b.trial || b.Now().Sub(b.openedAt) < b.Cooldown {
		return false
	}
	b.trial = true
	return true
}

// Success records a call that worked: the breaker closes.
func (b *Breaker) Success() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.failures = 0
	b.open = false
	b.trial = false
}

// Failure records a call that failed or timed out.
func (b *Breaker) Failure() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.failures++
	b.trial = false
	if b.open || b.failures >= b.Threshold {
		b.open = true
		b.openedAt = b.Now()
	}
}

// Open reports whether the breaker is open (the provider is down).
func (b *Breaker) Open() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.open
}
