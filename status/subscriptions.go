package status

import (
	"crypto/subtle"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/floodgate/floodgate"
	"github.com/floodgate/floodgate/internal/api"
	"github.com/floodgate/floodgate/internal/clientaddr"
)

// Public self-subscription with double opt-in. Anyone may ask for status
// notices by email or SMS; the target first gets one confirmation message
// with a link, and nothing else reaches it until the link is followed. A
// request that is not confirmed within PendingTTL is forgotten. Every later
// message carries an unsubscribe link (for email also RFC 8058 one-click
// List-Unsubscribe headers).

// SubscriptionInput is the body of POST /api/v1/subscriptions.
type SubscriptionInput struct {
	Channel    string   `json:"channel"`
	Target     string   `json:"target"`
	Components []string `json:"components,omitempty"`
}

// EventSubscriptionConfirm is the kind of the confirmation message.
const EventSubscriptionConfirm = "subscription.confirm"

// Defaults of the public subscription limits.
const (
	DefaultPendingTTL        = 24 * time.Hour
	DefaultConfirmsPerTarget = 3 // confirmation messages per target per day
	DefaultSubscribesPerIP   = 10
	subscribeIPWindow        = time.Hour
	confirmWindow            = 24 * time.Hour
	maxIPEntries             = 100_000
)

// ipWindow counts the subscription requests of one address in a window.
type ipWindow struct {
	start time.Time
	n     int
}

