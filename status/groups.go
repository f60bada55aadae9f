package status

import (
	"net/http"
	"slices"
	"strings"

	"github.com/floodgate/floodgate"
	"github.com/floodgate/floodgate/internal/api"
	"github.com/floodgate/floodgate/sale"
)

// GroupInput is the body of PUT /api/v1/component-groups/{id}.
type GroupInput struct {
	Name        string   `json:"name"`
	NameKO      string   `json:"name_ko,omitempty"`
	Description string   `json:"description,omitempty"`
	Components  []string `json:"components"`
}

const componentSourceGroup = "group"

// validGroupID: a group id follows the rules of a drop id (lower-case
// letters, digits, - and _, up to 64 bytes).
func validGroupID(id string) bool { return sale.ValidID(id) }

// PutGroup creates or changes a component group: its members are the
// listed components (at least one, none of them a group), and components
// that were members before and are not listed leave it. The group shows the
// worst status of its members, on the page and in summary.json (Statuspage's
// group, group_id and components fields).
func (s *Service) PutGroup(id string, in GroupInput) (*Component, error) {
	if !validGroupID(id) {
		return nil, floodgate.Errorf(floodgate.EInvalid, "A group id is 1 to 64 characters of a-z, 0-9, '-' and '_'.")
	}
	var t texts
	name := t.check("name", in.Name, true, maxName)
	nameKO := t.check("name_ko", in.NameKO, false, maxName)
	desc := t.check("description", in.Description, false, 500)
	if t.err != nil {
		return nil, t.err
	}
	if len(in.Components) == 0 || len(in.Components) > 100 {
		return nil, floodgate.Errorf(floodgate.EInvalid, "A group lists 1 to 100 \"components\".")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.components[id]; ok && !c.Group {
		return nil, floodgate.Errorf(floodgate.EConflict, "%q is a component, not a group; pick another id.", id)
	}
	members, err := s.checkComponents(in.Components)
	if err != nil {
		return nil, err
	}
	pos := 0
	for _, m := range members {
		c := s.components[m]
		if c.Group {
			return nil, floodgate.Errorf(floodgate.EInvalid, "%q is a group; groups do not nest.", m)
		}
		if pos == 0 || c.Position < pos {
			pos = c.Position
		}
	}
	now := s.now()
	g := &Component{ID: id, Name: name, NameKO: nameKO, Description: desc, Position: pos, Source: componentSourceGroup, Group: true,
		CreatedAt: now, UpdatedAt: now}
	if cur, ok := s.components[id]; ok {
		g.CreatedAt = cur.CreatedAt
	}
	err = s.mutateLocked(func(b *batch) error {
		for cid, c := range s.components {
			in := slices.Contains(members, cid)
			if (c.GroupID == id) == in {
				continue
			}
			next := *c
			next.GroupID, next.UpdatedAt = "", now
			if in {
				next.GroupID = id
			}
			s.components[cid] = &next
			b.put(bucketComponents, cid, &next)
		}
		s.components[id] = g
		b.put(bucketComponents, id, g)
		return nil
	})
	if err != nil {
		return nil, err
	}
	cp := *g
	return &cp, nil
}

// DeleteGroup removes a group; its members stay, ungrouped.
func (s *Service) DeleteGroup(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.components[id]
	if !ok || !g.Group {
		return floodgate.Errorf(floodgate.ENotFound, "No component group %q.", id)
	}
	now := s.now()
	return s.mutateLocked(func(b *batch) error {
		for cid, c := range s.components {
			if c.GroupID == id {
				next := *c
				next.GroupID, next.UpdatedAt = "", now
				s.components[cid] = &next
				b.put(bucketComponents, cid, &next)
			}
		}
		delete(s.components, id)
		b.del(bucketComponents, id)
		return nil
	})
}

func (s *Service) membersLocked(group string) []string {
	var out []string
	for _, c := range s.sortedComponents() {
		if c.GroupID == group {
			out = append(out, c.ID)
		}
	}
	return out
}

func (s *Service) handlePutGroup(w http.ResponseWriter, r *http.Request) {
	answerID(w, r, http.StatusOK, s.PutGroup)
}

func (s *Service) handleDeleteGroup(w http.ResponseWriter, r *http.Request) {
	if err := s.DeleteGroup(r.PathValue("id")); err != nil {
		api.WriteError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// PostmortemInput is the body of POST /api/v1/incidents/{id}/postmortem.
type PostmortemInput struct {
	Body string `json:"body"`
}

// AttachPostmortem attaches (or replaces) the write-up of a resolved
// incident; the incident's status becomes "postmortem", as on Statuspage.
// Subscribers are not notified again.
func (s *Service) AttachPostmortem(id string, in PostmortemInput) (*Incident, error) {
	body, err := checkText("body", in.Body, true, 20000)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.incidents[id]
	if !ok {
		return nil, floodgate.Errorf(floodgate.ENotFound, "No incident %q; list them with GET /api/v1/incidents.", id)
	}
	if !isResolved(cur.Status) {
		return nil, floodgate.Errorf(floodgate.EConflict, "Incident %q is not resolved yet; resolve it, then attach the postmortem.", id)
	}
	inc := *cur
	now := s.now()
	inc.Postmortem, inc.PostmortemAt, inc.Status, inc.UpdatedAt = body, now, StatusPostmortem, now
	err = s.mutateLocked(func(b *batch) error {
		s.incidents[id] = &inc
		b.put(bucketIncidents, id, &inc)
		return nil
	})
	if err != nil {
		return nil, err
	}
	cp := inc
	return &cp, nil
}

func (s *Service) handlePostmortem(w http.ResponseWriter, r *http.Request) {
	answerID(w, r, http.StatusOK, s.AttachPostmortem)
}

// Maintenance notices: a reminder MaintenanceReminder before a window
// starts (when it was scheduled earlier than that), and a notice when it
// starts and when it ends. The window opens and closes by itself: the
// components show under_maintenance exactly while it runs.
const (
	EventMaintenanceReminder  = "maintenance.reminder"
	EventMaintenanceStarted   = "maintenance.started"
	EventMaintenanceCompleted = "maintenance.completed"
)

// checkMaintenances queues the notices that are due.
func (s *Service) checkMaintenances() {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	ahead := s.cfg.MaintenanceReminder
	for id, m := range s.maintenances {
		if m.Source == incidentSourceMirror {
			continue
		}
		st := m.statusAt(now)
		var kind string
		next := *m
		switch {
		case st == maintenanceScheduled && next.ReminderAt.IsZero() && !now.Before(m.ScheduledFor.Add(-ahead)) &&
			m.CreatedAt.Before(m.ScheduledFor.Add(-ahead)):
			kind, next.ReminderAt = EventMaintenanceReminder, now
		case st == maintenanceInProgress && next.StartedAt.IsZero():
			kind, next.StartedAt = EventMaintenanceStarted, now
		case st == maintenanceCompleted && !next.StartedAt.IsZero() && next.EndedAt.IsZero():
			kind, next.EndedAt = EventMaintenanceCompleted, now
		case st == maintenanceCompleted && next.StartedAt.IsZero() && next.EndedAt.IsZero():
			// Cancelled (or ended) before it started: nothing to say.
			next.EndedAt = now
		default:
			continue
		}
		err := s.mutateLocked(func(b *batch) error {
			s.maintenances[id] = &next
			b.put(bucketMaintenances, id, &next)
			if kind != "" {
				s.queueMaintenanceKindLocked(b, &next, kind)
			}
			return nil
		})
		if err != nil {
			s.log.Warn("could not record a maintenance notice", "maintenance", id, "err", err)
			return
		}
	}
}

var maintenanceSubject = map[string]string{
	EventMaintenance:          "점검 예정 · Scheduled maintenance",
	EventMaintenanceReminder:  "곧 점검 시작 · Maintenance starts soon",
	EventMaintenanceStarted:   "점검 시작 · Maintenance started",
	EventMaintenanceCompleted: "점검 완료 · Maintenance completed",
}

// maintenanceLeadText says when a window runs, for a notice's first line.
func maintenanceLeadText(kind string, m *Maintenance) string {
	switch kind {
	case EventMaintenanceCompleted:
		return "점검이 끝났습니다. The maintenance is over."
	case EventMaintenanceStarted:
		return "점검이 시작되었습니다. The maintenance has started."
	case EventMaintenanceReminder:
		return "점검이 " + strings.TrimSpace(fmtTime(m.ScheduledFor)) + "에 시작됩니다. The maintenance starts soon."
	}
	return ""
}
