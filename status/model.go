package status

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
	"time"

	"github.com/floodgate/floodgate"
)

// Incident impacts, as Statuspage names them.
const (
	ImpactNone     = "none"
	ImpactMinor    = "minor"
	ImpactMajor    = "major"
	ImpactCritical = "critical"
)

// Incident statuses. Postmortem is accepted as Statuspage has it; it counts as
// resolved.
const (
	StatusInvestigating = "investigating"
	StatusIdentified    = "identified"
	StatusMonitoring    = "monitoring"
	StatusResolved      = "resolved"
	StatusPostmortem    = "postmortem"
)

// Component statuses, as Statuspage names them.
const (
	ComponentOperational       = "operational"
	ComponentDegraded          = "degraded_performance"
	ComponentPartialOutage     = "partial_outage"
	ComponentMajorOutage       = "major_outage"
	ComponentUnderMaintenance  = "under_maintenance"
	maintenanceScheduled       = "scheduled"
	maintenanceInProgress      = "in_progress"
	maintenanceCompleted       = "completed"
	maintenanceVerifying       = "verifying"
	componentSourceFixed       = "fixed"
	componentSourceDrop        = "drop"
	componentSourceMirror      = "mirror"
	incidentSourceLocal        = ""
	incidentSourceMirror       = "mirror"
	defaultAutoResponseMessage = "We were alerted automatically and are working on it."
)

// Subscriber channels.
const (
	ChannelWebhook = "webhook"
	ChannelEmail   = "email"
	ChannelSlack   = "slack"
	ChannelSMS     = "sms"
)

var impactRank = map[string]int{ImpactNone: 0, ImpactMinor: 1, ImpactMajor: 2, ImpactCritical: 3}

var componentRank = map[string]int{
	ComponentOperational:      0,
	ComponentUnderMaintenance: 1,
	ComponentDegraded:         2,
	ComponentPartialOutage:    3,
	ComponentMajorOutage:      4,
}

func validImpact(s string) bool { _, ok := impactRank[s]; return ok }

func validIncidentStatus(s string) bool {
	switch s {
	case StatusInvestigating, StatusIdentified, StatusMonitoring, StatusResolved, StatusPostmortem:
		return true
	}
	return false
}

func isResolved(status string) bool { return status == StatusResolved || status == StatusPostmortem }

// componentStatusFor is the status a component shows while an unresolved
// incident of this impact touches it.
func componentStatusFor(impact string) string {
	switch impact {
	case ImpactCritical:
		return ComponentMajorOutage
	case ImpactMajor:
		return ComponentPartialOutage
	case ImpactMinor:
		return ComponentDegraded
	}
	return ComponentOperational
}

// Component is one part of the service that the page reports on.
type Component struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	NameKO      string    `json:"name_ko,omitempty"`
	Description string    `json:"description,omitempty"`
	Position    int       `json:"position"`
	Source      string    `json:"source"`
	Status      string    `json:"status,omitempty"` // only for mirrored components: the status the core reported
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
	// Group marks a component group (its status is the worst of its
	// members'); GroupID names the group a component belongs to.
	Group   bool   `json:"group,omitempty"`
	GroupID string `json:"group_id,omitempty"`
}

// fixedComponents are the parts every Floodgate has.
var fixedComponents = []Component{
	{ID: "waiting-room", Name: "Waiting room", NameKO: "대기열", Description: "Queue positions, tickets and admission."},
	{ID: "checkout", Name: "Checkout", NameKO: "결제", Description: "Holds and placing orders."},
	{ID: "login", Name: "Login", NameKO: "로그인", Description: "Buyer sign-in through the identity provider."},
	{ID: "orders", Name: "Orders", NameKO: "주문", Description: "Order records, vouchers and deliveries to makers."},
}

// Update is one timestamped message on an incident.
type Update struct {
	ID        string    `json:"id"`
	Status    string    `json:"status"`
	Body      string    `json:"body"`
	CreatedAt time.Time `json:"created_at"`
	Auto      bool      `json:"auto,omitempty"`
}

