package queue

import (
	"context"
	"time"
)

// WaitKeys waits until the cluster secret is committed (a leader is known
// and has written it) and returns the keys derived from it, or ctx's error
// once ctx ends first. A node is ready to answer buyers from then on.
func (s *Service) WaitKeys(ctx context.Context) (*Keys, error) {
	for {
		if keys, _, err := s.Keys(); err == nil {
			return keys, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}
