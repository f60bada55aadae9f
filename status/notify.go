package status

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/floodgate/floodgate"
)

// kst is Korea Standard Time; Korea keeps no daylight saving time, so a
// fixed zone needs no tz database on the machine.
var kst = time.FixedZone("KST", 9*3600)

var statusKO = map[string]string{
	StatusInvestigating:   "조사 중",
	StatusIdentified:      "원인 파악",
	StatusMonitoring:      "모니터링 중",
	StatusResolved:        "해결됨",
	StatusPostmortem:      "사후 분석",
	maintenanceScheduled:  "예정",
	maintenanceInProgress: "진행 중",
	maintenanceCompleted:  "완료",
	maintenanceVerifying:  "확인 중",
}

var statusEN = map[string]string{
	StatusInvestigating:   "Investigating",
	StatusIdentified:      "Identified",
	StatusMonitoring:      "Monitoring",
	StatusResolved:        "Resolved",
	StatusPostmortem:      "Postmortem",
	maintenanceScheduled:  "Scheduled",
	maintenanceInProgress: "In progress",
	maintenanceCompleted:  "Completed",
	maintenanceVerifying:  "Verifying",
}

var impactKO = map[string]string{ImpactNone: "안내", ImpactMinor: "경미", ImpactMajor: "주요", ImpactCritical: "심각"}

// SubscriberInput is the body of POST /api/v1/subscribers.
type SubscriberInput struct {
	Channel string `json:"channel"`
	Target  string `json:"target"`
	Secret  string `json:"secret,omitempty"`
}

// SubscriberView is a subscriber as the API shows it: never the secret.
type SubscriberView struct {
	ID               string    `json:"id"`
	Channel          string    `json:"channel"`
	Target           string    `json:"target"`
	Signed           bool      `json:"signed"`
	UnsubscribeToken string    `json:"unsubscribe_token"`
	UnsubscribeURL   string    `json:"unsubscribe_url"`
	CreatedAt        time.Time `json:"created_at"`
	Components       []string  `json:"components,omitempty"`
	Pending          bool      `json:"pending,omitempty"`
}

func (s *Service) viewSubscriber(sub *Subscriber) SubscriberView {
	return SubscriberView{ID: sub.ID, Channel: sub.Channel, Target: sub.Target, Signed: sub.Secret != "",
		UnsubscribeToken: sub.UnsubscribeToken, UnsubscribeURL: s.unsubscribeURL(sub.UnsubscribeToken), CreatedAt: sub.CreatedAt,
		Components: sub.Components, Pending: sub.Pending}
}

func (s *Service) unsubscribeURL(token string) string {
	return s.cfg.PublicURL + "/api/v1/unsubscribe/" + token
}

// MinWebhookSecret is the shortest secret a webhook may be signed with: a
// shorter one could be guessed, and the signature would prove nothing.
const MinWebhookSecret = 16

// Subscribe adds a subscriber. Webhooks must have a secret, so that the
// receiver can tell Floodgate's notices from forgeries.
func (s *Service) Subscribe(in SubscriberInput) (SubscriberView, error) {
	target, err := checkTarget(in.Channel, in.Target, s.cfg.Dev)
	if err != nil {
		return SubscriberView{}, err
	}
	secret := strings.TrimSpace(in.Secret)
	if in.Channel == ChannelWebhook && len(secret) < MinWebhookSecret {
		return SubscriberView{}, floodgate.Errorf(floodgate.EInvalid, "A webhook needs a \"secret\" of at least %d characters to sign its deliveries; use a long random one (32 characters or more).", MinWebhookSecret)
	}
	if len(secret) > 512 {
		return SubscriberView{}, floodgate.Errorf(floodgate.EInvalid, "The \"secret\" is longer than 512 characters.")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sub := range s.subscribers {
		if sub.Channel == in.Channel && sub.Target == target {
			if subtle.ConstantTimeCompare([]byte(sub.Secret), []byte(secret)) != 1 {
				return SubscriberView{}, floodgate.Errorf(floodgate.EConflict, "This %s target is already subscribed with another secret; unsubscribe it first.", in.Channel)
			}
			return s.viewSubscriber(sub), nil
		}
	}
	sub := &Subscriber{ID: newID("sub"), Channel: in.Channel, Target: target, Secret: secret, UnsubscribeToken: newToken(), CreatedAt: s.now()}
	err = s.mutateLocked(func(b *batch) error {
		s.subscribers[sub.ID] = sub
		b.put(bucketSubscribers, sub.ID, sub)
		return nil
	})
	if err != nil {
		delete(s.subscribers, sub.ID)
		return SubscriberView{}, err
	}
	return s.viewSubscriber(sub), nil
}

// Subscribers lists the subscribers.
func (s *Service) Subscribers() []SubscriberView {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]SubscriberView, 0, len(s.subscribers))
	for _, sub := range s.subscribers {
		out = append(out, s.viewSubscriber(sub))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CreatedAt.Before(out[j].CreatedAt) })
	return out
}

