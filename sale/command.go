package sale

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf8"
)

// Kind tells which command a Command is.
type Kind uint8

// Command kinds. The numbers are part of the log format: never reuse one.
const (
	KindCreateDrop   Kind = 1
	KindReserveBlock Kind = 2
	KindHold         Kind = 3
	KindRelease      Kind = 4
	KindOrder        Kind = 5
	KindTick         Kind = 6
	KindCloseDrop    Kind = 7
	KindInitSecret   Kind = 8
	KindSetNode      Kind = 9

	// Orders leave Floodgate: payment and the order feed's sinks (20-29).
	KindOrderPaid    Kind = 20
	KindOrderCancel  Kind = 21
	KindAddSink      Kind = 22
	KindRemoveSink   Kind = 23
	KindSinkProgress Kind = 24
	KindRetrySink    Kind = 25
	KindPruneEvents  Kind = 26
	// Fairness, draws and presale (fairness.go).
	KindCreateDropV2   Kind = 60 // CreateDrop with the committed shuffle seed and the draw and presale fields
	KindEnter          Kind = 61 // a customer enters a draw
	KindUsePresaleCode Kind = 62 // a one-time presale code is spent
	KindDrawNotified   Kind = 63 // entrants were told a draw result (by email)

	// Tenants and their keys (sale/tenant.go).
	KindCreateTenant     Kind = 40
	KindCreateKey        Kind = 41
	KindRevokeKey        Kind = 42
	KindKeysUsed         Kind = 43
	KindCreateTenantDrop Kind = 44
	KindUpdateTenant     Kind = 45
	// Live controls and the audit log (controls.go): 30-39.
	KindPauseDrop  Kind = 30
	KindResumeDrop Kind = 31
	KindUpdateDrop Kind = 32
	KindAudited    Kind = 33 // an operator's command with who made it
	KindAuditNote  Kind = 34 // an operator's change outside the sale state
)

