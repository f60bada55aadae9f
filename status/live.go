package status

import (
	"slices"
	"strings"
	"time"
)

// liveSignal is what this node saw itself of a bad health signal, kept in
// memory only. It outlives a failed write (with a Replica, a failed
// proposal reads every record back from the log, signals included), so the
// open delay counts from when the problem began, and the page can show a
// problem whose incident could not be recorded: when the status records
// cannot be written (the node's data disk is full), the problem the signal
// reports is often the very reason.
//
// The node that records incidents (the leader, or a node alone) shows a
// signal live once opening its incident failed, and records it once a write
// succeeds, even if the signal is good by then. Any other node shows live
// only its Local signals, facts about itself that no other node records (a
// full disk takes its leadership away too), and only while no unresolved
// incident of the same signal is on the record. So every node shows the one
// record the cluster shares, plus what it sees of itself right now.
type liveSignal struct {
	since      time.Time // bad since, as this node saw it
	unrecorded time.Time // zero, or when opening its incident first failed
	goodSince  time.Time // zero while bad
	title      string
	message    string
	impact     string
	components []string
}

// text is what the page says of the problem: its message, or its title.
func (l *liveSignal) text() string {
	if l.message == "" {
		return l.title
	}
	return l.message
}

// shown reports whether the page shows the signal as a live, unrecorded
// incident.
func (l *liveSignal) shown() bool { return l != nil && !l.unrecorded.IsZero() }

// observeLiveLocked keeps this node's own memory of a signal. It returns
// when the signal has been bad since, as far as this node knows (zero when
// it is good).
func (s *Service) observeLiveLocked(key string, ok bool, impact string, g *signalState, now time.Time) time.Time {
	l := s.live[key]
	if !ok && impact == ImpactNone {
		// A notice (a drop sold out) opens at once and is never shown
		// live: nothing to remember.
		delete(s.live, key)
		return now
	}
	if ok {
		switch {
		case l == nil:
		case !l.shown():
			delete(s.live, key)
		case l.goodSince.IsZero():
			l.goodSince = now
		}
		return time.Time{}
	}
	if l == nil {
		l = &liveSignal{since: now}
		if g.Bad && !g.BadSince.IsZero() && g.BadSince.Before(now) {
			l.since = g.BadSince
		}
		s.live[key] = l
	}
	l.goodSince = time.Time{}
	return l.since
}

// observeNotWriter keeps a Local signal on a node that does not record
// incidents: shown once it has been bad for AutoOpenAfter, and recorded if
// the node records incidents again before it has been good for
// AutoResolveAfter (a node alone whose disk was full is not the leader until
// its log takes writes again).
func (s *Service) observeNotWriter(key string, sig Signal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.live[key]
	if !sig.Local {
		delete(s.live, key)
		return
	}
	now := s.now()
	if sig.OK {
		if l == nil {
			return
		}
		if l.goodSince.IsZero() {
			l.goodSince = now
		}
		if !l.shown() || now.Sub(l.goodSince) >= s.cfg.AutoResolveAfter {
			delete(s.live, key)
		}
		return
	}
	if l == nil {
		l = &liveSignal{since: now}
		s.live[key] = l
	}
	l.goodSince = time.Time{}
	l.title, l.impact, l.components = s.signalWordsLocked(key, sig)
	l.message = truncate(sig.Message, maxMessage)
	if l.unrecorded.IsZero() && l.impact != ImpactNone && now.Sub(l.since) >= s.cfg.AutoOpenAfter {
		l.unrecorded = now
	}
}

// visibleLocked reports whether the page shows l now: shown, still bad (a
// problem over is shown, as monitoring, only by the node that will record
// it), and not on the record already.
func (s *Service) visibleLocked(key string, l *liveSignal) bool {
	if !l.shown() || l.title == "" || !l.goodSince.IsZero() && !s.writer() {
		return false
	}
	for _, inc := range s.incidents {
		if inc.SignalKey == key && !isResolved(inc.Status) {
			return false
		}
	}
	return true
}

// noteLiveLocked copies what the page would show of a bad signal.
func (s *Service) noteLiveLocked(g *signalState) {
	if l := s.live[g.Key]; l != nil && g.Bad {
		l.title, l.message, l.impact = g.Title, g.Message, g.Impact
		l.components = append(l.components[:0], g.Components...)
	}
}

// liveID is the id the page gives a live, unrecorded incident; it is never
// the id of a recorded one ("inc_...").
func liveID(key string) string {
	return "live_" + strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-' {
			return r
		}
		return '-'
	}, strings.ToLower(key))
}

// liveIncidentsLocked returns the live, unrecorded incidents as the page
// shows them, newest first. Their text is only the signal's own title and
// message, never the error that kept them from being recorded.
func (s *Service) liveIncidentsLocked(statuses map[string]string) []SPIncident {
	var out []SPIncident
	for key, l := range s.live {
		if !s.visibleLocked(key, l) {
			continue
		}
		status, updated := StatusInvestigating, l.unrecorded
		body := l.text()
		if !l.goodSince.IsZero() {
			status, updated = StatusMonitoring, l.goodSince
			body = "The automatic check is healthy again; we are watching to be sure it stays so."
		}
		id := liveID(key)
		inc := SPIncident{ID: id, Name: l.title, Status: status, CreatedAt: l.since, UpdatedAt: updated, Impact: l.impact,
			StartedAt: l.since, PageID: pageID, Components: []SPComponent{},
			IncidentUpdates: []SPUpdate{{ID: id + "_u", Status: status, Body: body, IncidentID: id,
				CreatedAt: updated, UpdatedAt: updated, DisplayAt: updated}},
			Floodgate: &Extension{Fact: l.message, Auto: true, Unrecorded: true}}
		if status == StatusMonitoring {
			t := l.goodSince
			inc.MonitoringAt = &t
		}
		for _, id := range l.components {
			if c, ok := s.components[id]; ok {
				inc.Components = append(inc.Components, s.spComponentLocked(c, statuses[id]))
			}
		}
		out = append(out, inc)
	}
	sortNewestFirst(out)
	return out
}

func sortNewestFirst(incs []SPIncident) {
	slices.SortFunc(incs, func(a, b SPIncident) int { return newestFirst(a.CreatedAt, a.ID, b.CreatedAt, b.ID) })
}

// newestFirst orders incidents newest first, by id when they began at the
// same time, for every list of incidents the page shows.
func newestFirst(aAt time.Time, aID string, bAt time.Time, bID string) int {
	if c := bAt.Compare(aAt); c != 0 {
		return c
	}
	return strings.Compare(bID, aID)
}

// liveComponentsLocked marks the components of live, unrecorded problems
// that are still bad.
func (s *Service) liveComponentsLocked(worse func(id, st string)) {
	for key, l := range s.live {
		if !s.visibleLocked(key, l) || !l.goodSince.IsZero() {
			continue
		}
		for _, id := range l.components {
			worse(id, componentStatusFor(l.impact))
		}
	}
}