// Unsubscribe removes a subscriber by id (admin) or by its unsubscribe token
// (anyone holding the link), with its undelivered messages.
func (s *Service) Unsubscribe(idOrToken string, byToken bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var found *Subscriber
	for _, sub := range s.subscribers {
		// The token is a secret: compared in constant time.
		if (byToken && subtle.ConstantTimeCompare([]byte(sub.UnsubscribeToken), []byte(idOrToken)) == 1) || (!byToken && sub.ID == idOrToken) {
			found = sub
		}
	}
	if found == nil {
		if byToken {
			return floodgate.Errorf(floodgate.ENotFound, "This unsubscribe link is not known; it may have been used already.")
		}
		return floodgate.Errorf(floodgate.ENotFound, "No subscriber %q.", idOrToken)
	}
	return s.mutateLocked(func(b *batch) error {
		delete(s.subscribers, found.ID)
		b.del(bucketSubscribers, found.ID)
		for id, d := range s.outbox {
			if d.SubscriberID == found.ID {
				delete(s.outbox, id)
				b.del(bucketOutbox, id)
			}
		}
		return nil
	})
}

// webhookPayload is the JSON body of a webhook delivery.
type webhookPayload struct {
	ID          string        `json:"id"`
	Type        string        `json:"type"`
	CreatedAt   time.Time     `json:"created_at"`
	Page        Page          `json:"page"`
	Incident    *SPIncident   `json:"incident,omitempty"`
	Maintenance *SPIncident   `json:"scheduled_maintenance,omitempty"`
	Notice      *OutageNotice `json:"notice,omitempty"`
}

// OutageNotice is the notice sent when an outage reaches the notice delay:
// the fact, the cause and the response, as the Korean rule for large online
// services asks.
type OutageNotice struct {
	IncidentID     string    `json:"incident_id"`
	Name           string    `json:"name"`
	StartedAt      time.Time `json:"started_at"`
	Fact           string    `json:"fact"`
	Cause          string    `json:"cause"`
	Response       string    `json:"response"`
	AffectedBuyers int       `json:"affected_buyers"`
}

// message is what one event says, before it is shaped for a channel.
type message struct {
	eventID, kind string
	at            time.Time
	components    []string // what the event touches, for subscribers' filters
	subject       string
	text          string // email and Slack
	sms           string
	payload       webhookPayload
}

func (s *Service) componentNamesLocked(ids []string) string {
	var names []string
	for _, id := range ids {
		if c, ok := s.components[id]; ok {
			if c.NameKO != "" {
				names = append(names, c.NameKO+" "+c.Name)
			} else {
				names = append(names, c.Name)
			}
		}
	}
	return strings.Join(names, ", ")
}

func (s *Service) statusLink() string {
	if s.cfg.PublicURL == "" {
		return ""
	}
	return s.cfg.PublicURL + "/status"
}

func (s *Service) queueIncidentEventLocked(b *batch, kind string, inc *Incident) {
	if s.cfg.Mirror && inc.Source == incidentSourceMirror {
		return
	}
	now := s.now()
	sp := s.spIncidentLocked(inc, s.componentStatusesLocked(now))
	last := inc.Updates[len(inc.Updates)-1]
	m := message{eventID: newID("evt"), kind: kind, at: now, components: inc.Components,
		payload: webhookPayload{Type: kind, CreatedAt: now, Page: s.pageLocked(now), Incident: &sp}}
	m.subject = fmt.Sprintf("[%s] %s · %s: %s", s.cfg.PageName, statusKO[inc.Status], statusEN[inc.Status], inc.Name)
	var t strings.Builder
	fmt.Fprintf(&t, "%s\n\n", inc.Name)
	fmt.Fprintf(&t, "상태 Status: %s · %s\n", statusKO[inc.Status], statusEN[inc.Status])
	fmt.Fprintf(&t, "영향 Impact: %s · %s\n", impactKO[inc.Impact], inc.Impact)
	if names := s.componentNamesLocked(inc.Components); names != "" {
		fmt.Fprintf(&t, "구성 요소 Components: %s\n", names)
	}
	fmt.Fprintf(&t, "시각 Time: %s\n\n%s\n", fmtTime(last.CreatedAt), last.Body)
	writeFCR(&t, inc.Fact, inc.Cause, inc.Response)
	if l := s.statusLink(); l != "" {
		fmt.Fprintf(&t, "\n%s\n", l)
	}
	m.text = t.String()
	m.sms = truncate(fmt.Sprintf("[%s] %s/%s: %s — %s", s.cfg.PageName, statusKO[inc.Status], statusEN[inc.Status], inc.Name, last.Body), 300)
	if l := s.statusLink(); l != "" {
		m.sms += " " + l
	}
	s.queueToSubscribersLocked(b, m)
}

