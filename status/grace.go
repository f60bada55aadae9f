package status

import (
	"slices"
	"sync/atomic"
)

// graceComponents are the components whose outage stops buyers from
// finishing a purchase: while an acknowledged incident of impact major or
// critical touches one of them, holds are paused as during a login outage.
var graceComponents = []string{"checkout", "login"}

// HoldsPaused reports whether an unresolved incident of impact major or
// critical touches checkout or login. The leader passes it with the
// identity provider's health into every Tick (Paused), so no buyer loses a
// held unit to an outage the shop has acknowledged; holds resume when the
// incident is resolved (or its impact lowered), and a hold is never paused
// for longer than --hold-max-pause in all.
func (s *Service) HoldsPaused() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, inc := range s.incidents {
		if isResolved(inc.Status) || impactRank[inc.Impact] < impactRank[ImpactMajor] {
			continue
		}
		for _, c := range graceComponents {
			if slices.Contains(inc.Components, c) {
				return true
			}
		}
	}
	return false
}

// HoldGrace is the health the leader's ticks pause holds by: down while the
// identity provider is down, and while HoldsPaused of the status page it is
// given (SetStatus) says so.
type HoldGrace struct {
	IDP    interface{ Down() bool }
	status atomic.Pointer[Service]
}

// SetStatus gives the grace the status page, once it is open.
func (g *HoldGrace) SetStatus(s *Service) { g.status.Store(s) }

// Down reports whether holds are paused now.
func (g *HoldGrace) Down() bool {
	if g.IDP != nil && g.IDP.Down() {
		return true
	}
	s := g.status.Load()
	return s != nil && s.HoldsPaused()
}
