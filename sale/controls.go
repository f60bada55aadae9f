package sale

import (
	"strconv"
	"strings"

	"github.com/floodgate/floodgate"
)

// Live controls: an operator pauses and resumes admission, changes a drop's
// rate, hold time, end, name and stock while it sells, and every change an
// operator makes is written to the audit log in the same log entry as the
// change itself (KindAudited), so the log can never miss one.

// MaxAudit is how many audit entries the state keeps; the oldest go first.
const MaxAudit = 100_000

// MaxReasonLength bounds a pause reason, which every waiting visitor sees.
const MaxReasonLength = 200

// Operator is who made a change and from where. Actor is what the HTTP layer
// resolved the caller's credential to (one function there); Tenant is the
// tenant the change belongs to ("" for the root admin).
type Operator struct {
	Actor  string `json:"actor"`
	Tenant string `json:"tenant,omitempty"`
	From   string `json:"from,omitempty"` // client address
}

// tooLong reports whether one of op's fields is longer than MaxKeyLength.
func (op *Operator) tooLong() bool {
	return len(op.Actor) > MaxKeyLength || len(op.Tenant) > MaxKeyLength || len(op.From) > MaxKeyLength
}

// AuditEntry is one change an operator made. At is unix milliseconds.
type AuditEntry struct {
	Seq uint64 `json:"seq"`
	At  int64  `json:"at"`
	Operator
	Action string `json:"action"`
	Target string `json:"target"`
	Detail string `json:"detail,omitempty"`
}

// DropPatch is a change of a live drop; nil fields stay as they are.
type DropPatch struct {
	Name           *string `json:"name,omitempty"`
	Stock          *int64  `json:"stock,omitempty"`
	AdmitPerSecond *int64  `json:"admit_per_second,omitempty"`
	HoldSeconds    *int64  `json:"hold_seconds,omitempty"` // for holds taken from now on
	EndsAt         *int64  `json:"ends_at,omitempty"`      // unix ms
}

// Empty reports whether the patch changes nothing.
func (p *DropPatch) Empty() bool {
	return p == nil || p.Name == nil && p.Stock == nil && p.AdmitPerSecond == nil && p.HoldSeconds == nil && p.EndsAt == nil
}

// action names the audit action of a command kind.
func action(k Kind) string {
	switch k {
	case KindCreateDrop, KindCreateDropV2, KindCreateTenantDrop:
		return "drop.create"
	case KindCloseDrop:
		return "drop.close"
	case KindPauseDrop:
		return "drop.pause"
	case KindResumeDrop:
		return "drop.resume"
	case KindUpdateDrop:
		return "drop.update"
	case KindOrderPaid:
		return "order.paid"
	case KindOrderCancel:
		return "order.cancel"
	case KindAddSink:
		return "sink.add"
	case KindRemoveSink:
		return "sink.remove"
	case KindRetrySink:
		return "sink.retry"
	}
	return k.String()
}

// audited applies the inner command of c and, when it changed something,
// appends an audit entry for it.
func (s *State) audited(c *Command) Result {
	in := c.Inner
	if in == nil || in.Kind == KindAudited || in.Kind == KindAuditNote || c.Op == nil {
		return refuse(floodgate.EInvalid, "An audited command needs an operator and an inner command.")
	}
	if c.Op.tooLong() {
		return refuse(floodgate.EInvalid, "The operator's actor, tenant and address are at most %d bytes.", MaxKeyLength)
	}
	inner := *in
	inner.Now = c.Now
	wasClosed := false
	if d, ok := s.Drops[inner.Drop]; ok {
		wasClosed = d.Closed
	}
	res := s.apply(&inner)
	if res.Err != nil {
		return res
	}
	changed := true
	switch inner.Kind {
	case KindCreateDrop, KindCreateDropV2, KindCreateTenantDrop, KindPauseDrop, KindResumeDrop, KindUpdateDrop:
		changed = res.Created
	case KindCloseDrop:
		changed = !wasClosed
	case KindOrderPaid, KindOrderCancel:
		changed = res.Created // paying or cancelling again changes nothing
	}
	if changed {
		target := inner.Drop
		if target == "" {
			target = inner.HoldID
		}
		if target == "" {
			target = inner.OrderID
		}
		if target == "" {
			target = inner.SinkID
		}
		if target == "" && inner.Kind == KindAddSink && res.Sink != nil {
			target = res.Sink.ID
		}
		s.appendAudit(c.Now, c.Op, action(inner.Kind), target, res.Detail)
	}
	return res
}

// auditNote records a change made outside the sale state (an incident, a
// maintenance window) in the same audit log.
func (s *State) auditNote(c *Command) Result {
	if c.Op == nil || c.Op.tooLong() || c.Action == "" || len(c.Action) > 64 || len(c.Target) > MaxKeyLength || len(c.Detail) > 1000 {
		return refuse(floodgate.EInvalid, "An audit note needs an operator, an action of at most 64 bytes, a target and a detail of at most 1000 bytes.")
	}
	s.appendAudit(c.Now, c.Op, c.Action, c.Target, c.Detail)
	return Result{}
}

func (s *State) appendAudit(now int64, op *Operator, action, target, detail string) {
	s.NextAudit++
	s.Audit = append(s.Audit, AuditEntry{
		Seq: s.NextAudit, At: now, Operator: *op, Action: action, Target: target, Detail: detail,
	})
	if len(s.Audit) > MaxAudit {
		s.Audit = append(s.Audit[:0:0], s.Audit[len(s.Audit)-MaxAudit:]...)
	}
}