func (k Kind) String() string {
	switch k {
	case KindCreateDrop:
		return "create_drop"
	case KindReserveBlock:
		return "reserve_block"
	case KindHold:
		return "hold"
	case KindRelease:
		return "release"
	case KindOrder:
		return "order"
	case KindTick:
		return "tick"
	case KindCloseDrop:
		return "close_drop"
	case KindInitSecret:
		return "init_secret"
	case KindSetNode:
		return "set_node"
	case KindStatus:
		return "status"
	case KindOrderPaid:
		return "order_paid"
	case KindOrderCancel:
		return "order_cancel"
	case KindAddSink:
		return "add_sink"
	case KindRemoveSink:
		return "remove_sink"
	case KindSinkProgress:
		return "sink_progress"
	case KindRetrySink:
		return "retry_sink"
	case KindPruneEvents:
		return "prune_events"
	case KindCreateDropV2:
		return "create_drop_v2"
	case KindEnter:
		return "enter"
	case KindUsePresaleCode:
		return "use_presale_code"
	case KindDrawNotified:
		return "draw_notified"
	case KindCreateTenant:
		return "create_tenant"
	case KindCreateKey:
		return "create_key"
	case KindRevokeKey:
		return "revoke_key"
	case KindKeysUsed:
		return "keys_used"
	case KindCreateTenantDrop:
		return "create_tenant_drop"
	case KindUpdateTenant:
		return "update_tenant"
	case KindPauseDrop:
		return "pause_drop"
	case KindResumeDrop:
		return "resume_drop"
	case KindUpdateDrop:
		return "update_drop"
	case KindAudited:
		return "audited"
	case KindAuditNote:
		return "audit_note"
	case KindRevokeSession:
		return "revoke_session"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// DropSpec is what an admin asks for when creating a drop.
type DropSpec struct {
	ID               string   `json:"id"`
	Name             string   `json:"name"`
	Price            int64    `json:"price"`
	Currency         string   `json:"currency"`
	Stock            int64    `json:"stock"`
	PerCustomerLimit int64    `json:"per_customer_limit"`
	StartsAt         int64    `json:"starts_at"` // unix milliseconds
	HoldSeconds      int64    `json:"hold_seconds"`
	AdmitPerSecond   int64    `json:"admit_per_second"`
	AdmitWindow      int64    `json:"admit_window_seconds"`
	Vouchers         []string `json:"vouchers,omitempty"`
	// PaymentSeconds > 0 gives every order a payment deadline (payment.go);
	// PaymentURL is the template of the buyer's "pay now" link.
	PaymentSeconds int64  `json:"payment_seconds,omitempty"`
	PaymentURL     string `json:"payment_url,omitempty"`
	// ChallengeDifficulty is the join challenge's difficulty in bits:
	// ChallengeAuto (-1) sets it from join pressure, 0 turns it off, 1 to
	// MaxChallengeDifficulty fixes it (see queue/challenge.go).
	ChallengeDifficulty int64 `json:"challenge_difficulty,omitempty"`
	// Fingerprint identifies the request as the admin sent it, so that the
	// same request again is recognised even when defaults (starts_at = now)
	// would differ.
	Fingerprint string `json:"fingerprint"`

	FairSpec // draw and presale (fairness.go)
	// EndsAt (unix ms, 0: none) closes the drop at the first tick after it;
	// set by a live update.
	EndsAt int64 `json:"ends_at,omitempty"`
}

// Issued is the leader's count of queue positions handed out for one drop,
// reported in every Tick so that admission never runs ahead of real visitors.
type Issued struct {
	Drop  string
	Early int64 // early arrivals issued (indexes 0..Early-1); -1: unknown to this leader
	Late  int64 // arrivals after the start issued (sequence 0..Late-1)
}

// Command is one input of the state machine. Which fields matter depends on
// Kind; Now (unix milliseconds) is stamped by the leader on every command.
type Command struct {
	Kind Kind
	Now  int64

	Drop string    // all but Tick and InitSecret
	Spec *DropSpec // CreateDrop
	// ShuffleSeed is the secret seed committed when a drop is created
	// (CreateDropV2); the leader draws it at random.
	ShuffleSeed []byte

	Early bool  // ReserveBlock, Hold: which sequence the ticket is from
	Size  int64 // ReserveBlock
	// Fresh marks a leader's first block (late or early) in its term: the
	// positions an earlier leader reserved but never reported as issued are
	// then a gap that admission skips (early ones: sale/earlygaps.go).
	Fresh bool // ReserveBlock

	Visitor  string // Hold, Release, Order: the ticket's visitor id
	Seq      int64  // Hold: the ticket's sequence number
	Quantity int64  // Hold

	HoldID   string // Release, Order
	Customer string // Order, Enter
	Code     string // UsePresaleCode; DrawNotified: the entry state told
	// Customers are the entrants a DrawNotified command is about.
	Customers []string
	IdemKey   string // Order

	Issued     []Issued // Tick
	Seed       uint64   // Tick: random seed for drops that start in this tick
	Paused     bool     // Tick: the identity provider is down; hold clocks stop
	MaxPauseMs int64    // Tick: how long one hold may be paused in total

	Secret []byte // InitSecret

	NodeID   string // SetNode: a cluster member and where its HTTP API is
	HTTPAddr string // SetNode ("" removes the node)

	StatusOps   []StatusOp // Status: records of the status page (sale/status.go)
	OrderID     string     // OrderPaid, OrderCancel
	Sink        *SinkSpec  // AddSink
	SinkID      string     // RemoveSink, SinkProgress, RetrySink
	Delivered   uint64     // SinkProgress: every event up to this seq reached the sink
	SinkError   string     // SinkProgress: why the last attempt failed ("" for success)
	Dead        bool       // SinkProgress: stop the sink until an operator retries it
	RetentionMs int64      // PruneEvents

	Tenant     string      // CreateTenantDrop: the tenant the drop belongs to
	TenantSpec *TenantSpec // CreateTenant
	Key        *APIKey     // CreateKey; RevokeKey (ID, and Tenant when a tenant revokes)
	Used       []KeyUse    // KeysUsed
	Reason     string      // PauseDrop: shown to waiting visitors
	Patch      *DropPatch  // UpdateDrop
	Op         *Operator   // Audited, AuditNote: who made the change
	Inner      *Command    // Audited: the change
	Action     string      // AuditNote
	Target     string      // AuditNote
	Detail     string      // AuditNote

	SessionID string // RevokeSession
	Until     int64  // RevokeSession: when the session would expire (unix ms)
}

// Encoding: a batch is uvarint(count) then each command as uvarint(len) and
// its bytes. A command is its kind byte, varint Now, then the fields of that
// kind in a fixed order. Compact and allocation-light, because every command
// of a rush passes through it twice (leader and log replay).

// AppendCommand appends the encoding of c to buf.
func AppendCommand(buf []byte, c *Command) []byte {
	buf = append(buf, byte(c.Kind))
	buf = binary.AppendVarint(buf, c.Now)
	switch c.Kind {
	case KindCreateDrop, KindCreateDropV2, KindCreateTenantDrop:
		if c.Kind == KindCreateTenantDrop {
			buf = appendString(buf, c.Tenant)
		}
		buf = appendString(buf, c.Drop)
		s := c.Spec
		if s == nil {
			s = &DropSpec{}
		}
		buf = appendFields(buf, s.fields())
		if c.Kind == KindCreateDropV2 || c.Kind == KindCreateTenantDrop {
			buf = appendFair(buf, c)
		}
	case KindReserveBlock:
		buf = appendString(buf, c.Drop)
		buf = appendBool(buf, c.Early)
		buf = binary.AppendVarint(buf, c.Size)
		buf = appendBool(buf, c.Fresh)
	case KindHold:
		buf = appendString(buf, c.Drop)
		buf = appendString(buf, c.Visitor)
		buf = appendBool(buf, c.Early)
		buf = binary.AppendVarint(buf, c.Seq)
		buf = binary.AppendVarint(buf, c.Quantity)
	case KindRelease:
		buf = appendString(buf, c.HoldID)
		buf = appendString(buf, c.Visitor)
	case KindOrder:
		buf = appendString(buf, c.HoldID)
		buf = appendString(buf, c.Visitor)
		buf = appendString(buf, c.Customer)
		buf = appendString(buf, c.IdemKey)
	case KindTick:
		buf = binary.AppendUvarint(buf, c.Seed)
		buf = appendBool(buf, c.Paused)
		buf = binary.AppendVarint(buf, c.MaxPauseMs)
		buf = binary.AppendUvarint(buf, uint64(len(c.Issued)))
		for _, is := range c.Issued {
			buf = appendString(buf, is.Drop)
			buf = binary.AppendVarint(buf, is.Early)
			buf = binary.AppendVarint(buf, is.Late)
		}
	case KindCloseDrop:
		buf = appendString(buf, c.Drop)
	case KindInitSecret:
		buf = appendString(buf, string(c.Secret))
	case KindSetNode:
		buf = appendString(buf, c.NodeID)
		buf = appendString(buf, c.HTTPAddr)
	case KindStatus:
		buf = appendStatusOps(buf, c.StatusOps)
	case KindOrderPaid, KindOrderCancel:
		buf = appendString(buf, c.OrderID)
	case KindAddSink:
		sp := c.Sink
		if sp == nil {
			sp = &SinkSpec{}
		}
		buf = appendString(buf, sp.Kind)
		buf = appendString(buf, sp.URL)
		buf = appendString(buf, sp.Secret)
		buf = appendString(buf, sp.DSN)
		buf = appendString(buf, sp.Table)
		buf = appendString(buf, sp.Tenant)
	case KindRemoveSink, KindRetrySink:
		buf = appendString(buf, c.SinkID)
	case KindSinkProgress:
		buf = appendString(buf, c.SinkID)
		buf = binary.AppendUvarint(buf, c.Delivered)
		buf = appendString(buf, c.SinkError)
		buf = appendBool(buf, c.Dead)
	case KindPruneEvents:
		buf = binary.AppendVarint(buf, c.RetentionMs)
	case KindEnter:
		buf = appendString(buf, c.Drop)
		buf = appendString(buf, c.Customer)
	case KindUsePresaleCode:
		buf = appendString(buf, c.Drop)
		buf = appendString(buf, c.Code)
	case KindDrawNotified:
		buf = appendString(buf, c.Drop)
		buf = appendString(buf, c.Code)
		buf = binary.AppendUvarint(buf, uint64(len(c.Customers)))
		for _, v := range c.Customers {
			buf = appendString(buf, v)
		}
	case KindCreateTenant, KindCreateKey, KindRevokeKey, KindKeysUsed, KindUpdateTenant:
		buf = appendTenantCommand(buf, c)
	case KindPauseDrop:
		buf = appendString(buf, c.Drop)
		buf = appendString(buf, c.Reason)
	case KindResumeDrop:
		buf = appendString(buf, c.Drop)
	case KindUpdateDrop:
		buf = appendString(buf, c.Drop)
		buf = appendPatch(buf, c.Patch)
	case KindAudited:
		buf = appendOperator(buf, c.Op)
		inner := c.Inner
		if inner == nil {
			inner = &Command{}
		}
		buf = appendString(buf, string(AppendCommand(nil, inner)))
	case KindAuditNote:
		buf = appendOperator(buf, c.Op)
		buf = appendString(buf, c.Action)
		buf = appendString(buf, c.Target)
		buf = appendString(buf, c.Detail)
	case KindRevokeSession:
		buf = appendString(buf, c.SessionID)
		buf = binary.AppendVarint(buf, c.Until)
	}
	return buf
}

// ErrMalformed is returned for bytes that are not a valid encoding.
var ErrMalformed = errors.New("sale: malformed command encoding")

// DecodeCommand decodes one command from buf. The text of a hold, release
// or order is read in place (shareText): buf must not change while the
// command is in use.
func DecodeCommand(buf []byte) (c Command, err error) {
	_, err = decodeOver(buf, &c, false)
	return c, err
}

// decodeOver is DecodeCommand into *c, which it overwrites whole. If
// buyer, c holds a command decodeBuyer took: decodeBuyer sets every field
// such a command can have, so the 584 bytes of c are cleared only when it
// held another kind. It reports whether decodeBuyer took buf.
func decodeOver(buf []byte, c *Command, buyer bool) (bool, error) {
	if !buyer {
		*c = Command{}
	}
	if decodeBuyer(buf, c) { // a hold or an order, the bulk of a rush
		return true, nil
	}
	var err error
	*c, err = decodeCommand(buf)
	return false, err
}

// decodeCommand is DecodeCommand for every kind.
func decodeCommand(buf []byte) (c Command, err error) {
	d := decoder{buf: buf} // decoded into the result itself, not copied there
	c.Kind = Kind(d.byte())
	c.Now = d.varint()
	d.shareText(buf, c.Kind)
	switch c.Kind {
	case KindCreateDrop, KindCreateDropV2, KindCreateTenantDrop:
		if c.Kind == KindCreateTenantDrop {
			c.Tenant = d.string()
		}
		c.Drop = d.string()
		s := &DropSpec{}
		d.fields(s.fields())
		c.Spec = s
		if c.Kind == KindCreateDropV2 || c.Kind == KindCreateTenantDrop {
			d.fair(&c)
		}
	case KindReserveBlock:
		c.Drop = d.string()
		c.Early = d.bool()
		c.Size = d.varint()
		c.Fresh = d.bool()
	case KindHold:
		c.Drop = d.string()
		c.Visitor = d.string()
		c.Early = d.bool()
		c.Seq = d.varint()
		c.Quantity = d.varint()
	case KindRelease:
		c.HoldID = d.string()
		c.Visitor = d.string()
	case KindOrder:
		c.HoldID = d.string()
		c.Visitor = d.string()
		c.Customer = d.string()
		c.IdemKey = d.string()
	case KindTick:
		c.Seed = d.uvarint()
		c.Paused = d.bool()
		c.MaxPauseMs = d.varint()
		n := d.count()
		for i := 0; i < n && d.err == nil; i++ {
			c.Issued = append(c.Issued, Issued{Drop: d.string(), Early: d.varint(), Late: d.varint()})
		}
	case KindCloseDrop:
		c.Drop = d.string()
	case KindInitSecret:
		if s := d.raw(); s != "" {
			c.Secret = []byte(s)
		}
	case KindSetNode:
		c.NodeID = d.string()
		c.HTTPAddr = d.string()
	case KindStatus:
		c.StatusOps = d.statusOps()
	case KindOrderPaid, KindOrderCancel:
		c.OrderID = d.string()
	case KindAddSink:
		c.Sink = &SinkSpec{Kind: d.string(), URL: d.string(), Secret: d.string(), DSN: d.string(), Table: d.string(), Tenant: d.string()}
	case KindRemoveSink, KindRetrySink:
		c.SinkID = d.string()
	case KindSinkProgress:
		c.SinkID = d.string()
		c.Delivered = d.uvarint()
		c.SinkError = d.string()
		c.Dead = d.bool()
	case KindPruneEvents:
		c.RetentionMs = d.varint()
	case KindEnter:
		c.Drop = d.string()
		c.Customer = d.string()
	case KindUsePresaleCode:
		c.Drop = d.string()
		c.Code = d.string()
	case KindDrawNotified:
		c.Drop = d.string()
		c.Code = d.string()
		n := d.count()
		for i := 0; i < n && d.err == nil; i++ {
			c.Customers = append(c.Customers, d.string())
		}
	case KindCreateTenant, KindCreateKey, KindRevokeKey, KindKeysUsed, KindUpdateTenant:
		decodeTenantCommand(&d, &c)
	case KindPauseDrop:
		c.Drop = d.string()
		c.Reason = d.string()
	case KindResumeDrop:
		c.Drop = d.string()
	case KindUpdateDrop:
		c.Drop = d.string()
		c.Patch = d.patch()
	case KindAudited:
		c.Op = d.operator()
		inner := d.raw()
		if d.err == nil {
			if len(inner) == 0 || Kind(inner[0]) == KindAudited {
				return Command{}, fmt.Errorf("%w: bad inner command", ErrMalformed)
			}
			ic, err := DecodeCommand([]byte(inner))
			if err != nil {
				return Command{}, err
			}
			c.Inner = &ic
		}
	case KindAuditNote:
		c.Op = d.operator()
		c.Action = d.string()
		c.Target = d.string()
		c.Detail = d.string()
	case KindRevokeSession:
		c.SessionID = d.string()
		c.Until = d.varint()
	default:
		return Command{}, fmt.Errorf("%w: unknown kind %d", ErrMalformed, c.Kind)
	}
	if d.err != nil {
		return Command{}, fmt.Errorf("%v: %w", c.Kind, d.err)
	}
	if len(d.buf) != 0 {
		return Command{}, fmt.Errorf("%w: %d trailing bytes", ErrMalformed, len(d.buf))
	}
	return c, nil
}

// AppendBatch appends a batch holding the given encoded commands.
func AppendBatch(buf []byte, cmds [][]byte) []byte {
	buf = binary.AppendUvarint(buf, uint64(len(cmds)))
	for _, c := range cmds {
		buf = binary.AppendUvarint(buf, uint64(len(c)))
		buf = append(buf, c...)
	}
	return buf
}

// SplitBatch calls fn with each encoded command of a batch.
func SplitBatch(buf []byte, fn func(cmd []byte) error) error {
	d := decoder{buf: buf}
	n := d.count()
	for i := 0; i < n && d.err == nil; i++ {
		l := d.count()
		if d.err != nil {
			break
		}
		if l > len(d.buf) {
			return fmt.Errorf("%w: command longer than batch", ErrMalformed)
		}
		if err := fn(d.buf[:l]); err != nil {
			return err
		}
		d.buf = d.buf[l:]
	}
	if d.err != nil {
		return d.err
	}
	if len(d.buf) != 0 {
		return fmt.Errorf("%w: %d trailing bytes in batch", ErrMalformed, len(d.buf))
	}
	return nil
}

func appendOperator(buf []byte, op *Operator) []byte {
	if op == nil {
		op = &Operator{}
	}
	buf = appendString(buf, op.Actor)
	buf = appendString(buf, op.Tenant)
	return appendString(buf, op.From)
}

func (d *decoder) operator() *Operator {
	return &Operator{Actor: d.string(), Tenant: d.string(), From: d.string()}
}

// A patch is a byte of flags, one per field present, then those fields.
const (
	patchName = 1 << iota
	patchStock
	patchRate
	patchHold
	patchEnds
	patchAll = patchName | patchStock | patchRate | patchHold | patchEnds
)

func appendPatch(buf []byte, p *DropPatch) []byte {
	if p == nil {
		return append(buf, 0)
	}
	var flags byte
	for i, set := range []bool{p.Name != nil, p.Stock != nil, p.AdmitPerSecond != nil, p.HoldSeconds != nil, p.EndsAt != nil} {
		if set {
			flags |= 1 << i
		}
	}
	buf = append(buf, flags)
	if p.Name != nil {
		buf = appendString(buf, *p.Name)
	}
	for _, v := range []*int64{p.Stock, p.AdmitPerSecond, p.HoldSeconds, p.EndsAt} {
		if v != nil {
			buf = binary.AppendVarint(buf, *v)
		}
	}
	return buf
}

func (d *decoder) patch() *DropPatch {
	flags := d.byte()
	if flags&^patchAll != 0 {
		d.fail("patch flags")
		return nil
	}
	if flags == 0 {
		return nil
	}
	p := &DropPatch{}
	if flags&patchName != 0 {
		v := d.string()
		p.Name = &v
	}
	for i, dst := range []**int64{&p.Stock, &p.AdmitPerSecond, &p.HoldSeconds, &p.EndsAt} {
		if flags&(patchStock<<i) != 0 {
			v := d.varint()
			*dst = &v
		}
	}
	return p
}

func appendString(buf []byte, s string) []byte {
	buf = binary.AppendUvarint(buf, uint64(len(s)))
	return append(buf, s...)
}

func appendBool(buf []byte, b bool) []byte {
	if b {
		return append(buf, 1)
	}
	return append(buf, 0)
}

type decoder struct {
	buf []byte
	err error
	// all, when set, is the whole encoding as one string; text fields are
	// then cut from it instead of each being copied (see shareText).
	all string
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: bad %s", ErrMalformed, what)
	}
	d.buf = nil
}

func (d *decoder) byte() byte {
	if d.err != nil || len(d.buf) < 1 {
		d.fail("byte")
		return 0
	}
	b := d.buf[0]
	d.buf = d.buf[1:]
	return b
}

func (d *decoder) bool() bool {
	switch d.byte() {
	case 0:
		return false
	case 1:
		return true
	}
	d.fail("bool")
	return false
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.buf)
	if n <= 0 {
		d.fail("varint")
		return 0
	}
	d.buf = d.buf[n:]
	return v
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.buf)
	if n <= 0 {
		d.fail("uvarint")
		return 0
	}
	d.buf = d.buf[n:]
	return v
}

// count reads a length that must fit in what is left of the buffer.
func (d *decoder) count() int {
	v := d.uvarint()
	if d.err == nil && v > uint64(len(d.buf)) {
		d.fail("length")
		return 0
	}
	return int(v)
}

// string reads a text field. Text must be valid UTF-8: the state is saved as
// JSON, which would turn invalid bytes into U+FFFD, so a state reloaded from
// a snapshot would differ from the one that applied the log.
func (d *decoder) string() string {
	s := d.raw()
	if d.err == nil && !utf8.ValidString(s) {
		d.err = fmt.Errorf("%w: a text field is not valid UTF-8", ErrMalformed)
		d.buf = nil
		return ""
	}
	return s
}

// raw reads a field of arbitrary bytes (secrets, seeds, encoded commands).
func (d *decoder) raw() string {
	n := d.count()
	if d.err != nil {
		return ""
	}
	var s string
	if d.all != "" {
		off := len(d.all) - len(d.buf)
		s = d.all[off : off+n]
	} else {
		s = string(d.buf[:n])
	}
	d.buf = d.buf[n:]
	return s
}
