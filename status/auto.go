package status

import (
	"fmt"
	"strings"
	"time"
)

// signalState is what the Service remembers of one health signal. It is
// stored only when the signal changes between good and bad, so a core that
// reports every second costs no disk writes.
type signalState struct {
	Key        string    `json:"key"`
	Components []string  `json:"components"`
	Impact     string    `json:"impact"`
	Title      string    `json:"title"`
	Message    string    `json:"message"`
	Bad        bool      `json:"bad"`
	BadSince   time.Time `json:"bad_since,omitzero"`
	GoodSince  time.Time `json:"good_since,omitzero"`
	IncidentID string    `json:"incident_id,omitempty"`
}

// Observe takes a health signal from the core. A bad signal opens an
// automatic incident once it has stayed bad for AutoOpenAfter (at once for
// informational signals with impact none, such as a drop selling out). A good
// signal moves its incident to monitoring, and resolves it once it has
// stayed good for AutoResolveAfter; a relapse meanwhile reopens the same
// incident, so a flapping signal makes one incident, not many. People can
// edit automatic incidents like any other.
func (s *Service) Observe(sig Signal) {
	key := strings.TrimSpace(sig.Key)
	if key == "" {
		s.log.Warn("ignoring a health signal without a key", "title", sig.Title)
		return
	}
	if !s.writer() {
		// The leader watches the signals and writes the incidents; this
		// node only shows, live, what it sees of itself (Signal.Local).
		s.observeNotWriter(key, sig)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	g, ok := s.signals[key]
	if !ok {
		g = &signalState{Key: key, GoodSince: now}
		s.signals[key] = g
	}
	changed := !ok
	since := s.observeLiveLocked(key, sig.OK, sig.Impact, g, now)
	if !sig.OK {
		title, impact, comps := s.signalWordsLocked(key, sig)
		if g.Title != title || g.Impact != impact || g.Message != sig.Message || strings.Join(g.Components, ",") != strings.Join(comps, ",") {
			g.Title, g.Impact, g.Message, g.Components = title, impact, truncate(sig.Message, maxMessage), comps
			changed = true
		}
		if !g.Bad {
			g.Bad, g.BadSince = true, since
			changed = true
		}
		s.noteLiveLocked(g)
	} else if g.Bad {
		g.Bad, g.GoodSince = false, now
		changed = true
	}
	if changed {
		s.saveSignalLocked(g)
	}
	s.evaluateSignalLocked(g, now)
}

// signalWordsLocked returns what an incident of a bad signal is called,
// its impact and its known components.
func (s *Service) signalWordsLocked(key string, sig Signal) (title, impact string, comps []string) {
	for _, c := range strings.Split(sig.Component, ",") {
		if c = strings.TrimSpace(c); c != "" {
			if _, known := s.components[c]; known {
				comps = append(comps, c)
			}
		}
	}
	impact = sig.Impact
	if !validImpact(impact) {
		impact = ImpactMajor
	}
	title = strings.TrimSpace(sig.Title)
	if title == "" {
		title = "Automatic alert: " + key
	}
	return truncate(title, maxName), impact, comps
}

func (s *Service) saveSignalLocked(g *signalState) {
	if err := s.mutateLocked(func(b *batch) error { b.put(bucketSignals, g.Key, g); return nil }); err != nil {
		s.log.Error("could not save a health signal", "signal", g.Key, "err", err)
	}
}

// evaluateSignals moves every signal's incident along with time.
func (s *Service) evaluateSignals() {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for _, g := range s.signals {
		s.evaluateSignalLocked(g, now)
	}
}

func (s *Service) evaluateSignalLocked(g *signalState, now time.Time) {
	var inc *Incident
	if g.IncidentID != "" {
		inc = s.incidents[g.IncidentID]
		if inc == nil || isResolved(inc.Status) {
			// Resolved by a person (or gone): a signal still bad opens a
			// new incident only after a fresh AutoOpenAfter.
			g.IncidentID = ""
			if g.Bad {
				g.BadSince = now
			}
			s.saveSignalLocked(g)
			inc = nil
		}
	}
	if l := s.live[g.Key]; l != nil && inc != nil {
		l.unrecorded = time.Time{} // on the record: the page shows that
	}
	informational := g.Impact == ImpactNone
	switch {
	case !g.Bad && inc == nil && s.live[g.Key].shown():
		s.recordLateLocked(g)
	case g.Bad && inc == nil:
		if !informational && now.Sub(g.BadSince) < s.cfg.AutoOpenAfter {
			return
		}
		status, response := StatusInvestigating, defaultAutoResponseMessage
		if informational {
			status, response = StatusIdentified, ""
		}
		msg := g.Message
		if msg == "" {
			msg = g.Title
		}
		opened, err := s.createIncidentLocked(IncidentInput{Name: g.Title, Status: status, Impact: g.Impact, Message: msg,
			Components: g.Components, Response: response}, g.Key, "auto", g.BadSince)
		if err != nil {
			if l := s.live[g.Key]; l != nil && !informational {
				if l.unrecorded.IsZero() {
					l.unrecorded = now
					s.log.Warn("showing an automatic incident that could not be recorded; it is recorded once writes succeed", "signal", g.Key)
				}
			}
			s.log.Error("could not open an automatic incident", "signal", g.Key, "err", err)
			return
		}
		if l := s.live[g.Key]; l != nil {
			l.unrecorded = time.Time{}
		}
		g.IncidentID = opened.ID
		s.saveSignalLocked(g)
	case g.Bad && inc != nil && inc.Status == StatusMonitoring:
		msg := "The problem is back: " + g.Message
		if g.Message == "" {
			msg = "The problem is back."
		}
		s.autoUpdateLocked(inc.ID, StatusInvestigating, msg)
	case !g.Bad && inc != nil:
		if now.Sub(g.GoodSince) >= s.cfg.AutoResolveAfter || informational {
			msg := fmt.Sprintf("Resolved: the automatic check has been healthy since %s.", fmtTime(g.GoodSince))
			if informational {
				msg = "This notice has ended."
			}
			if s.autoUpdateLocked(inc.ID, StatusResolved, msg) {
				g.IncidentID = ""
				s.saveSignalLocked(g)
			}
		} else if inc.Status != StatusMonitoring {
			s.autoUpdateLocked(inc.ID, StatusMonitoring, "The automatic check is healthy again; we are watching to be sure it stays so.")
		}
	}
}

// recordLateLocked records the incident of a signal that was shown live,
// unrecorded, and is good again now that its incident can be written: the
// problem happened, so it gets its incident (from when it began), which then
// resolves like any other.
func (s *Service) recordLateLocked(g *signalState) {
	l := s.live[g.Key]
	msg := l.text() + " This was shown on the status page while it happened, and recorded once it could be."
	opened, err := s.createIncidentLocked(IncidentInput{Name: l.title, Status: StatusInvestigating, Impact: l.impact, Message: msg,
		Components: l.components, Response: defaultAutoResponseMessage}, g.Key, "auto", l.since)
	if err != nil {
		s.log.Error("could not record an automatic incident shown live", "signal", g.Key, "err", err)
		return
	}
	delete(s.live, g.Key)
	g.IncidentID = opened.ID
	s.saveSignalLocked(g)
}

func (s *Service) autoUpdateLocked(id, status, msg string) bool {
	if _, err := s.changeIncidentLocked(id, UpdateInput{Status: status, Message: msg}, true, "auto"); err != nil {
		s.log.Error("could not update an automatic incident", "incident", id, "err", err)
		return false
	}
	return true
}