func (s *Service) queueMaintenanceEventLocked(b *batch, mt *Maintenance) {
	s.queueMaintenanceKindLocked(b, mt, EventMaintenance)
}

// queueMaintenanceKindLocked tells subscribers about a maintenance window:
// scheduled, starting soon, started or completed (kind).
func (s *Service) queueMaintenanceKindLocked(b *batch, mt *Maintenance, kind string) {
	now := s.now()
	sp := s.spMaintenanceLocked(mt, now, s.componentStatusesLocked(now))
	m := message{eventID: newID("evt"), kind: kind, at: now, components: mt.Components,
		payload: webhookPayload{Type: kind, CreatedAt: now, Page: s.pageLocked(now), Maintenance: &sp}}
	m.subject = fmt.Sprintf("[%s] %s: %s", s.cfg.PageName, maintenanceSubject[kind], mt.Name)
	lead := maintenanceLeadText(kind, mt)
	if lead != "" {
		lead += "\n\n"
	}
	m.text = fmt.Sprintf("%s%s\n\n%s → %s\n구성 요소 Components: %s\n\n%s\n", lead, mt.Name, fmtTime(mt.ScheduledFor), fmtTime(mt.ScheduledUntil),
		s.componentNamesLocked(mt.Components), mt.Message)
	if l := s.statusLink(); l != "" {
		m.text += "\n" + l + "\n"
	}
	m.sms = truncate(fmt.Sprintf("[%s] %s %s: %s", s.cfg.PageName, maintenanceSubject[kind], fmtTime(mt.ScheduledFor), mt.Name), 300)
	s.queueToSubscribersLocked(b, m)
}

func writeFCR(t *strings.Builder, fact, cause, response string) {
	if cause == "" {
		cause = "조사 중입니다. Still under investigation."
	}
	if response == "" {
		response = "복구 작업 중입니다. We are working to restore the service."
	}
	if fact != "" {
		fmt.Fprintf(t, "\n사실 What happened: %s\n", fact)
	}
	fmt.Fprintf(t, "원인 Cause: %s\n", cause)
	fmt.Fprintf(t, "대응 What we are doing: %s\n", response)
}

// queueToSubscribersLocked makes one delivery per confirmed subscriber
// whose components (if any) the event touches.
func (s *Service) queueToSubscribersLocked(b *batch, m message) {
	// A subscriber of a group hears of events touching its members.
	touched := append([]string(nil), m.components...)
	for _, id := range m.components {
		if c, ok := s.components[id]; ok && c.GroupID != "" && !slices.Contains(touched, c.GroupID) {
			touched = append(touched, c.GroupID)
		}
	}
	m.components = touched
	var ds []*Delivery
	for _, sub := range s.subscribers {
		if !sub.wants(m.components) {
			continue
		}
		ds = append(ds, s.deliveryFor(m, sub.ID, sub.Channel, sub.Target, sub.Secret, s.unsubscribeURL(sub.UnsubscribeToken)))
	}
	s.enqueueLocked(b, ds)
}

func (s *Service) deliveryFor(m message, subID, channel, target, secret, unsub string) *Delivery {
	recipient := subID
	if recipient == "" {
		recipient = channel + ":" + target
	}
	d := &Delivery{ID: m.eventID + ":" + recipient, Secret: secret, NextAt: m.at, CreatedAt: m.at,
		Route: Route{EventID: m.eventID, Kind: m.kind, SubscriberID: subID, Channel: channel, Target: target}}
	if subID != "" && s.cfg.PublicURL != "" {
		d.UnsubscribeURL = unsub
	}
	switch channel {
	case ChannelWebhook:
		p := m.payload
		p.ID = m.eventID
		d.Payload, _ = json.Marshal(p)
	case ChannelSMS:
		d.Text = m.sms
		if d.UnsubscribeURL != "" {
			d.Text += " 수신거부 Stop: " + d.UnsubscribeURL
		}
	case ChannelEmail:
		d.Subject = m.subject
		d.Text = m.text
		if d.UnsubscribeURL != "" {
			d.Text += "\n수신 거부 Unsubscribe: " + d.UnsubscribeURL + "\n"
		}
	case ChannelSlack:
		d.Text = "*" + m.subject + "*\n" + m.text
	}
	return d
}