// changeableDrop is the command's drop when it is not closed; a closed one is
// refused: it cannot be <verb> or changed.
func (s *State) changeableDrop(c *Command, verb string) (*Drop, Result) {
	d, refused := s.commandDrop(c)
	if d != nil && d.Closed {
		return nil, refuse(floodgate.EConflict, "The drop is closed; a closed drop cannot be %s or changed.", verb)
	}
	return d, refused
}

// pauseDrop stops admission; waiting visitors keep their places. Pausing a
// paused drop changes nothing (Created false), but a new reason replaces
// the old one.
func (s *State) pauseDrop(c *Command) Result {
	d, refused := s.changeableDrop(c, "paused")
	if d == nil {
		return refused
	}
	if len(c.Reason) > MaxReasonLength {
		return refuse(floodgate.EInvalid, "\"reason\" is at most %d bytes.", MaxReasonLength)
	}
	changed := !d.Paused || d.PauseReason != c.Reason
	d.Paused, d.PauseReason = true, c.Reason
	detail := ""
	if c.Reason != "" {
		detail = "reason: " + c.Reason
	}
	return Result{Created: changed, Drop: s.publicDrop(d, c.Now), Detail: detail}
}

// resumeDrop lets admission move again, at the drop's rate and without a
// burst for the time it was paused.
func (s *State) resumeDrop(c *Command) Result {
	d, refused := s.changeableDrop(c, "resumed")
	if d == nil {
		return refused
	}
	changed := d.Paused
	d.Paused, d.PauseReason = false, ""
	return Result{Created: changed, Drop: s.publicDrop(d, c.Now)}
}

// Committed is the stock a drop can no longer take back: held, awaiting
// payment or sold.
func (d *Drop) Committed() int64 { return d.Spec.Stock - d.Available }

// updateDrop changes a live drop. Every field is checked before any is
// applied, so a refused patch changes nothing.
func (s *State) updateDrop(c *Command) Result {
	d, refused := s.commandDrop(c)
	if d == nil {
		return refused
	}
	p := c.Patch
	if p.Empty() {
		return refuse(floodgate.EInvalid, "Nothing to change: send one or more of \"name\", \"stock\", \"admit_per_second\", \"hold_seconds\", \"ends_at\".")
	}
	if d.Closed {
		return refuse(floodgate.EConflict, "The drop is closed; a closed drop cannot be changed.")
	}
	next := d.Spec
	var changes []string
	if p.Name != nil {
		if *p.Name == "" || len(*p.Name) > 200 {
			return refuse(floodgate.EInvalid, "\"name\" must be 1 to 200 bytes long.")
		}
		changes = change(changes, "name", &next.Name, *p.Name, strconv.Quote)
	}
	if p.AdmitPerSecond != nil {
		if v := *p.AdmitPerSecond; v < 1 || v > MaxAdmitPerSecond {
			return refuse(floodgate.EInvalid, "\"admit_per_second\" must be between 1 and %d; to stop admission, pause the drop.", MaxAdmitPerSecond)
		}
		if err := s.CheckAdmitRate(d.Tenant, *p.AdmitPerSecond); err != nil {
			return Result{Err: err}
		}
		changes = change(changes, "admit_per_second", &next.AdmitPerSecond, *p.AdmitPerSecond, itoa)
	}
	if p.HoldSeconds != nil {
		if v := *p.HoldSeconds; v < 10 || v > MaxHoldSeconds {
			return refuse(floodgate.EInvalid, "\"hold_seconds\" must be between 10 and %d.", MaxHoldSeconds)
		}
		changes = change(changes, "hold_seconds", &next.HoldSeconds, *p.HoldSeconds, itoa)
	}
	if p.EndsAt != nil {
		v := *p.EndsAt
		if v <= c.Now {
			return refuse(floodgate.EInvalid, "\"ends_at\" is in the past; to end the sale now, close the drop.")
		}
		if v > 253402300799000 {
			return refuse(floodgate.EInvalid, "\"ends_at\" must be an RFC 3339 time before the year 10000.")
		}
		changes = change(changes, "ends_at", &next.EndsAt, v, timeOrNone)
	}
	if p.Stock != nil {
		v := *p.Stock
		committed := d.Committed()
		switch {
		case v < committed:
			return refuse(floodgate.EInvalid, "\"stock\" cannot go below %d: that many units are held, awaiting payment or sold.", committed)
		case v < 1 || v > MaxStock:
			return refuse(floodgate.EInvalid, "\"stock\" must be between 1 and %d.", MaxStock)
		case v < next.PerCustomerLimit:
			return refuse(floodgate.EInvalid, "\"stock\" cannot go below the per-customer limit (%d).", next.PerCustomerLimit)
		case len(next.Vouchers) > 0 && v > next.Stock && v > int64(len(next.Vouchers)):
			return refuse(floodgate.EInvalid, "This drop gives every unit its own voucher and has %d codes; \"stock\" cannot rise above that.", len(next.Vouchers))
		}
		changes = change(changes, "stock", &next.Stock, v, itoa)
	}
	if len(changes) == 0 {
		return Result{Drop: s.publicDrop(d, c.Now)}
	}
	d.Available += next.Stock - d.Spec.Stock
	d.Spec = next
	if d.Sold < d.Spec.Stock {
		d.Stats.SoldOutAt = 0 // a restock reopens the sale
	}
	return Result{Created: true, Drop: s.publicDrop(d, c.Now), Detail: strings.Join(changes, ", ")}
}

// change sets *field to v and, when that changes it, notes "name old→new"
// in changes, both values as show writes them.
func change[T comparable](changes []string, name string, field *T, v T, show func(T) string) []string {
	if v != *field {
		changes = append(changes, name+" "+show(*field)+"→"+show(v))
	}
	*field = v
	return changes
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

func timeOrNone(ms int64) string {
	if ms == 0 {
		return "none"
	}
	return Time(ms).Format("2006-01-02T15:04:05Z07:00")
}
