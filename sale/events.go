package sale

import (
	"strconv"
	"strings"

	"github.com/floodgate/floodgate"
)

// Limits on sinks.
const (
	MaxSinks       = 32
	MaxSinkURL     = 2048
	MaxSinkSecret  = 256
	MaxSinkError   = 500
	MaxSinkTable   = 63
	DefaultSinkTbl = "floodgate_orders"
)

// Sink kinds.
const (
	SinkWebhook  = "webhook"
	SinkPostgres = "postgres"
)

// Event is one entry of the order feed, kept in the replicated state until
// every sink has it and the retention window has passed. Seq grows by one per
// event across the cluster, so the feed is the same on every replica: the
// transactional outbox lives in the log itself.
type Event struct {
	Seq    uint64 `json:"seq"`
	Type   string `json:"type"`
	At     int64  `json:"at"`
	Order  Order  `json:"order"`
	Tenant string `json:"tenant,omitempty"`
}

// SinkSpec is what an admin asks for when adding a sink.
type SinkSpec struct {
	Kind   string `json:"kind"`
	URL    string `json:"url,omitempty"`    // webhook
	Secret string `json:"secret,omitempty"` // webhook
	DSN    string `json:"dsn,omitempty"`    // postgres
	Table  string `json:"table,omitempty"`  // postgres
	Tenant string `json:"tenant,omitempty"`
}

// Sink is the replicated record of one sink: where it delivers, and how far
// it got. The leader delivers; DeliveredSeq moves through the log, so a new
// leader resumes where the old one stopped.
type Sink struct {
	ID           string   `json:"id"`
	Spec         SinkSpec `json:"spec"`
	CreatedAt    int64    `json:"created_at"`
	DeliveredSeq uint64   `json:"delivered_seq"`
	LastError    string   `json:"last_error,omitempty"`
	LastErrorAt  int64    `json:"last_error_at,omitempty"`
	DeliveredAt  int64    `json:"delivered_at,omitempty"`
	Failures     int64    `json:"failures,omitempty"` // in a row
	Dead         bool     `json:"dead,omitempty"`     // stopped until an operator retries it
}

// tenantOf is the tenant an order belongs to (its drop's); its events are
// scoped by it.
func (s *State) tenantOf(o *Order) string {
	if d := s.drop(o.Drop); d != nil {
		return d.Tenant
	}
	return ""
}

// emit appends an event for order i, o, which has just changed (i < 0:
// its index is found).
func (s *State) emit(typ string, o *Order, i int32, now int64) {
	if i < 0 {
		i = int32(s.Orders.find(o.ID))
	}
	s.EventSeq++
	o.Seq = s.EventSeq
	s.Events.add(&s.Orders, s.EventSeq, typ, now, i, o, s.tenantOf(o))
}

// EventsAfter returns up to limit retained events with seq > after whose
// tenant passes keep (nil keeps every event). The events are shared with the
// state: callers copy what they keep beyond the read lock.
func (s *State) EventsAfter(after uint64, limit int, keep func(tenant string) bool) []Event {
	first := s.Events.First()
	if first == nil || limit <= 0 {
		return nil
	}
	// Seqs have no gaps (checkEvents): the event after after is at
	// after+1-first.Seq.
	i := 0
	if after >= first.Seq {
		i = int(min(after-first.Seq+1, uint64(s.Events.Len())))
	}
	var out []Event
	for e := range s.Events.from(i) {
		if keep == nil || keep(e.Tenant) {
			out = append(out, e)
			if len(out) == limit {
				break
			}
		}
	}
	return out
}

// ValidateSinkSpec checks the parts of a sink spec the state machine can:
// the kind and the sizes. The HTTP layer checks URLs and DSNs further.
func ValidateSinkSpec(sp *SinkSpec) *floodgate.Error {
	bad := func(format string, args ...any) *floodgate.Error {
		return floodgate.Errorf(floodgate.EInvalid, format, args...)
	}
	switch sp.Kind {
	case SinkWebhook:
		if sp.URL == "" || len(sp.URL) > MaxSinkURL {
			return bad("A webhook sink needs \"url\" (at most %d bytes).", MaxSinkURL)
		}
		if sp.Secret == "" || len(sp.Secret) > MaxSinkSecret {
			return bad("A webhook sink needs \"secret\" (1 to %d bytes) to sign its deliveries.", MaxSinkSecret)
		}
		if sp.DSN != "" || sp.Table != "" {
			return bad("\"dsn\" and \"table\" belong to postgres sinks.")
		}
	case SinkPostgres:
		if sp.DSN == "" || len(sp.DSN) > MaxSinkURL {
			return bad("A postgres sink needs \"dsn\" (at most %d bytes).", MaxSinkURL)
		}
		if !validTable(sp.Table) {
			return bad("\"table\" must be 1 to %d characters of a-z, 0-9 and '_', starting with a letter.", MaxSinkTable)
		}
		if sp.URL != "" || sp.Secret != "" {
			return bad("\"url\" and \"secret\" belong to webhook sinks.")
		}
	default:
		return bad("\"kind\" must be \"webhook\" or \"postgres\".")
	}
	if len(sp.Tenant) > MaxKeyLength {
		return bad("The tenant id is too long.")
	}
	return nil
}