// Incident is something that went wrong (or, with impact none, a notice such
// as a drop selling out). It carries the fact, the cause and the response, so
// that the two-hour notice can say all three.
type Incident struct {
	ID           string    `json:"id"`
	Name         string    `json:"name"`
	Status       string    `json:"status"`
	Impact       string    `json:"impact"`
	Components   []string  `json:"components"`
	Fact         string    `json:"fact,omitempty"`
	Cause        string    `json:"cause,omitempty"`
	Response     string    `json:"response,omitempty"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
	MonitoringAt time.Time `json:"monitoring_at,omitzero"`
	ResolvedAt   time.Time `json:"resolved_at,omitzero"`
	Updates      []Update  `json:"updates"`
	// SignalKey is set on automatic incidents: the signal that opened it.
	SignalKey string `json:"signal_key,omitempty"`
	// EditedBy is "admin" once a person has changed an automatic incident.
	EditedBy string `json:"edited_by,omitempty"`
	// Source is "mirror" for incidents copied from the core.
	Source string `json:"source,omitempty"`
	// OutageNoticeAt is when the two-hour notice was queued.
	OutageNoticeAt time.Time `json:"outage_notice_at,omitzero"`
	// Postmortem is the write-up attached once the incident is resolved.
	Postmortem   string    `json:"postmortem,omitempty"`
	PostmortemAt time.Time `json:"postmortem_at,omitzero"`
}

// Maintenance is a scheduled maintenance window.
type Maintenance struct {
	ID             string    `json:"id"`
	Name           string    `json:"name"`
	Message        string    `json:"message"`
	Components     []string  `json:"components"`
	ScheduledFor   time.Time `json:"scheduled_for"`
	ScheduledUntil time.Time `json:"scheduled_until"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
	// Completed ends the window early.
	Completed bool   `json:"completed,omitempty"`
	Source    string `json:"source,omitempty"`
	// When the reminder ahead of the window, and the notices of its start
	// and its end, were queued.
	ReminderAt time.Time `json:"reminder_at,omitzero"`
	StartedAt  time.Time `json:"started_at,omitzero"`
	EndedAt    time.Time `json:"ended_at,omitzero"`
}

// statusAt is the Statuspage status of the window at now.
func (m *Maintenance) statusAt(now time.Time) string {
	switch {
	case m.Completed || !now.Before(m.ScheduledUntil):
		return maintenanceCompleted
	case !now.Before(m.ScheduledFor):
		return maintenanceInProgress
	}
	return maintenanceScheduled
}

// Subscriber is a party told about every incident change on one channel.
type Subscriber struct {
	ID               string    `json:"id"`
	Channel          string    `json:"channel"`
	Target           string    `json:"target"`
	Secret           string    `json:"secret,omitempty"`
	UnsubscribeToken string    `json:"unsubscribe_token"`
	CreatedAt        time.Time `json:"created_at"`
	// Components, when set, limits the notices to events touching one of
	// them.
	Components []string `json:"components,omitempty"`
	// Public marks a subscription made on the status page. It is Pending
	// until its ConfirmToken link is followed (before ExpiresAt), and gets
	// nothing but its confirmation meanwhile.
	Public        bool      `json:"public,omitempty"`
	Pending       bool      `json:"pending,omitempty"`
	ConfirmToken  string    `json:"confirm_token,omitempty"`
	ExpiresAt     time.Time `json:"expires_at,omitzero"`
	ConfirmedAt   time.Time `json:"confirmed_at,omitzero"`
	ConfirmWindow time.Time `json:"confirm_window,omitzero"`
	ConfirmsSent  int       `json:"confirms_sent,omitempty"`
}

// Buyer is a buyer who was queued or holding during an incident.
type Buyer struct {
	Customer string `json:"customer"`
	Email    string `json:"email,omitempty"`
	Phone    string `json:"phone,omitempty"`
}

// AffectedSource is implemented by the core: the buyers who were queued or
// holding between from and to.
type AffectedSource interface {
	Affected(from, to time.Time) ([]Buyer, error)
}

// Signal is a health signal from the core. OK false means the condition is
// present (no leader, identity provider failing, a drop sold out…).
type Signal struct {
	Key       string // stable id of the signal, e.g. "raft_leader", "sold_out:mini-speaker"
	Component string // component id it affects; several may be given separated by commas
	OK        bool
	Impact    string // impact when not OK
	Title     string // incident name when not OK
	Message   string // the fact and, when known, the cause in a sentence
	// Local marks a fact about the node that reports it (its data disk is
	// full), which it shows on its own page even when it is not the node
	// that records incidents (see live.go).
	Local bool
}

// newID returns a random id with a prefix, e.g. "inc_3f9a…".
func newID(prefix string) string { return prefix + "_" + randomHex(10) }

func newToken() string { return randomHex(24) }

// randomHex is n random bytes in hex. crypto/rand.Read does not fail: the
// program stops if the system has no randomness to give.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// texts checks the text fields of one input in turn and keeps the first
// error, so that the checks read as a list.
type texts struct{ err error }

// check returns s trimmed, or "" once a check has failed.
func (t *texts) check(field, s string, required bool, max int) string {
	if t.err != nil {
		return ""
	}
	s, t.err = checkText(field, s, required, max)
	return s
}

// replace sets *dst to s trimmed when s is given (an edit leaves out the
// fields it does not change).
func (t *texts) replace(dst *string, field, s string, required bool, max int) {
	if s == "" || t.err != nil {
		return
	}
	if v, err := checkText(field, s, required, max); err != nil {
		t.err = err
	} else {
		*dst = v
	}
}

// checkText trims s and checks its length; field names the JSON field.
func checkText(field, s string, required bool, max int) (string, error) {
	s = strings.TrimSpace(s)
	if required && s == "" {
		return "", floodgate.Errorf(floodgate.EInvalid, "The field %q is required.", field)
	}
	if len([]rune(s)) > max {
		return "", floodgate.Errorf(floodgate.EInvalid, "The field %q is longer than %d characters; shorten it.", field, max)
	}
	return s, nil
}