// RequestSubscription records a pending subscription and queues its
// confirmation message. ip is the client's address, for the limit per
// address. A target that is subscribed already gets nothing new (the answer
// is the same, so that the call does not tell who is subscribed).
func (s *Service) RequestSubscription(in SubscriptionInput, ip string) error {
	if in.Channel != ChannelEmail && in.Channel != ChannelSMS {
		return floodgate.Errorf(floodgate.EInvalid, "The field \"channel\" must be \"email\" or \"sms\".")
	}
	if s.cfg.PublicURL == "" {
		// Not an outage but how this page is set up (it offers no form
		// then): a 5xx would count as a failure of ours, and a stream of
		// them from anyone would open an incident.
		return floodgate.Errorf(floodgate.ENotFound, "This status page takes no subscriptions: it has no public URL (--status-public-url or --public-url) for the confirmation link; ask the operator.")
	}
	target, err := checkTarget(in.Channel, in.Target, s.cfg.Dev)
	if err != nil {
		return err
	}
	if len(in.Components) > 100 {
		return floodgate.Errorf(floodgate.EInvalid, "At most 100 components.")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	comps, err := s.checkComponents(in.Components)
	if err != nil {
		return err
	}
	now := s.now()
	if !s.allowIPLocked(ip, now) {
		return floodgate.Errorf(floodgate.ERateLimited, "Too many subscription requests from your address; try again in an hour.")
	}
	var sub *Subscriber
	for _, cur := range s.subscribers {
		if cur.Channel == in.Channel && cur.Target == target {
			sub = cur
		}
	}
	if sub != nil && !sub.Pending {
		return nil
	}
	next := Subscriber{ID: newID("sub"), Channel: in.Channel, Target: target, UnsubscribeToken: newToken(), CreatedAt: now,
		Public: true, Pending: true, ConfirmWindow: now}
	if sub != nil {
		next = *sub
		if now.Sub(next.ConfirmWindow) >= confirmWindow {
			next.ConfirmWindow, next.ConfirmsSent = now, 0
		}
	}
	if next.ConfirmsSent >= s.cfg.ConfirmsPerTarget {
		return floodgate.Errorf(floodgate.ERateLimited, "A confirmation was sent to this %s several times today; follow the link in it, or try again tomorrow.", in.Channel)
	}
	next.ConfirmsSent++
	next.Components = comps
	next.ConfirmToken = newToken()
	next.ExpiresAt = now.Add(s.cfg.PendingTTL)
	return s.mutateLocked(func(b *batch) error {
		s.subscribers[next.ID] = &next
		b.put(bucketSubscribers, next.ID, &next)
		s.enqueueLocked(b, []*Delivery{s.confirmationLocked(&next, now)})
		return nil
	})
}

func (s *Service) allowIPLocked(ip string, now time.Time) bool {
	if ip == "" || s.cfg.SubscribesPerIP < 0 {
		return true
	}
	w := s.subscribeIPs[ip]
	if w == nil || now.Sub(w.start) >= subscribeIPWindow {
		if len(s.subscribeIPs) >= maxIPEntries {
			for k, v := range s.subscribeIPs {
				if now.Sub(v.start) >= subscribeIPWindow {
					delete(s.subscribeIPs, k)
				}
			}
			if len(s.subscribeIPs) >= maxIPEntries {
				return false
			}
		}
		w = &ipWindow{start: now}
		s.subscribeIPs[ip] = w
	}
	if w.n >= s.cfg.SubscribesPerIP {
		return false
	}
	w.n++
	return true
}

func (s *Service) confirmURL(token string) string {
	return s.cfg.PublicURL + "/api/v1/subscriptions/confirm/" + token
}

// confirmationLocked is the one message a pending subscription gets.
func (s *Service) confirmationLocked(sub *Subscriber, now time.Time) *Delivery {
	link := s.confirmURL(sub.ConfirmToken)
	m := message{eventID: newID("evt"), kind: EventSubscriptionConfirm, at: now}
	m.subject = fmt.Sprintf("[%s] 상태 알림 구독 확인 · Confirm your status notices", s.cfg.PageName)
	var t strings.Builder
	fmt.Fprintf(&t, "%s 상태 알림을 받으려면 아래 링크를 열어 구독을 확인하세요.\n", s.cfg.PageName)
	fmt.Fprintf(&t, "To get %s status notices, open this link to confirm:\n\n%s\n\n", s.cfg.PageName, link)
	if names := s.componentNamesLocked(sub.Components); names != "" {
		fmt.Fprintf(&t, "구성 요소 Components: %s\n\n", names)
	}
	fmt.Fprintf(&t, "요청하지 않았다면 이 메시지를 무시하세요. 링크는 %s에 만료됩니다.\n", fmtTime(sub.ExpiresAt))
	fmt.Fprintf(&t, "If you did not ask for this, ignore it; the link expires %s.\n", fmtTime(sub.ExpiresAt))
	m.text = t.String()
	m.sms = fmt.Sprintf("[%s] 상태 알림 구독 확인/Confirm status notices: %s", s.cfg.PageName, link)
	return s.deliveryFor(m, sub.ID, sub.Channel, sub.Target, "", s.unsubscribeURL(sub.UnsubscribeToken))
}

// ConfirmSubscription follows a confirmation link.
func (s *Service) ConfirmSubscription(token string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var found *Subscriber
	for _, sub := range s.subscribers {
		if sub.ConfirmToken != "" && len(sub.ConfirmToken) == len(token) &&
			subtle.ConstantTimeCompare([]byte(sub.ConfirmToken), []byte(token)) == 1 {
			found = sub
		}
	}
	now := s.now()
	if found == nil || !now.Before(found.ExpiresAt) {
		return floodgate.Errorf(floodgate.ENotFound, "This confirmation link is not known or has expired; subscribe again on the status page.")
	}
	next := *found
	next.Pending, next.ConfirmToken, next.ExpiresAt, next.ConfirmedAt = false, "", time.Time{}, now
	return s.mutateLocked(func(b *batch) error {
		s.subscribers[next.ID] = &next
		b.put(bucketSubscribers, next.ID, &next)
		return nil
	})
}

// expirePending forgets pending subscriptions that were not confirmed in
// time, with their undelivered confirmation.
func (s *Service) expirePending() {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	var gone []string
	for id, sub := range s.subscribers {
		if sub.Pending && !now.Before(sub.ExpiresAt) {
			gone = append(gone, id)
		}
	}
	if len(gone) == 0 {
		return
	}
	err := s.mutateLocked(func(b *batch) error {
		for _, id := range gone {
			delete(s.subscribers, id)
			b.del(bucketSubscribers, id)
			for did, d := range s.outbox {
				if d.SubscriberID == id {
					delete(s.outbox, did)
					b.del(bucketOutbox, did)
				}
			}
		}
		return nil
	})
	if err != nil {
		s.log.Warn("could not forget expired subscription requests", "err", err)
	}
}

// wants reports whether a confirmed subscriber hears of an event touching
// components: one with no components of its own hears of everything.
func (sub *Subscriber) wants(components []string) bool {
	if sub.Pending {
		return false
	}
	if len(sub.Components) == 0 {
		return true
	}
	for _, c := range sub.Components {
		if slices.Contains(components, c) {
			return true
		}
	}
	return false
}

// clientIP is the unit the subscription limit counts: the client's
// address, or the /64 of an IPv6 one, since one subscriber usually holds a
// whole /64 and could otherwise take a new address for every request.
func (s *Service) clientIP(r *http.Request) string {
	if s.cfg.ClientIP != nil {
		if ip := s.cfg.ClientIP(r); ip.IsValid() {
			return clientaddr.Group(ip).String()
		}
	}
	return clientaddr.Group(clientaddr.Peer(r.RemoteAddr)).String()
}

// handleSubscriptionRequest takes JSON (202 {"status":"pending"}) or the
// status page's form (an HTML answer).
func (s *Service) handleSubscriptionRequest(w http.ResponseWriter, r *http.Request) {
	form := strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded")
	var in SubscriptionInput
	if form {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if err := r.ParseForm(); err != nil {
			s.writeSubscribePage(w, http.StatusBadRequest, subscribePage{Error: "The form could not be read. 양식을 읽을 수 없습니다."})
			return
		}
		in = SubscriptionInput{Channel: r.PostForm.Get("channel"), Target: r.PostForm.Get("target"), Components: r.PostForm["components"]}
	} else if err := api.Decode(r, &in); err != nil {
		api.WriteError(w, err)
		return
	}
	err := s.RequestSubscription(in, s.clientIP(r))
	if form {
		if err != nil {
			s.writeSubscribePage(w, api.Status(floodgate.ErrorCode(err)), subscribePage{Error: floodgate.ErrorMessage(err)})
			return
		}
		s.writeSubscribePage(w, http.StatusAccepted, subscribePage{Sent: true, Channel: in.Channel})
		return
	}
	if err != nil {
		if floodgate.ErrorCode(err) == floodgate.ERateLimited {
			api.WriteErrorRetry(w, err, 3600)
			return
		}
		api.WriteError(w, err)
		return
	}
	api.WriteJSON(w, http.StatusAccepted, map[string]string{"status": "pending"})
}

// The confirmation link shows a button rather than acting on GET, because
// mail scanners open links.
func (s *Service) handleConfirmForm(w http.ResponseWriter, r *http.Request) {
	s.writeSubscribePage(w, http.StatusOK, subscribePage{Token: r.PathValue("token")})
}

func (s *Service) handleConfirm(w http.ResponseWriter, r *http.Request) {
	err := s.ConfirmSubscription(r.PathValue("token"))
	if !strings.Contains(r.Header.Get("Accept"), "text/html") {
		if err != nil {
			api.WriteError(w, err)
			return
		}
		api.WriteJSON(w, http.StatusOK, map[string]string{"status": "confirmed"})
		return
	}
	if err != nil {
		s.writeSubscribePage(w, api.Status(floodgate.ErrorCode(err)), subscribePage{Error: floodgate.ErrorMessage(err)})
		return
	}
	s.writeSubscribePage(w, http.StatusOK, subscribePage{Confirmed: true})
}

// subscribePage is what subscribe.html shows.
type subscribePage struct {
	Sent, Confirmed bool
	Channel, Token  string
	Error           string
}

func (s *Service) writeSubscribePage(w http.ResponseWriter, code int, p subscribePage) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = subscribeTmpl.Execute(w, p)
}
