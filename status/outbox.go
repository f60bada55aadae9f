package status

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"strings"
	"time"
)

// Delivery is one message for one recipient, queued in the durable outbox
// until it is delivered or given up. Its id is the event id plus the
// recipient, so one event reaches one subscriber once; receivers that get a
// retry of a delivery they already took can drop it by Floodgate-Event-Id.
type Delivery struct {
	ID string `json:"id"`
	Route
	Secret         string          `json:"secret,omitempty"`
	Subject        string          `json:"subject,omitempty"`
	Text           string          `json:"text,omitempty"`
	Payload        json.RawMessage `json:"payload,omitempty"`
	UnsubscribeURL string          `json:"unsubscribe_url,omitempty"`
	Attempts       int             `json:"attempts"`
	NextAt         time.Time       `json:"next_at"`
	CreatedAt      time.Time       `json:"created_at"`
	LastError      string          `json:"last_error,omitempty"`
}

// Route is what a delivery carries and where it goes: the event, the
// subscriber (none for a one-off message) and the channel's address. The
// outbox, its admin view and the delivery log all name a delivery by it.
type Route struct {
	EventID      string `json:"event_id"`
	Kind         string `json:"kind"`
	SubscriberID string `json:"subscriber_id,omitempty"`
	Channel      string `json:"channel"`
	Target       string `json:"target"`
}

// masked is the route as operators see it: the address masked.
func (r Route) masked() Route {
	r.Target = maskTarget(r.Channel, r.Target)
	return r
}

// LogEntry is one delivery attempt in the delivery log.
type LogEntry struct {
	At         time.Time `json:"at"`
	DeliveryID string    `json:"delivery_id"`
	Route
	Attempt int       `json:"attempt"`
	OK      bool      `json:"ok"`
	Error   string    `json:"error,omitempty"`
	GaveUp  bool      `json:"gave_up,omitempty"`
	NextAt  time.Time `json:"next_at,omitzero"`
}

// maxInflight bounds concurrent sends, so a slow receiver cannot hold up
// every other one, and a burst of thousands of notices does not open
// thousands of connections.
const maxInflight = 8

// idleWake is how often the loop looks at signals and notices when nothing
// is due sooner.
const idleWake = time.Second

// enqueueLocked adds deliveries to the outbox within a batch.
func (s *Service) enqueueLocked(b *batch, ds []*Delivery) {
	for _, d := range ds {
		if _, dup := s.outbox[d.ID]; dup {
			continue
		}
		s.outbox[d.ID] = d
		b.put(bucketOutbox, d.ID, d)
	}
}

// dispatch starts the sends that are due and returns how long to sleep.
func (s *Service) dispatch() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	next := idleWake
	if !s.recordUnrecordedLocked() {
		return next // too many outcomes wait to be recorded: send nothing new
	}
	// One pass, stopping once the senders are busy: a finished send wakes
	// the loop again, so a notice to thousands of buyers costs a short scan
	// per delivery rather than a sort of the whole outbox.
	for _, d := range s.outbox {
		if len(s.inflight) >= maxInflight {
			break
		}
		if s.inflight[d.ID] {
			continue
		}
		if wait := d.NextAt.Sub(now); wait > 0 {
			if wait < next {
				next = wait
			}
			continue
		}
		ch, ok := s.channels[d.Channel]
		if !ok {
			continue
		}
		s.inflight[d.ID] = true
		cp := *d
		s.sends.Add(1)
		go s.send(ch, &cp)
	}
	return next
}

func (s *Service) send(ch Channel, d *Delivery) {
	defer s.sends.Done()
	ctx, cancel := context.WithTimeout(s.ctx, 30*time.Second)
	err := ch.Send(ctx, d)
	cancel()
	s.finish(d, err)
}

// finish records the outcome of one attempt: delivered and removed, given
// up, or scheduled again with exponential backoff.
func (s *Service) finish(sent *Delivery, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.inflight, sent.ID)
	d, ok := s.outbox[sent.ID]
	if !ok {
		return // unsubscribed meanwhile
	}
	if err != nil && s.ctx.Err() != nil {
		return // shutting down: the attempt does not count, the delivery stays queued
	}
	now := s.now()
	entry := LogEntry{At: now, DeliveryID: d.ID, Route: d.Route.masked(), Attempt: d.Attempts + 1, OK: err == nil}
	var b batch
	var perm errPermanent
	done, attempts := true, d.Attempts
	switch {
	case err == nil:
		delete(s.outbox, d.ID)
		b.del(bucketOutbox, d.ID)
		s.log.Info("delivered", "delivery", d.ID, "channel", d.Channel, "attempt", entry.Attempt)
	case errors.As(err, &perm) || d.Attempts+1 >= s.cfg.MaxAttempts:
		entry.Error, entry.GaveUp = err.Error(), true
		delete(s.outbox, d.ID)
		b.del(bucketOutbox, d.ID)
		s.log.Warn("delivery given up", "delivery", d.ID, "channel", d.Channel, "attempt", entry.Attempt, "err", err)
	default:
		done = false
		d.Attempts++
		d.LastError = err.Error()
		d.NextAt = now.Add(s.backoff(d.Attempts))
		entry.Error, entry.NextAt = err.Error(), d.NextAt
		b.put(bucketOutbox, d.ID, d)
		s.log.Info("delivery failed; will retry", "delivery", d.ID, "channel", d.Channel, "attempt", entry.Attempt, "next_at", d.NextAt, "err", err)
	}
	b.logs = append(b.logs, entry)
	if cerr := s.persist(&b); cerr != nil {
		// Kept in memory until it can be recorded, so that it is not
		// sent again meanwhile (unrecorded.go).
		s.noteUnrecordedLocked(d, done, attempts)
		s.log.Error("could not record a delivery attempt", "delivery", d.ID, "err", cerr)
	} else {
		delete(s.unrecorded, d.ID)
	}
	s.kick()
}

// backoff is RetryBase doubled per attempt, capped at RetryMax, with up to
// 20% jitter so that many retries do not arrive together.
func (s *Service) backoff(attempts int) time.Duration {
	d := s.cfg.RetryBase
	for i := 1; i < attempts && d < s.cfg.RetryMax; i++ {
		d *= 2
	}
	if d > s.cfg.RetryMax {
		d = s.cfg.RetryMax
	}
	return d + time.Duration(rand.Int64N(int64(d)/5+1))
}

// maskTarget keeps the delivery log useful without storing full phone
// numbers, addresses or secret URL paths.
func maskTarget(channel, target string) string {
	switch channel {
	case ChannelSMS:
		if len(target) > 4 {
			return strings.Repeat("*", len(target)-4) + target[len(target)-4:]
		}
	case ChannelEmail:
		if user, domain, ok := strings.Cut(target, "@"); ok && len(user) > 0 {
			return user[:1] + "***@" + domain
		}
	case ChannelSlack, ChannelWebhook:
		if i := strings.Index(target, "://"); i >= 0 {
			rest := target[i+3:]
			if j := strings.IndexByte(rest, '/'); j >= 0 {
				return target[:i+3] + rest[:j] + "/…"
			}
		}
	}
	return target
}

// OutboxLen is the number of deliveries waiting to be sent.
func (s *Service) OutboxLen() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.outbox)
}
