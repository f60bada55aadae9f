package status

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// SignalCoreReachable is the signal a standalone status server raises when
// it cannot reach the core it mirrors.
const SignalCoreReachable = "core_reachable"

// Mirror polls a core's Statuspage JSON every interval and copies its
// components, incidents and maintenance into this Service's own store, until
// ctx ends. When the core does not answer, that is a signal itself: after
// AutoOpenAfter an automatic critical incident marks every fixed component as
// down, and it resolves once the core answers again. Incidents posted to this
// server directly are its own and are kept either way.
func (s *Service) Mirror(ctx context.Context, from string, interval time.Duration) {
	if interval <= 0 {
		interval = 5 * time.Second
	}
	client := &http.Client{Timeout: interval + 5*time.Second}
	if interval < 5*time.Second {
		client.Timeout = 5 * time.Second
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	urls := splitURLs(from)
	if len(urls) == 0 {
		return
	}
	pref := 0
	for {
		// Any node of the cluster will do: they all serve the same
		// replicated page. Start with the one that answered last.
		// A node that answers but has no leader (503 on /healthz) still
		// gives its copy of the page, but the core is down unless another
		// node takes writes.
		var err error
		mirrored := false
		for i := range urls {
			u := urls[(pref+i)%len(urls)]
			if merr := s.MirrorOnce(ctx, client, u); merr != nil {
				err = merr
				if ctx.Err() != nil {
					return
				}
				continue
			}
			if !mirrored {
				mirrored, pref = true, (pref+i)%len(urls)
			}
			if herr := checkWrites(ctx, client, u); herr != nil {
				err = herr
				continue
			}
			err = nil
			break
		}
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			s.log.Warn("the core does not answer", "from", from, "err", err)
			var comps []string
			for _, c := range fixedComponents {
				comps = append(comps, c.ID)
			}
			s.Observe(Signal{Key: SignalCoreReachable, Component: joinComma(comps), OK: false, Impact: ImpactCritical,
				Title: "Floodgate is unreachable · 판매 서버에 연결할 수 없음",
				Message: "The status page cannot reach the sale servers; the waiting room, checkout and orders may be down. " +
					"판매 서버에 연결할 수 없어 대기열, 결제, 주문이 중단되었을 수 있습니다."})
		} else {
			s.Observe(Signal{Key: SignalCoreReachable, OK: true})
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// checkWrites asks a node's /healthz whether it can take writes (a leader
// is known). A server without /healthz (404) is taken as healthy.
func checkWrites(ctx context.Context, client *http.Client, base string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(base, "/")+"/healthz", nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusServiceUnavailable {
		return fmt.Errorf("%s answers but cannot take writes (no leader)", base)
	}
	return nil
}

// splitURLs splits a comma-separated list of base URLs.
func splitURLs(from string) []string {
	var out []string
	for _, u := range strings.Split(from, ",") {
		if u = strings.TrimSpace(u); u != "" {
			out = append(out, u)
		}
	}
	return out
}

func joinComma(v []string) string {
	var b bytes.Buffer
	for i, s := range v {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(s)
	}
	return b.String()
}

// MirrorOnce copies the core's current summary and incidents once.
func (s *Service) MirrorOnce(ctx context.Context, client *http.Client, from string) error {
	var sum Summary
	var doc IncidentsDoc
	if _, err := fetchDoc(ctx, client, from, "/api/v2/summary.json", &sum); err != nil {
		return err
	}
	if _, err := fetchDoc(ctx, client, from, "/api/v2/incidents.json", &doc); err != nil {
		return err
	}
	if len(sum.Components) == 0 && sum.Status.Indicator == "" {
		return fmt.Errorf("the answer of %s has no components and no status; is it a Floodgate?", from)
	}
	return s.importMirror(sum, doc)
}

// importMirror writes only what changed, so polling costs no disk writes
// while nothing happens.
func (s *Service) importMirror(sum Summary, doc IncidentsDoc) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if validImpact(sum.Status.Indicator) {
		s.mirrorIndicator = sum.Status.Indicator
	}
	return s.mutateLocked(func(b *batch) error {
		seen := map[string]bool{}
		for _, c := range sum.Components {
			if c.ID == "" {
				continue
			}
			seen[c.ID] = true
			st := c.Status
			if _, ok := componentRank[st]; !ok {
				st = ComponentOperational
			}
			cur, ok := s.components[c.ID]
			next := Component{ID: c.ID, Name: c.Name, Position: c.Position, Source: componentSourceMirror, Status: st,
				CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt, Group: c.Group}
			if c.GroupID != nil {
				next.GroupID = *c.GroupID
			}
			if c.Description != nil {
				next.Description = *c.Description
			}
			if c.Floodgate != nil {
				next.NameKO = c.Floodgate.NameKO
			}
			if ok && cur.Source == componentSourceFixed {
				next.Source, next.NameKO, next.Name, next.Description = componentSourceFixed, cur.NameKO, cur.Name, cur.Description
				next.CreatedAt = cur.CreatedAt
			}
			if ok && sameJSON(cur, &next) {
				continue
			}
			s.components[c.ID] = &next
			b.put(bucketComponents, c.ID, &next)
		}
		for id, c := range s.components {
			if c.Source == componentSourceMirror && !seen[id] && !s.componentInUse(id) {
				delete(s.components, id)
				b.del(bucketComponents, id)
			}
		}
		// Unresolved ones may be missing from a short incidents.json.
		incidents := append(append([]SPIncident(nil), doc.Incidents...), sum.Incidents...)
		for _, sp := range incidents {
			cur, ok := s.incidents[sp.ID]
			if sp.ID == "" || (ok && cur.Source != incidentSourceMirror) {
				continue
			}
			if sp.Floodgate != nil && sp.Floodgate.Unrecorded {
				// Shown live by the core until it can record it: the
				// indicator and component statuses above carry it, and
				// the recorded incident (another id) follows.
				continue
			}
			next := fromSP(sp)
			if ok {
				next.OutageNoticeAt = cur.OutageNoticeAt
				if sameJSON(cur, next) {
					continue
				}
			}
			s.incidents[sp.ID] = next
			b.put(bucketIncidents, sp.ID, next)
		}
		for _, sp := range sum.ScheduledMaintenances {
			if sp.ID == "" || sp.ScheduledFor == nil || sp.ScheduledUntil == nil {
				continue
			}
			cur, ok := s.maintenances[sp.ID]
			if ok && cur.Source != incidentSourceMirror {
				continue
			}
			m := &Maintenance{ID: sp.ID, Name: sp.Name, ScheduledFor: *sp.ScheduledFor, ScheduledUntil: *sp.ScheduledUntil,
				CreatedAt: sp.CreatedAt, UpdatedAt: sp.UpdatedAt, Completed: sp.Status == maintenanceCompleted, Source: incidentSourceMirror}
			for _, c := range sp.Components {
				m.Components = append(m.Components, c.ID)
			}
			if len(sp.IncidentUpdates) > 0 {
				m.Message = sp.IncidentUpdates[0].Body
			}
			if ok && sameJSON(cur, m) {
				continue
			}
			s.maintenances[sp.ID] = m
			b.put(bucketMaintenances, sp.ID, m)
		}
		return nil
	})
}

// fromSP turns a Statuspage incident back into the model.
func fromSP(sp SPIncident) *Incident {
	inc := &Incident{ID: sp.ID, Name: sp.Name, Status: sp.Status, Impact: sp.Impact, CreatedAt: sp.CreatedAt, UpdatedAt: sp.UpdatedAt,
		Source: incidentSourceMirror, Components: []string{}, Updates: []Update{}}
	if !validIncidentStatus(inc.Status) {
		inc.Status = StatusInvestigating
	}
	if !validImpact(inc.Impact) {
		inc.Impact = ImpactMinor
	}
	if sp.MonitoringAt != nil {
		inc.MonitoringAt = *sp.MonitoringAt
	}
	if sp.ResolvedAt != nil {
		inc.ResolvedAt = *sp.ResolvedAt
	}
	for _, c := range sp.Components {
		inc.Components = append(inc.Components, c.ID)
	}
	for i := len(sp.IncidentUpdates) - 1; i >= 0; i-- {
		u := sp.IncidentUpdates[i]
		inc.Updates = append(inc.Updates, Update{ID: u.ID, Status: u.Status, Body: u.Body, CreatedAt: u.CreatedAt})
	}
	if e := sp.Floodgate; e != nil {
		inc.Fact, inc.Cause, inc.Response, inc.Postmortem = e.Fact, e.Cause, e.Response, e.Postmortem
		if e.PostmortemAt != nil {
			inc.PostmortemAt = *e.PostmortemAt
		}
		if e.Auto {
			inc.SignalKey = "core"
		}
	}
	return inc
}

func sameJSON(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}
