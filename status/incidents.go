package status

import (
	"sort"
	"time"

	"github.com/floodgate/floodgate"
)

// IncidentInput is the body of POST /api/v1/incidents. Message is the first
// update and the fact; Cause and Response may be given now or later.
type IncidentInput struct {
	Name       string   `json:"name"`
	Status     string   `json:"status"`
	Impact     string   `json:"impact"`
	Message    string   `json:"message"`
	Components []string `json:"components"`
	Cause      string   `json:"cause,omitempty"`
	Response   string   `json:"response,omitempty"`
}

// UpdateInput is the body of POST /api/v1/incidents/{id}/updates (Message
// required) and PATCH /api/v1/incidents/{id} (every field optional). Empty
// fields leave the incident as it is.
type UpdateInput struct {
	Status     string   `json:"status,omitempty"`
	Message    string   `json:"message,omitempty"`
	Name       string   `json:"name,omitempty"`
	Impact     string   `json:"impact,omitempty"`
	Components []string `json:"components,omitempty"`
	Fact       string   `json:"fact,omitempty"`
	Cause      string   `json:"cause,omitempty"`
	Response   string   `json:"response,omitempty"`
}

const (
	maxName    = 200
	maxMessage = 5000
)

// event kinds, as they appear in webhook payloads and Floodgate-Event-Type.
const (
	EventIncidentCreated   = "incident.created"
	EventIncidentUpdated   = "incident.updated"
	EventIncidentResolved  = "incident.resolved"
	EventMaintenance       = "maintenance.scheduled"
	EventOutageNotice      = "outage.notice"
	EventSubscriptionCheck = "subscription.test"
)

// CreateIncident opens an incident and queues its notices.
func (s *Service) CreateIncident(in IncidentInput) (*Incident, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.createIncidentLocked(in, "", "admin", time.Time{})
}

// createIncidentLocked opens an incident; a non-zero started earlier than
// now is when it began (an automatic incident that could not be recorded at
// once).
func (s *Service) createIncidentLocked(in IncidentInput, signalKey, by string, started time.Time) (*Incident, error) {
	var t texts
	name := t.check("name", in.Name, true, maxName)
	msg := t.check("message", in.Message, true, maxMessage)
	cause := t.check("cause", in.Cause, false, maxMessage)
	response := t.check("response", in.Response, false, maxMessage)
	if t.err != nil {
		return nil, t.err
	}
	if in.Status == "" {
		in.Status = StatusInvestigating
	}
	if !validIncidentStatus(in.Status) {
		return nil, floodgate.Errorf(floodgate.EInvalid, "Unknown status %q; use investigating, identified, monitoring or resolved.", in.Status)
	}
	if in.Impact == "" {
		return nil, floodgate.Errorf(floodgate.EInvalid, "The field \"impact\" is required: none, minor, major or critical.")
	}
	if !validImpact(in.Impact) {
		return nil, floodgate.Errorf(floodgate.EInvalid, "Unknown impact %q; use none, minor, major or critical.", in.Impact)
	}
	comps, err := s.checkComponents(in.Components)
	if err != nil {
		return nil, err
	}
	now := s.now()
	created := now
	if !started.IsZero() && started.Before(now) {
		created = started
	}
	inc := &Incident{ID: newID("inc"), Name: name, Status: in.Status, Impact: in.Impact, Components: comps,
		Fact: msg, Cause: cause, Response: response, CreatedAt: created, UpdatedAt: now, SignalKey: signalKey,
		Updates: []Update{{ID: newID("upd"), Status: in.Status, Body: msg, CreatedAt: now, Auto: signalKey != ""}}}
	if in.Status == StatusMonitoring {
		inc.MonitoringAt = now
	}
	if isResolved(in.Status) {
		inc.ResolvedAt = now
	}
	err = s.mutateLocked(func(b *batch) error {
		s.incidents[inc.ID] = inc
		b.put(bucketIncidents, inc.ID, inc)
		s.queueIncidentEventLocked(b, EventIncidentCreated, inc)
		return nil
	})
	if err != nil {
		delete(s.incidents, inc.ID)
		return nil, err
	}
	s.log.Info("incident opened", "incident", inc.ID, "name", inc.Name, "impact", inc.Impact, "by", by)
	return inc, nil
}