// checkOutageNotices sends the notice for every outage that has lasted
// OutageNoticeAfter: SMS and email to every affected buyer, and the same to
// every subscriber (the makers' webhooks among them). It is sent once per
// incident.
func (s *Service) checkOutageNotices() {
	s.mu.Lock()
	now := s.now()
	src := s.affected
	var due []*Incident
	for _, inc := range s.incidents {
		if isResolved(inc.Status) || inc.Source == incidentSourceMirror || !inc.OutageNoticeAt.IsZero() ||
			impactRank[inc.Impact] < impactRank[ImpactMajor] || now.Sub(inc.CreatedAt) < s.cfg.OutageNoticeAfter {
			continue
		}
		if last, ok := s.noticeTried[inc.ID]; ok && now.Sub(last) < 30*time.Second {
			continue
		}
		s.noticeTried[inc.ID] = now
		cp := *inc
		due = append(due, &cp)
	}
	s.mu.Unlock()
	for _, inc := range due {
		var buyers []Buyer
		if src != nil {
			var err error
			// The core is asked without the lock held: it may be slow.
			buyers, err = src.Affected(inc.CreatedAt, now)
			if err != nil {
				s.log.Warn("could not list affected buyers for the outage notice; will retry", "incident", inc.ID, "err", err)
				continue
			}
		} else {
			s.log.Warn("no source of affected buyers; the outage notice goes to subscribers only", "incident", inc.ID)
		}
		s.queueOutageNotice(inc.ID, buyers)
	}
}

func (s *Service) queueOutageNotice(id string, buyers []Buyer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	inc, ok := s.incidents[id]
	if !ok || !inc.OutageNoticeAt.IsZero() || isResolved(inc.Status) {
		return
	}
	now := s.now()
	notice := &OutageNotice{IncidentID: inc.ID, Name: inc.Name, StartedAt: inc.CreatedAt, Fact: inc.Fact, Cause: inc.Cause,
		Response: inc.Response, AffectedBuyers: len(buyers)}
	if notice.Fact == "" && len(inc.Updates) > 0 {
		notice.Fact = inc.Updates[0].Body
	}
	if notice.Cause == "" {
		notice.Cause = "Still under investigation."
	}
	if notice.Response == "" {
		notice.Response = "We are working to restore the service."
	}
	sp := s.spIncidentLocked(inc, s.componentStatusesLocked(now))
	hours := int(now.Sub(inc.CreatedAt).Hours())
	m := message{eventID: newID("evt"), kind: EventOutageNotice, at: now, components: inc.Components,
		payload: webhookPayload{Type: EventOutageNotice, CreatedAt: now, Page: s.pageLocked(now), Incident: &sp, Notice: notice}}
	m.subject = fmt.Sprintf("[%s] 서비스 장애 안내 · Service outage notice: %s", s.cfg.PageName, inc.Name)
	var t strings.Builder
	fmt.Fprintf(&t, "%s 서비스 장애 안내 · %s service outage notice\n\n", s.cfg.PageName, s.cfg.PageName)
	fmt.Fprintf(&t, "%s\n시작 Started: %s (%d시간 이상 지속 · ongoing for %d+ hours)\n", inc.Name, fmtTime(inc.CreatedAt), hours, hours)
	writeFCR(&t, notice.Fact, inc.Cause, inc.Response)
	if l := s.statusLink(); l != "" {
		fmt.Fprintf(&t, "\n실시간 상황 Live status: %s\n", l)
	}
	m.text = t.String()
	m.sms = truncate(fmt.Sprintf("[%s 장애 안내/Outage] %s. 사실/Fact: %s 원인/Cause: %s 대응/Response: %s", s.cfg.PageName, inc.Name,
		notice.Fact, notice.Cause, notice.Response), 600)
	if l := s.statusLink(); l != "" {
		m.sms += " " + l
	}
	err := s.mutateLocked(func(b *batch) error {
		s.queueToSubscribersLocked(b, m)
		var ds []*Delivery
		for _, buyer := range buyers {
			if buyer.Email != "" {
				ds = append(ds, s.deliveryFor(m, "", ChannelEmail, buyer.Email, "", ""))
			}
			if buyer.Phone != "" {
				ds = append(ds, s.deliveryFor(m, "", ChannelSMS, buyer.Phone, "", ""))
			}
		}
		s.enqueueLocked(b, ds)
		inc.OutageNoticeAt = now
		b.put(bucketIncidents, inc.ID, inc)
		return nil
	})
	if err != nil {
		inc.OutageNoticeAt = time.Time{}
		return
	}
	delete(s.noticeTried, id)
	s.log.Info("outage notice queued", "incident", id, "buyers", len(buyers), "subscribers", len(s.subscribers))
}

func fmtTime(t time.Time) string {
	return t.In(kst).Format("2006-01-02 15:04 KST") + " (" + t.UTC().Format("15:04 UTC") + ")"
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
