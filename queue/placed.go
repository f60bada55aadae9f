package queue

import (
	"context"
	"time"

	"github.com/floodgate/floodgate"
)

// placed waits for the place of a visitor who joined after starts_at but
// before the tick that opens the drop was applied. Such a visitor is not
// early: its place is behind every early arrival, and their number is fixed
// by the opening, at most a tick away. Until then its status has position 0
// (and starts_at), which a page would take for an early arrival's place "to
// be drawn", or for its turn; the join answer waits for the opening instead,
// a tick at most, bounded by openingWait (a leader whose ticks fail), after
// which the status as it is goes back: position 0, placed at the opening.
func (s *Service) placed(ctx context.Context, c *Claims, st Status) (Status, error) {
	poll := min(max(s.cfg.TickInterval/10, time.Millisecond), 20*time.Millisecond)
	t := time.NewTicker(poll)
	defer t.Stop()
	deadline := time.NewTimer(s.openingWait())
	defer deadline.Stop()
	for st.StartsAt != nil && st.State == floodgate.QueueWaiting {
		select {
		case <-ctx.Done():
			return st, nil
		case <-deadline.C:
			return st, nil
		case <-t.C:
		}
		next, err := s.Status(c)
		if err != nil {
			return Status{}, err
		}
		st = next
	}
	return st, nil
}

// openingWait bounds how long a join waits for the opening tick.
func (s *Service) openingWait() time.Duration { return s.cfg.TickInterval + 2*time.Second }