// AddUpdate posts an update on an incident (Message required) and queues its
// notices.
func (s *Service) AddUpdate(id string, in UpdateInput) (*Incident, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changeIncidentLocked(id, in, true, "admin")
}

// EditIncident changes an incident's fields without a public update (a fix
// of the name, the impact, the components, the cause or the response).
func (s *Service) EditIncident(id string, in UpdateInput) (*Incident, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changeIncidentLocked(id, in, false, "admin")
}

func (s *Service) changeIncidentLocked(id string, in UpdateInput, isUpdate bool, by string) (*Incident, error) {
	cur, ok := s.incidents[id]
	if !ok {
		return nil, floodgate.Errorf(floodgate.ENotFound, "No incident %q; list them with GET /api/v1/incidents.", id)
	}
	if cur.Source == incidentSourceMirror && by == "admin" {
		return nil, floodgate.Errorf(floodgate.EConflict, "Incident %q is copied from the core; update it on the core, or open a new incident here.", id)
	}
	inc := *cur
	inc.Components = append([]string(nil), cur.Components...)
	inc.Updates = append([]Update(nil), cur.Updates...)
	var t texts
	msg := t.check("message", in.Message, isUpdate, maxMessage)
	t.replace(&inc.Name, "name", in.Name, true, maxName)
	t.replace(&inc.Fact, "fact", in.Fact, false, maxMessage)
	t.replace(&inc.Cause, "cause", in.Cause, false, maxMessage)
	t.replace(&inc.Response, "response", in.Response, false, maxMessage)
	if t.err != nil {
		return nil, t.err
	}
	var err error
	if in.Impact != "" {
		if !validImpact(in.Impact) {
			return nil, floodgate.Errorf(floodgate.EInvalid, "Unknown impact %q; use none, minor, major or critical.", in.Impact)
		}
		inc.Impact = in.Impact
	}
	if in.Components != nil {
		if inc.Components, err = s.checkComponents(in.Components); err != nil {
			return nil, err
		}
	}
	if in.Status != "" && !validIncidentStatus(in.Status) {
		return nil, floodgate.Errorf(floodgate.EInvalid, "Unknown status %q; use investigating, identified, monitoring or resolved.", in.Status)
	}
	if in.Status == "" {
		in.Status = inc.Status
	}
	now := s.now()
	wasResolved := isResolved(inc.Status)
	inc.Status = in.Status
	if inc.Status == StatusMonitoring && inc.MonitoringAt.IsZero() {
		inc.MonitoringAt = now
	}
	switch {
	case isResolved(inc.Status) && !wasResolved:
		inc.ResolvedAt = now
	case !isResolved(inc.Status):
		inc.ResolvedAt = time.Time{}
	}
	if isUpdate {
		inc.Updates = append(inc.Updates, Update{ID: newID("upd"), Status: inc.Status, Body: msg, CreatedAt: now, Auto: by == "auto"})
	}
	inc.UpdatedAt = now
	if by == "admin" && inc.SignalKey != "" {
		inc.EditedBy = "admin"
	}
	kind := EventIncidentUpdated
	if isResolved(inc.Status) && !wasResolved {
		kind = EventIncidentResolved
	}
	err = s.mutateLocked(func(b *batch) error {
		s.incidents[id] = &inc
		b.put(bucketIncidents, id, &inc)
		if isUpdate && inc.Source != incidentSourceMirror {
			s.queueIncidentEventLocked(b, kind, &inc)
		}
		return nil
	})
	if err != nil {
		s.incidents[id] = cur
		return nil, err
	}
	return &inc, nil
}