func validTable(t string) bool {
	if t == "" || len(t) > MaxSinkTable || t[0] < 'a' || t[0] > 'z' {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

func (s *State) addSink(c *Command) Result {
	if c.Sink == nil {
		return refuse(floodgate.EInvalid, "A sink needs a spec.")
	}
	if err := ValidateSinkSpec(c.Sink); err != nil {
		return Result{Err: err}
	}
	if len(s.Sinks) >= MaxSinks {
		return refuse(floodgate.EConflict, "At most %d sinks; delete one first.", MaxSinks)
	}
	s.NextSink++
	sk := &Sink{ID: "sk_" + strconv.FormatUint(s.NextSink, 36), Spec: *c.Sink, CreatedAt: c.Now}
	if s.Sinks == nil {
		s.Sinks = map[string]*Sink{}
	}
	s.Sinks[sk.ID] = sk
	return Result{Created: true, Sink: sinkCopy(sk)}
}

func (s *State) removeSink(c *Command) Result {
	sk, ok := s.Sinks[c.SinkID]
	if !ok {
		return refuse(floodgate.ENotFound, "There is no sink %q.", c.SinkID)
	}
	delete(s.Sinks, c.SinkID)
	return Result{Sink: sinkCopy(sk)}
}

// sinkProgress records a delivery attempt: the cursor only moves forward and
// never beyond the last event; an error counts a failure in a row, and Dead
// stops the sink until an operator retries it.
func (s *State) sinkProgress(c *Command) Result {
	sk, ok := s.Sinks[c.SinkID]
	if !ok {
		return refuse(floodgate.ENotFound, "There is no sink %q.", c.SinkID)
	}
	if d := min(c.Delivered, s.EventSeq); d > sk.DeliveredSeq {
		sk.DeliveredSeq = d
		sk.DeliveredAt = c.Now
	}
	if c.SinkError == "" {
		sk.Failures = 0
	} else {
		msg := c.SinkError
		if len(msg) > MaxSinkError {
			msg = strings.ToValidUTF8(msg[:MaxSinkError], "")
		}
		sk.LastError = msg
		sk.LastErrorAt = c.Now
		sk.Failures++
		if c.Dead {
			sk.Dead = true
		}
	}
	return Result{Sink: sinkCopy(sk)}
}

func (s *State) retrySink(c *Command) Result {
	sk, ok := s.Sinks[c.SinkID]
	if !ok {
		return refuse(floodgate.ENotFound, "There is no sink %q.", c.SinkID)
	}
	sk.Dead = false
	sk.Failures = 0
	return Result{Sink: sinkCopy(sk)}
}

// pruneEvents drops the oldest events that every sink has and that are
// older than the retention window.
func (s *State) pruneEvents(c *Command) Result {
	if c.RetentionMs < 0 {
		return refuse(floodgate.EInvalid, "The retention must not be negative.")
	}
	upTo := s.EventSeq
	for _, sk := range s.Sinks {
		upTo = min(upTo, sk.DeliveredSeq)
	}
	n := 0
	for e := range s.Events.entries() {
		if e.Seq > upTo || e.At > c.Now-c.RetentionMs {
			break
		}
		n++
	}
	if n > 0 {
		s.Events = s.Events.drop(n) // a new outer slice: a copy (Clone) keeps its own
	}
	return Result{}
}

// checkEvents verifies the order feed: seqs without a gap up to EventSeq,
// and sink cursors not beyond it.
func (s *State) checkEvents() error {
	n := s.Events.Len()
	for i, e := range s.Events.All() {
		want := s.EventSeq - uint64(n) + uint64(i) + 1
		if e.Seq != want {
			return errorf("event %d has seq %d, want %d (last %d)", i, e.Seq, want, s.EventSeq)
		}
		if o := s.Orders.Get(e.Order.ID); o == nil || o.Seq < e.Seq {
			return errorf("event %d is about order %q, which is missing or older", e.Seq, e.Order.ID)
		}
	}
	for id, sk := range s.Sinks {
		if sk.DeliveredSeq > s.EventSeq {
			return errorf("sink %s delivered up to %d, beyond the last event %d", id, sk.DeliveredSeq, s.EventSeq)
		}
	}
	return nil
}

// sinkCopy is a copy of sk for a Result, which the state does not change
// afterwards.
func sinkCopy(sk *Sink) *Sink {
	v := *sk
	return &v
}
