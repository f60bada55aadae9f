package status

import (
	"slices"
	"sort"
	"time"
)

// The types below follow the Atlassian Statuspage v2 public API field by
// field, so existing status aggregators read Floodgate's page. The only
// addition is the optional "floodgate" object, which carries the Korean names
// and the fact, cause and response of an incident; readers that do not know
// it ignore it.

// Summary is /api/v2/summary.json.
type Summary struct {
	Page                  Page          `json:"page"`
	Components            []SPComponent `json:"components"`
	Incidents             []SPIncident  `json:"incidents"`
	ScheduledMaintenances []SPIncident  `json:"scheduled_maintenances"`
	Status                Indicator     `json:"status"`
}

// StatusDoc is /api/v2/status.json.
type StatusDoc struct {
	Page   Page      `json:"page"`
	Status Indicator `json:"status"`
}

// IncidentsDoc is /api/v2/incidents.json.
type IncidentsDoc struct {
	Page      Page         `json:"page"`
	Incidents []SPIncident `json:"incidents"`
}

// Page describes the status page.
type Page struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	URL       string    `json:"url"`
	TimeZone  string    `json:"time_zone"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Indicator is the overall status: none, minor, major or critical.
type Indicator struct {
	Indicator   string `json:"indicator"`
	Description string `json:"description"`
}

// SPComponent is a component as Statuspage shows it.
type SPComponent struct {
	ID                 string     `json:"id"`
	Name               string     `json:"name"`
	Status             string     `json:"status"`
	CreatedAt          time.Time  `json:"created_at"`
	UpdatedAt          time.Time  `json:"updated_at"`
	Position           int        `json:"position"`
	Description        *string    `json:"description"`
	Showcase           bool       `json:"showcase"`
	StartDate          *string    `json:"start_date"`
	GroupID            *string    `json:"group_id"`
	PageID             string     `json:"page_id"`
	Group              bool       `json:"group"`
	OnlyShowIfDegraded bool       `json:"only_show_if_degraded"`
	Components         []string   `json:"components,omitempty"` // a group's members
	Floodgate          *Extension `json:"floodgate,omitempty"`
}

// SPIncident is an incident (or, with scheduled_for, a maintenance) as
// Statuspage shows it.
type SPIncident struct {
	ID              string        `json:"id"`
	Name            string        `json:"name"`
	Status          string        `json:"status"`
	CreatedAt       time.Time     `json:"created_at"`
	UpdatedAt       time.Time     `json:"updated_at"`
	MonitoringAt    *time.Time    `json:"monitoring_at"`
	ResolvedAt      *time.Time    `json:"resolved_at"`
	Impact          string        `json:"impact"`
	Shortlink       string        `json:"shortlink"`
	StartedAt       time.Time     `json:"started_at"`
	PageID          string        `json:"page_id"`
	IncidentUpdates []SPUpdate    `json:"incident_updates"`
	Components      []SPComponent `json:"components"`
	ScheduledFor    *time.Time    `json:"scheduled_for,omitempty"`
	ScheduledUntil  *time.Time    `json:"scheduled_until,omitempty"`
	Floodgate       *Extension    `json:"floodgate,omitempty"`
}

// SPUpdate is one incident update.
type SPUpdate struct {
	ID                   string                `json:"id"`
	Status               string                `json:"status"`
	Body                 string                `json:"body"`
	IncidentID           string                `json:"incident_id"`
	CreatedAt            time.Time             `json:"created_at"`
	UpdatedAt            time.Time             `json:"updated_at"`
	DisplayAt            time.Time             `json:"display_at"`
	AffectedComponents   []SPAffectedComponent `json:"affected_components"`
	DeliverNotifications bool                  `json:"deliver_notifications"`
	CustomTweet          *string               `json:"custom_tweet"`
	TweetID              *string               `json:"tweet_id"`
}

// SPAffectedComponent is a component change listed on an update.
type SPAffectedComponent struct {
	Code      string `json:"code"`
	Name      string `json:"name"`
	OldStatus string `json:"old_status"`
	NewStatus string `json:"new_status"`
}

// Extension carries what Statuspage has no field for.
type Extension struct {
	NameKO       string     `json:"name_ko,omitempty"`
	Fact         string     `json:"fact,omitempty"`
	Cause        string     `json:"cause,omitempty"`
	Response     string     `json:"response,omitempty"`
	Auto         bool       `json:"auto,omitempty"`
	Postmortem   string     `json:"postmortem,omitempty"`
	PostmortemAt *time.Time `json:"postmortem_at,omitempty"`
	// Unrecorded marks a problem this node sees now whose incident could
	// not be recorded yet (see live.go); it is recorded once it can be.
	Unrecorded bool `json:"unrecorded,omitempty"`
}

var indicatorDescription = map[string]string{
	ImpactNone:     "All Systems Operational",
	ImpactMinor:    "Minor Service Outage",
	ImpactMajor:    "Partial System Outage",
	ImpactCritical: "Major Service Outage",
}

const pageID = "floodgate"

func (s *Service) pageLocked(updated time.Time) Page {
	u := ""
	if s.cfg.PublicURL != "" {
		u = s.cfg.PublicURL + "/status"
	}
	return Page{ID: pageID, Name: s.cfg.PageName, URL: u, TimeZone: "Asia/Seoul", UpdatedAt: updated}
}

// componentStatusesLocked works out every component's status from the
// unresolved incidents, the maintenance windows in progress, and (when
// mirroring) what the core last reported.
func (s *Service) componentStatusesLocked(now time.Time) map[string]string {
	out := map[string]string{}
	worse := func(id, st string) {
		if componentRank[st] > componentRank[out[id]] || out[id] == "" {
			out[id] = st
		}
	}
	for id, c := range s.components {
		st := ComponentOperational
		if c.Status != "" {
			st = c.Status
		}
		worse(id, st)
	}
	for _, m := range s.maintenances {
		if m.statusAt(now) == maintenanceInProgress {
			for _, id := range m.Components {
				worse(id, ComponentUnderMaintenance)
			}
		}
	}
	for _, inc := range s.incidents {
		if isResolved(inc.Status) {
			continue
		}
		for _, id := range inc.Components {
			worse(id, componentStatusFor(inc.Impact))
		}
	}
	s.liveComponentsLocked(worse)
	for id, c := range s.components {
		if c.GroupID != "" {
			if g, ok := s.components[c.GroupID]; ok && g.Group {
				worse(c.GroupID, out[id])
			}
		}
	}
	return out
}

func (s *Service) spComponentLocked(c *Component, st string) SPComponent {
	var desc *string
	if c.Description != "" {
		d := c.Description
		desc = &d
	}
	var ext *Extension
	if c.NameKO != "" {
		ext = &Extension{NameKO: c.NameKO}
	}
	out := SPComponent{ID: c.ID, Name: c.Name, Status: st, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt,
		Position: c.Position, Description: desc, PageID: pageID, Floodgate: ext, Group: c.Group}
	if c.GroupID != "" {
		g := c.GroupID
		out.GroupID = &g
	}
	if c.Group {
		out.Components = s.membersLocked(c.ID)
		if out.Components == nil {
			out.Components = []string{}
		}
	}
	return out
}

func (s *Service) spIncidentLocked(inc *Incident, statuses map[string]string) SPIncident {
	out := SPIncident{ID: inc.ID, Name: inc.Name, Status: inc.Status, CreatedAt: inc.CreatedAt, UpdatedAt: inc.UpdatedAt,
		Impact: inc.Impact, StartedAt: inc.CreatedAt, PageID: pageID, IncidentUpdates: []SPUpdate{}, Components: []SPComponent{}}
	if !inc.MonitoringAt.IsZero() {
		t := inc.MonitoringAt
		out.MonitoringAt = &t
	}
	if !inc.ResolvedAt.IsZero() {
		t := inc.ResolvedAt
		out.ResolvedAt = &t
	}
	if s.cfg.PublicURL != "" {
		out.Shortlink = s.cfg.PublicURL + "/status#" + inc.ID
	}
	for i := len(inc.Updates) - 1; i >= 0; i-- { // newest first, as Statuspage lists them
		u := inc.Updates[i]
		out.IncidentUpdates = append(out.IncidentUpdates, SPUpdate{ID: u.ID, Status: u.Status, Body: u.Body, IncidentID: inc.ID,
			CreatedAt: u.CreatedAt, UpdatedAt: u.CreatedAt, DisplayAt: u.CreatedAt, DeliverNotifications: true})
	}
	for _, id := range inc.Components {
		if c, ok := s.components[id]; ok {
			out.Components = append(out.Components, s.spComponentLocked(c, statuses[id]))
		}
	}
	if inc.Fact != "" || inc.Cause != "" || inc.Response != "" || inc.SignalKey != "" || inc.Postmortem != "" {
		out.Floodgate = &Extension{Fact: inc.Fact, Cause: inc.Cause, Response: inc.Response, Auto: inc.SignalKey != "", Postmortem: inc.Postmortem}
		if !inc.PostmortemAt.IsZero() {
			t := inc.PostmortemAt
			out.Floodgate.PostmortemAt = &t
		}
	}
	return out
}

func (s *Service) spMaintenanceLocked(m *Maintenance, now time.Time, statuses map[string]string) SPIncident {
	from, until := m.ScheduledFor, m.ScheduledUntil
	st := m.statusAt(now)
	out := SPIncident{ID: m.ID, Name: m.Name, Status: st, CreatedAt: m.CreatedAt, UpdatedAt: m.UpdatedAt,
		Impact: ImpactMaintenanceNone, StartedAt: m.ScheduledFor, PageID: pageID, ScheduledFor: &from, ScheduledUntil: &until,
		IncidentUpdates: []SPUpdate{{ID: m.ID + "_u", Status: st, Body: m.Message, IncidentID: m.ID, CreatedAt: m.CreatedAt,
			UpdatedAt: m.UpdatedAt, DisplayAt: m.CreatedAt, DeliverNotifications: true}},
		Components: []SPComponent{}}
	if st == maintenanceCompleted {
		t := m.ScheduledUntil
		if m.Completed {
			t = m.UpdatedAt
		}
		out.ResolvedAt = &t
	}
	for _, id := range m.Components {
		if c, ok := s.components[id]; ok {
			out.Components = append(out.Components, s.spComponentLocked(c, statuses[id]))
		}
	}
	return out
}

// ImpactMaintenanceNone is the impact Statuspage gives maintenance windows.
const ImpactMaintenanceNone = ImpactNone

// summaryLocked builds summary.json.
func (s *Service) summaryLocked(now time.Time) Summary {
	statuses := s.componentStatusesLocked(now)
	sum := Summary{Components: []SPComponent{}, Incidents: []SPIncident{}, ScheduledMaintenances: []SPIncident{}}
	updated := time.Time{}
	for _, c := range s.sortedComponents() {
		sum.Components = append(sum.Components, s.spComponentLocked(c, statuses[c.ID]))
		if c.UpdatedAt.After(updated) {
			updated = c.UpdatedAt
		}
	}
	worst := ImpactNone
	// What this node sees now but could not record comes first.
	for _, inc := range s.liveIncidentsLocked(statuses) {
		sum.Incidents = append(sum.Incidents, inc)
		if inc.Status != StatusMonitoring && impactRank[inc.Impact] > impactRank[worst] {
			worst = inc.Impact
		}
	}
	for _, inc := range s.sortedIncidentsLocked() {
		if inc.UpdatedAt.After(updated) {
			updated = inc.UpdatedAt
		}
		if isResolved(inc.Status) {
			continue
		}
		sum.Incidents = append(sum.Incidents, s.spIncidentLocked(inc, statuses))
		if impactRank[inc.Impact] > impactRank[worst] {
			worst = inc.Impact
		}
	}
	if impactRank[s.mirrorIndicator] > impactRank[worst] {
		worst = s.mirrorIndicator
	}
	ms := make([]*Maintenance, 0, len(s.maintenances))
	for _, m := range s.maintenances {
		if m.statusAt(now) != maintenanceCompleted {
			ms = append(ms, m)
		}
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].ScheduledFor.Before(ms[j].ScheduledFor) })
	for _, m := range ms {
		sum.ScheduledMaintenances = append(sum.ScheduledMaintenances, s.spMaintenanceLocked(m, now, statuses))
	}
	if updated.IsZero() {
		updated = now
	}
	sum.Page = s.pageLocked(updated)
	sum.Status = Indicator{Indicator: worst, Description: indicatorDescription[worst]}
	return sum
}

// incidentsDocLocked builds incidents.json: the latest 50 incidents, newest
// first, resolved ones included.
func (s *Service) incidentsDocLocked(now time.Time) IncidentsDoc {
	statuses := s.componentStatusesLocked(now)
	doc := IncidentsDoc{Incidents: []SPIncident{}}
	updated := time.Time{}
	for _, inc := range s.sortedIncidentsLocked() {
		if len(doc.Incidents) == 50 {
			break
		}
		doc.Incidents = append(doc.Incidents, s.spIncidentLocked(inc, statuses))
		if inc.UpdatedAt.After(updated) {
			updated = inc.UpdatedAt
		}
	}
	if updated.IsZero() {
		updated = now
	}
	doc.Page = s.pageLocked(updated)
	return doc
}

// sortedIncidentsLocked returns incidents newest first.
func (s *Service) sortedIncidentsLocked() []*Incident {
	out := make([]*Incident, 0, len(s.incidents))
	for _, inc := range s.incidents {
		out = append(out, inc)
	}
	slices.SortFunc(out, func(a, b *Incident) int { return newestFirst(a.CreatedAt, a.ID, b.CreatedAt, b.ID) })
	return out
}

// Summary returns summary.json as it is now.
func (s *Service) Summary() Summary {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.summaryLocked(s.now())
}