// Incident returns one incident.
func (s *Service) Incident(id string) (*Incident, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	inc, ok := s.incidents[id]
	if !ok {
		return nil, floodgate.Errorf(floodgate.ENotFound, "No incident %q; list them with GET /api/v1/incidents.", id)
	}
	cp := *inc
	return &cp, nil
}

// Incidents returns every incident, newest first.
func (s *Service) Incidents() []Incident {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Incident
	for _, inc := range s.sortedIncidentsLocked() {
		out = append(out, *inc)
	}
	return out
}

// IncidentSummaries returns every incident, newest first, as the sale
// report lists them (http.Config.Incidents).
func (s *Service) IncidentSummaries() []floodgate.IncidentSummary {
	var out []floodgate.IncidentSummary
	for _, in := range s.Incidents() {
		sum := floodgate.IncidentSummary{ID: in.ID, Name: in.Name, Status: in.Status, Impact: in.Impact, CreatedAt: in.CreatedAt}
		if !in.ResolvedAt.IsZero() {
			t := in.ResolvedAt.UTC().Truncate(time.Millisecond)
			sum.ResolvedAt = &t
		}
		out = append(out, sum)
	}
	return out
}

// MaintenanceInput is the body of POST /api/v1/maintenances.
type MaintenanceInput struct {
	Name           string    `json:"name"`
	Message        string    `json:"message"`
	Components     []string  `json:"components"`
	ScheduledFor   time.Time `json:"scheduled_for"`
	ScheduledUntil time.Time `json:"scheduled_until"`
}

// ScheduleMaintenance adds a maintenance window and queues its notices.
func (s *Service) ScheduleMaintenance(in MaintenanceInput) (*Maintenance, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var t texts
	name := t.check("name", in.Name, true, maxName)
	msg := t.check("message", in.Message, true, maxMessage)
	if t.err != nil {
		return nil, t.err
	}
	if in.ScheduledFor.IsZero() || in.ScheduledUntil.IsZero() {
		return nil, floodgate.Errorf(floodgate.EInvalid, "The fields \"scheduled_for\" and \"scheduled_until\" are required (RFC 3339 times).")
	}
	if !in.ScheduledUntil.After(in.ScheduledFor) {
		return nil, floodgate.Errorf(floodgate.EInvalid, "\"scheduled_until\" must be after \"scheduled_for\".")
	}
	comps, err := s.checkComponents(in.Components)
	if err != nil {
		return nil, err
	}
	now := s.now()
	m := &Maintenance{ID: newID("mnt"), Name: name, Message: msg, Components: comps,
		ScheduledFor: in.ScheduledFor.UTC(), ScheduledUntil: in.ScheduledUntil.UTC(), CreatedAt: now, UpdatedAt: now}
	err = s.mutateLocked(func(b *batch) error {
		s.maintenances[m.ID] = m
		b.put(bucketMaintenances, m.ID, m)
		s.queueMaintenanceEventLocked(b, m)
		return nil
	})
	if err != nil {
		delete(s.maintenances, m.ID)
		return nil, err
	}
	return m, nil
}

// CompleteMaintenance ends a maintenance window early.
func (s *Service) CompleteMaintenance(id string) (*Maintenance, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.maintenances[id]
	if !ok {
		return nil, floodgate.Errorf(floodgate.ENotFound, "No maintenance %q.", id)
	}
	err := s.mutateLocked(func(b *batch) error {
		m.Completed, m.UpdatedAt = true, s.now()
		b.put(bucketMaintenances, id, m)
		return nil
	})
	cp := *m
	return &cp, err
}

// Maintenances returns every maintenance window, soonest first.
func (s *Service) Maintenances() []Maintenance {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Maintenance, 0, len(s.maintenances))
	for _, m := range s.maintenances {
		out = append(out, *m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ScheduledFor.Before(out[j].ScheduledFor) })
	return out
}
