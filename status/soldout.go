package status

import (
	"strings"

	"github.com/floodgate/floodgate"
)

// soldOutPrefix starts the key of a drop's sold-out signal; the drop's id
// follows.
const soldOutPrefix = "sold_out:"

// soldOut reports whether d's sold-out notice holds: every unit sold,
// whether or not the drop was closed since.
func soldOut(d floodgate.Drop) bool {
	return d.State == floodgate.DropSoldOut || (d.State == floodgate.DropClosed && d.Stock > 0 && d.Sold >= d.Stock)
}

// endSoldOutNotices ends the sold-out notices of drops that are no longer
// sold out (on sale again after a restock) or no longer there (removed): a
// bad signal nobody reports again would keep its notice open, and the
// drop's component with it, for good. Once its notice is resolved, the
// signal's record goes too. stillSoldOut holds the drops' ids whose notice
// holds.
func (s *Service) endSoldOutNotices(stillSoldOut map[string]bool) {
	if !s.writer() {
		return
	}
	var ended []string
	s.mu.Lock()
	for key := range s.signals {
		if id, ok := strings.CutPrefix(key, soldOutPrefix); ok && !stillSoldOut[id] {
			ended = append(ended, key)
		}
	}
	s.mu.Unlock()
	for _, key := range ended {
		s.mu.Lock()
		g := s.signals[key]
		bad := g != nil && g.Bad
		s.mu.Unlock()
		if bad {
			// Good again: an informational notice resolves at once.
			s.Observe(Signal{Key: key, OK: true, Impact: ImpactNone})
		}
		s.forgetSignal(key)
	}
}

// forgetSignal removes the record of a good signal whose incident is
// resolved.
func (s *Service) forgetSignal(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.signals[key]
	if g == nil || g.Bad || g.IncidentID != "" || s.live[key].shown() {
		return
	}
	err := s.mutateLocked(func(b *batch) error { b.del(bucketSignals, key); return nil })
	if err != nil {
		s.log.Warn("could not remove an ended signal's record; will retry", "signal", key, "err", err)
		return
	}
	delete(s.signals, key)
}
