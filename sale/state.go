package sale

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/floodgate/floodgate"
)

// Limits on what a drop may ask for. They keep numbers far from overflow and
// keep one command small enough for the log.
const (
	MaxStock          = 1_000_000_000
	MaxVouchers       = 1_000_000
	MaxHoldSeconds    = 24 * 3600
	MaxAdmitPerSecond = 1_000_000
	MaxBlockSize      = 1_000_000
	MaxIDLength       = 64
	MaxKeyLength      = 200

	DefaultHoldSeconds    = 300
	DefaultAdmitPerSecond = 200
	DefaultAdmitWindow    = 60

	// ChallengeAuto lets the join challenge's difficulty follow join
	// pressure; MaxChallengeDifficulty is the hardest fixed difficulty.
	ChallengeAuto          = -1
	MaxChallengeDifficulty = 28
)

// State is the whole replicated state of the sale. It is changed only by
// Apply; readers outside the package hold the store's read lock.
type State struct {
	Drops map[string]*Drop `json:"drops"`
	// Holds and Orders are tables found by id (table.go); Tickets finds
	// the hold a ticket (drop "/" visitor) took (tickets.go).
	Holds   HoldTable   `json:"holds"`
	Orders  OrderTable  `json:"orders"`
	Tickets TicketIndex `json:"tickets"`
	Secret  []byte      `json:"secret,omitempty"`
	// Nodes maps a cluster member's id to the base URL of its HTTP API, so
	// that followers can forward writes to the leader.
	Nodes     map[string]string `json:"nodes"`
	NextHold  uint64            `json:"next_hold"`
	NextOrder uint64            `json:"next_order"`
	LastTick  int64             `json:"last_tick"`
	Applied   uint64            `json:"applied"`
	// Status holds the status page's records by key (sale/status.go);
	// StatusSeq counts the status commands applied.
	Status    map[string]StatusRecord `json:"status,omitempty"`
	StatusSeq uint64                  `json:"status_seq,omitempty"`

	// The order feed and its sinks (events.go).
	Events   EventFeed        `json:"events,omitempty"` // in chunks (feed.go)
	EventSeq uint64           `json:"event_seq,omitempty"`
	Sinks    map[string]*Sink `json:"sinks,omitempty"`
	NextSink uint64           `json:"next_sink,omitempty"`

	// Tenants and their API keys (sale/tenant.go).
	Tenants map[string]*Tenant `json:"tenants,omitempty"`
	Keys    map[string]*APIKey `json:"keys,omitempty"`
	// Audit is every change an operator made, oldest first (see controls.go).
	Audit     []AuditEntry `json:"audit,omitempty"`
	NextAudit uint64       `json:"next_audit,omitempty"`
	// RevokedSessions maps the id of a buyer session ended at logout to
	// when it would have expired (unix ms; sessions.go).
	RevokedSessions map[string]int64 `json:"revoked_sessions,omitempty"`

	custs customerIndex // a record per customer: orders, units (idem.go)
	last  *Drop         // the drop drop found last
	text  textArena     // the text of new holds and orders (alloc.go)
}

// Drop is the replicated state of one drop.
type Drop struct {
	Spec        DropSpec       `json:"spec"`
	CreatedAt   int64          `json:"created_at"`
	Available   int64          `json:"available"`
	Held        int64          `json:"held"`
	Sold        int64          `json:"sold"`
	Closed      bool           `json:"closed"`
	Customers   CustomerCounts `json:"customers"` // units per customer (customers.go)
	NextVoucher int            `json:"next_voucher"`
	Active      ActiveHolds    `json:"active"` // active holds (active.go)
	// NextExpiry is the earliest expiry among active holds (0: unknown), so
	// that a tick scans the active holds only when one may expire.
	NextExpiry int64 `json:"next_expiry"`
	// AnyPaused is set while some active hold is marked paused.
	AnyPaused bool `json:"any_paused"`
	// Tenant owns the drop ("" for drops of the platform).
	Tenant string `json:"tenant,omitempty"`

	// The payment step (payment.go): units of orders awaiting payment, the
	// ids of those orders, and the earliest of their deadlines (0: unknown).
	AwaitingPayment int64           `json:"awaiting_payment,omitempty"`
	Unpaid          map[string]bool `json:"unpaid,omitempty"`
	NextPayBy       int64           `json:"next_pay_by,omitempty"`

	// The waiting room.
	Started      bool         `json:"started"`
	Seed         uint64       `json:"seed"`
	EarlyTotal   int64        `json:"early_total"`    // early arrivals, fixed at the start
	EarlyNext    int64        `json:"early_next"`     // next early index a block would reserve
	LateNext     int64        `json:"late_next"`      // next late sequence a block would reserve
	Issued       int64        `json:"issued"`         // effective positions handed out, as the leader reported
	AdmittedUpTo int64        `json:"admitted_up_to"` // positions below this are admitted
	AdmitCredit  int64        `json:"admit_credit"`   // admissions owed, in thousandths of a visitor
	Batches      []AdmitBatch `json:"batches"`        // admissions still inside their window
	// LateIssued is the highest late sequence the leader reported as handed
	// out; Gaps are late sequences a lost leader reserved but, as far as the
	// log knows, never handed out. Admission skips them.
	LateIssued int64 `json:"late_issued"`
	Gaps       []Gap `json:"gaps,omitempty"`

	DropFair  // the committed seed, the transparency log, draw entries (fairness.go)
	DropEarly // early indexes a lost leader never handed out (earlygaps.go)
	// Live controls (controls.go): while Paused nobody is admitted.
	Paused      bool      `json:"paused,omitempty"`
	PauseReason string    `json:"pause_reason,omitempty"`
	Stats       DropStats `json:"stats"`
}

// AdmitBatch is one step of the admission counter: positions [From, To)
// admitted at At (unix ms); Resolved counts those that took a hold. Admitted
// visitors who take no hold within the window lapse, so abandoned visitors
// never stall the queue.
type AdmitBatch struct {
	From     int64 `json:"from"`
	To       int64 `json:"to"`
	At       int64 `json:"at"`
	Resolved int64 `json:"resolved"`
}

// Gap is a range [From, To) of late sequence numbers that admission skips.
type Gap struct {
	From int64 `json:"from"`
	To   int64 `json:"to"`
}

// Hold is the replicated state of one hold.
type Hold struct {
	ID        string `json:"id"`
	Drop      string `json:"drop"`
	Visitor   string `json:"visitor"`
	Position  int64  `json:"position"`
	Quantity  int64  `json:"quantity"`
	CreatedAt int64  `json:"created_at"`
	ExpiresAt int64  `json:"expires_at"`
	PausedMs  int64  `json:"paused_ms"`
	Paused    bool   `json:"paused"`
	activeAt  int32  // 1 + its place in its drop's Active (0: not active)
	Status    string `json:"status"`
	OrderID   string `json:"order_id,omitempty"`
	// The ticket's place, for receipts: early arrival or draw entry, its
	// sequence, and when its position was admitted (unix ms).
	Early      bool  `json:"early,omitempty"`
	Seq        int64 `json:"seq,omitempty"`
	AdmittedAt int64 `json:"admitted_at,omitempty"`
}

// Order is the replicated state of one order.
type Order struct {
	ID        string `json:"id"`
	HoldID    string `json:"hold_id"`
	Drop      string `json:"drop"`
	Customer  string `json:"customer"`
	Quantity  int64  `json:"quantity"`
	Voucher   string `json:"voucher,omitempty"`
	IdemKey   string `json:"idem_key"`
	CreatedAt int64  `json:"created_at"`
	Status    string `json:"status"`
	PayBy     int64  `json:"pay_by,omitempty"`
	PaidAt    int64  `json:"paid_at,omitempty"`
	EndedAt   int64  `json:"ended_at,omitempty"` // expired or cancelled
	Seq       uint64 `json:"seq,omitempty"`      // of the order's latest event
	LogSeq    int64  `json:"log_seq,omitempty"`  // 1 + the order's index in its drop's log (0: none)
}

// Result is what one command returns. Err is a coded error when the command
// was refused; a refused command changes nothing.
type Result struct {
	Err     *floodgate.Error
	Detail  string // what an operator's command changed, for the audit log
	Created bool   // a new drop, hold or order (false: an idempotent replay)
	// Drop and Sink are pointers (nil for other commands): a Result is
	// built, returned and copied for every command, and the two were
	// two thirds of its 816 bytes, which a buyer's hold or order never
	// uses.
	Drop  *floodgate.Drop // CreateDrop, CloseDrop, the controls of a drop
	Hold  floodgate.Hold
	Order floodgate.Order
	Start int64 // ReserveBlock: the block is [Start, End)
	End   int64
	Sink  *Sink // AddSink, RemoveSink, SinkProgress, RetrySink
}

// NewState returns an empty state.
func NewState() *State {
	s := &State{
		Drops: map[string]*Drop{},
		Nodes: map[string]string{},
	}
	s.Tickets = newTicketIndex(&s.Holds)
	return s
}

// drop returns the drop with this id, or nil. A rush's commands name one
// drop over and over: the last one found is checked first, before the map
// (drops are never removed or replaced).
func (s *State) drop(id string) *Drop {
	if d := s.last; d != nil && d.Spec.ID == id {
		return d
	}
	d := s.Drops[id]
	if d != nil {
		s.last = d
	}
	return d
}

func refuse(code, format string, args ...any) Result {
	return Result{Err: floodgate.Errorf(code, format, args...)}
}

// Apply applies one command and returns its result. It never panics on any
// command: bad commands are refused with a coded error.
func (s *State) Apply(c *Command) (res Result) {
	s.Applied++
	// A Result is 800 bytes and every return copies it: the commands of a
	// rush go straight to their function, and the result is built in place.
	switch c.Kind {
	case KindHold:
		res = s.hold(c)
	case KindOrder:
		res = s.order(c)
	default:
		res = s.apply(c)
	}
	if res.Err != nil {
		s.countRefusal(c, refusalCode(res.Err))
	}
	return res
}

func (s *State) apply(c *Command) Result {
	switch c.Kind {
	case KindCreateDrop, KindCreateDropV2:
		return s.createDrop(c)
	case KindEnter:
		return s.enter(c)
	case KindUsePresaleCode:
		return s.usePresaleCode(c)
	case KindDrawNotified:
		return s.drawNotified(c)
	case KindReserveBlock:
		return s.reserveBlock(c)
	case KindHold:
		return s.hold(c)
	case KindRelease:
		return s.release(c)
	case KindOrder:
		return s.order(c)
	case KindTick:
		s.tick(c)
		return Result{}
	case KindCloseDrop:
		return s.closeDrop(c)
	case KindInitSecret:
		if len(s.Secret) == 0 && len(c.Secret) >= 32 {
			s.Secret = append([]byte(nil), c.Secret...)
		}
		return Result{}
	case KindOrderPaid:
		return s.orderPaid(c)
	case KindOrderCancel:
		return s.orderCancel(c)
	case KindAddSink:
		return s.addSink(c)
	case KindRemoveSink:
		return s.removeSink(c)
	case KindSinkProgress:
		return s.sinkProgress(c)
	case KindRetrySink:
		return s.retrySink(c)
	case KindPruneEvents:
		return s.pruneEvents(c)
	case KindSetNode:
		if c.NodeID == "" || len(c.NodeID) > MaxKeyLength || len(c.HTTPAddr) > 2048 {
			return refuse(floodgate.EInvalid, "A node needs an id and an HTTP address.")
		}
		if c.HTTPAddr == "" {
			delete(s.Nodes, c.NodeID)
		} else {
			s.Nodes[c.NodeID] = c.HTTPAddr
		}
		return Result{}
	case KindStatus:
		return s.applyStatus(c)
	case KindPauseDrop:
		return s.pauseDrop(c)
	case KindResumeDrop:
		return s.resumeDrop(c)
	case KindUpdateDrop:
		return s.updateDrop(c)
	case KindAudited:
		return s.audited(c)
	case KindAuditNote:
		return s.auditNote(c)
	case KindRevokeSession:
		return s.revokeSession(c)
	}
	if res, ok := s.applyTenant(c); ok {
		return res
	}
	return refuse(floodgate.EInvalid, "Unknown command %v.", c.Kind)
}

// ValidateSpec checks a drop spec; the HTTP layer calls it for clear errors,
// and Apply calls it again so that no bad spec enters the state.
func ValidateSpec(s *DropSpec) *floodgate.Error {
	bad := func(format string, args ...any) *floodgate.Error {
		return floodgate.Errorf(floodgate.EInvalid, format, args...)
	}
	switch {
	case !ValidID(s.ID):
		return bad("\"id\" is required: 1 to %d characters of a-z, 0-9, '-' and '_'.", MaxIDLength)
	case s.Name == "" || len(s.Name) > 200:
		return bad("\"name\" is required and at most 200 bytes long.")
	case s.Stock < 1 || s.Stock > MaxStock:
		return bad("\"stock\" must be between 1 and %d.", MaxStock)
	case s.Price < 0 || s.Price > 1e15:
		return bad("\"price\" must be between 0 and 10^15 (in the currency's minor unit).")
	case len(s.Currency) > 3:
		return bad("\"currency\" must be an ISO 4217 code such as KRW.")
	case s.PerCustomerLimit < 1 || s.PerCustomerLimit > s.Stock:
		return bad("\"per_customer_limit\" must be between 1 and the stock (%d).", s.Stock)
	case s.HoldSeconds < 10 || s.HoldSeconds > MaxHoldSeconds:
		return bad("\"hold_seconds\" must be between 10 and %d.", MaxHoldSeconds)
	case s.AdmitPerSecond < 1 || s.AdmitPerSecond > MaxAdmitPerSecond:
		return bad("\"admit_per_second\" must be between 1 and %d.", MaxAdmitPerSecond)
	case s.AdmitWindow < 5 || s.AdmitWindow > 3600:
		return bad("\"admit_window_seconds\" must be between 5 and 3600.")
	case s.StartsAt < 0 || s.StartsAt > 253402300799000:
		return bad("\"starts_at\" must be an RFC 3339 time before the year 10000.")
	case s.PaymentSeconds < 0 || s.PaymentSeconds > MaxPaymentSeconds:
		return bad("\"payment_seconds\" must be between 0 (no payment step) and %d.", MaxPaymentSeconds)
	case len(s.PaymentURL) > 2048 || s.PaymentURL != "" && !strings.HasPrefix(s.PaymentURL, "https://") && !strings.HasPrefix(s.PaymentURL, "http://"):
		return bad("\"payment_url\" must be an http(s) URL template of at most 2048 bytes.")
	case len(s.Vouchers) > MaxVouchers:
		return bad("At most %d vouchers per drop.", MaxVouchers)
	case s.ChallengeDifficulty < ChallengeAuto || s.ChallengeDifficulty > MaxChallengeDifficulty:
		return bad("\"challenge_difficulty\" must be \"auto\" or an integer from 0 to %d.", MaxChallengeDifficulty)
	}
	seen := make(map[string]struct{}, len(s.Vouchers))
	for i, v := range s.Vouchers {
		if v == "" || len(v) > 200 {
			return bad("Voucher %d is empty or longer than 200 bytes.", i)
		}
		if _, dup := seen[v]; dup {
			return bad("Voucher %q appears twice; every code must be unique.", v)
		}
		seen[v] = struct{}{}
	}
	return validateFair(s)
}

// ValidID reports whether id is a valid drop id.
func ValidID(id string) bool {
	if id == "" || len(id) > MaxIDLength {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func (s *State) createDrop(c *Command) Result {
	if c.Spec == nil {
		return refuse(floodgate.EInvalid, "A drop needs a spec.")
	}
	if err := ValidateSpec(c.Spec); err != nil {
		return Result{Err: err}
	}
	if d, ok := s.Drops[c.Spec.ID]; ok {
		if d.Spec.Fingerprint != c.Spec.Fingerprint {
			return refuse(floodgate.EConflict, "A drop with id %q exists with other settings; pick another id.", c.Spec.ID)
		}
		return Result{Drop: s.publicDrop(d, c.Now)}
	}
	spec := *c.Spec
	spec.Vouchers = append([]string(nil), c.Spec.Vouchers...)
	d := &Drop{
		Spec:      spec,
		CreatedAt: c.Now,
		Available: spec.Stock,
		Customers: newCustomerCounts(),
		Active:    ActiveHolds{list: []activeHold{}},
	}
	if (c.Kind == KindCreateDropV2 || c.Kind == KindCreateTenantDrop) && len(c.ShuffleSeed) == SeedSize {
		d.ShuffleSeed = append([]byte(nil), c.ShuffleSeed...)
	}
	s.Drops[spec.ID] = d
	s.expect(spec.Stock)
	return Result{Created: true, Drop: s.publicDrop(d, c.Now)}
}

func (s *State) reserveBlock(c *Command) Result {
	d, refused := s.commandDrop(c)
	if d == nil {
		return refused
	}
	if c.Size < 1 || c.Size > MaxBlockSize {
		return refuse(floodgate.EInvalid, "A queue block holds 1 to %d positions.", MaxBlockSize)
	}
	if d.IsDraw() {
		return refuse(floodgate.EConflict, "This drop is a draw: enter it with POST /api/v1/drops/%s/entries; it has no queue.", c.Drop)
	}
	if c.Early {
		if d.Started {
			return refuse(floodgate.EConflict, "The drop has started; early positions are no longer handed out.")
		}
		if c.Fresh {
			d.earlyGap()
		}
		start := d.EarlyNext
		d.EarlyNext += c.Size
		return Result{Start: start, End: d.EarlyNext}
	}
	start := d.LateNext
	if c.Fresh && d.LateNext > d.LateIssued {
		d.Gaps = append(d.Gaps, Gap{From: d.LateIssued, To: d.LateNext})
	}
	d.LateNext += c.Size
	return Result{Start: start, End: d.LateNext}
}

// Position returns the effective queue position of a ticket (0-based), and
// false when it is not known yet (an early arrival before the start).
func (d *Drop) Position(early bool, seq int64) (int64, bool) {
	if early {
		if !d.Started || seq < 0 || seq >= d.EarlyTotal {
			if d.Started && seq >= d.EarlyTotal {
				// An early index the start did not count (handed out by a
				// leader that was then lost): place it after the early ones.
				return d.EarlyTotal + d.LateNext + (seq - d.EarlyTotal), true
			}
			return 0, false
		}
		return Permute(d.Seed, uint64(seq), uint64(d.EarlyTotal)), true
	}
	if !d.Started {
		return 0, false
	}
	return d.EarlyTotal + seq, true
}

func (s *State) hold(c *Command) Result {
	d, refused := s.commandDrop(c)
	if d == nil {
		return refused
	}
	if c.Visitor == "" || len(c.Visitor) > MaxKeyLength {
		return refuse(floodgate.EUnauthenticated, "The ticket has no valid visitor id.")
	}
	th := ticketHash(c.Drop, c.Visitor)
	if h := s.Tickets.getHash(c.Drop, c.Visitor, th); h != nil {
		s.expireIfDue(h, c.Now)
		switch h.Status {
		case floodgate.HoldActive:
			return Result{Hold: publicHold(h)}
		case floodgate.HoldOrdered:
			return refuse(floodgate.EAlreadyOrdered, "This ticket has already been used for an order (%s).", h.OrderID)
		case floodgate.HoldExpired:
			return refuse(floodgate.EHoldExpired, "This ticket's hold expired; join the queue again to try once more.")
		default:
			return refuse(floodgate.EConflict, "This ticket's hold was released; join the queue again to try once more.")
		}
	}
	if d.Closed {
		return refuse(floodgate.EConflict, "The drop is closed.")
	}
	if c.Quantity < 1 || c.Quantity > d.Spec.PerCustomerLimit {
		return refuse(floodgate.EInvalid, "\"quantity\" must be between 1 and the per-customer limit (%d).", d.Spec.PerCustomerLimit)
	}
	pos, known := d.Position(c.Early, c.Seq)
	if !known || pos >= d.AdmittedUpTo {
		return refuse(floodgate.ENotAdmitted, "It is not your turn yet; keep this page open and you will be admitted in order.")
	}
	if d.Available == 0 {
		return refuse(floodgate.ESoldOut, "Sold out: every unit is sold or held by buyers ahead of you.")
	}
	if d.Available < c.Quantity {
		return refuse(floodgate.ESoldOut, "Only %d left; ask for fewer.", d.Available)
	}
	if !d.Admitted(pos, c.Quantity) {
		// An uncounted position (uncounted.go): the units left are
		// promised to visitors admitted inside their window.
		return refuse(floodgate.ENotAdmitted, "The units left are promised to visitors admitted before you came; keep this page open: a unit that comes back is offered again.")
	}
	s.NextHold++
	id, visitor := s.text.holdText(s.NextHold, c.Visitor)
	h, hi := s.Holds.addNumbered(Hold{
		ID:        id,
		Drop:      d.Spec.ID,
		Visitor:   visitor,
		Position:  pos,
		Quantity:  c.Quantity,
		CreatedAt: c.Now,
		ExpiresAt: c.Now + d.Spec.HoldSeconds*1000,
		Status:    floodgate.HoldActive,
		Early:     c.Early,
		Seq:       c.Seq,
	}, s.NextHold, numbered(s.NextHold), int(s.NextHold)+chunkLen)
	s.Tickets.putHashed(th, hi) // th is the hash of h.Drop, h.Visitor: the drop's id is c.Drop
	s.activate(d, h, hi)
	if d.NextExpiry > h.ExpiresAt {
		d.NextExpiry = h.ExpiresAt
	}
	d.Available -= c.Quantity
	d.Held += c.Quantity
	d.Stats.Holds++
	for i := range d.Batches {
		b := &d.Batches[i]
		if pos >= b.From && pos < b.To {
			if !d.earlySkipped(pos) {
				b.Resolved++ // a skipped position was counted when the step passed it
			}
			h.AdmittedAt = b.At
			break
		}
	}
	return Result{Created: true, Hold: publicHold(h)}
}

// shortID keeps hold ids unguessable from their counter alone: a part of the
// visitor's random id is in them.
func shortID(visitor string) string {
	if len(visitor) > 8 {
		return visitor[:8]
	}
	return visitor
}

// expireIfDue expires an active hold whose time has come, returning its stock.
func (s *State) expireIfDue(h *Hold, now int64) {
	if h.Status == floodgate.HoldActive && now >= h.ExpiresAt {
		s.endHold(h, floodgate.HoldExpired)
	}
}

func (s *State) endHold(h *Hold, status string) {
	d := s.drop(h.Drop)
	h.Status = status
	h.Paused = false
	s.deactivate(d, h)
	d.Held -= h.Quantity
	switch status {
	case floodgate.HoldOrdered:
		// An ordered hold's units move on with the order (startOrder).
	case floodgate.HoldExpired:
		d.Available += h.Quantity
		d.Stats.HoldsExpired++
	default:
		d.Available += h.Quantity
		d.Stats.HoldsReleased++
	}
}

// commandDrop is the drop c names; nil and the refusal when there is none.
func (s *State) commandDrop(c *Command) (*Drop, Result) {
	d := s.drop(c.Drop)
	if d == nil {
		return nil, refuse(floodgate.ENotFound, "There is no drop %q.", c.Drop)
	}
	return d, Result{}
}

// ticketHold is the hold c names if it is its ticket's, lapsed first if its
// time is up; nil and the refusal otherwise.
func (s *State) ticketHold(c *Command) (*Hold, Result) {
	return s.ticketHoldOf(c, s.Holds.Get(c.HoldID))
}

// ticketHoldOf is ticketHold for h, the hold with c's HoldID (nil: none).
func (s *State) ticketHoldOf(c *Command, h *Hold) (*Hold, Result) {
	if h == nil || h.Visitor != c.Visitor {
		return nil, refuse(floodgate.ENotFound, "There is no hold %q for this ticket.", c.HoldID)
	}
	s.expireIfDue(h, c.Now)
	return h, Result{}
}

func (s *State) release(c *Command) Result {
	h, refused := s.ticketHold(c)
	if h == nil {
		return refused
	}
	switch h.Status {
	case floodgate.HoldActive:
		s.endHold(h, floodgate.HoldReleased)
	case floodgate.HoldOrdered:
		return refuse(floodgate.EAlreadyOrdered, "The hold has been ordered and cannot be released.")
	}
	return Result{Hold: publicHold(h)}
}

func (s *State) order(c *Command) Result {
	if c.IdemKey == "" || len(c.IdemKey) > MaxKeyLength {
		return refuse(floodgate.EInvalid, "An Idempotency-Key of 1 to %d bytes is required.", MaxKeyLength)
	}
	if c.Customer == "" {
		return refuse(floodgate.EUnauthenticated, "An order needs a signed-in buyer.")
	}
	// One look-up finds the customer: the order their key made, if any,
	// and their units (idem.go). It is started first, and the hold found
	// while what it reads comes from memory.
	ch := customerHash(c.Customer)
	x := s.customers()
	p := x.m.start(ch)
	named := s.Holds.Get(c.HoldID)
	r := x.customerFrom(c.Customer, p)
	if r >= 0 {
		if i := x.orderWithKey(r, c.IdemKey); i >= 0 {
			o := s.Orders.at(i)
			if o.HoldID != c.HoldID || o.Customer != c.Customer {
				return refuse(floodgate.EConflict, "This Idempotency-Key was already used for a different request; use a new key.")
			}
			h := s.Holds.Get(o.HoldID)
			if h.Visitor != c.Visitor {
				return refuse(floodgate.EConflict, "This Idempotency-Key was already used for a different request; use a new key.")
			}
			return Result{Order: publicOrder(o)}
		}
	}
	h, refused := s.ticketHoldOf(c, named)
	if h == nil {
		return refused
	}
	switch h.Status {
	case floodgate.HoldOrdered:
		return refuse(floodgate.EAlreadyOrdered, "This hold has already been ordered (%s).", h.OrderID)
	case floodgate.HoldExpired:
		return refuse(floodgate.EHoldExpired, "The hold expired before the order; join the queue again to try once more.")
	case floodgate.HoldReleased:
		return refuse(floodgate.EHoldExpired, "The hold was released before the order; join the queue again to try once more.")
	}
	d := s.drop(h.Drop)
	if err := d.drawOrderCheck(h, c.Customer); err != nil {
		return Result{Err: err}
	}
	// A customer without a record has no units anywhere.
	var units int64
	ci := -1
	if r >= 0 {
		if x.countsIn(r, d) {
			ci = int(x.recs[r].at)
		} else {
			ci = d.Customers.findHash(c.Customer, ch)
		}
		if ci >= 0 {
			units = d.Customers.at(ci).n
		}
	}
	if units+h.Quantity > d.Spec.PerCustomerLimit {
		return refuse(floodgate.ELimitExceeded, "You have reached the limit of %d per customer for this drop.", d.Spec.PerCustomerLimit)
	}
	s.NextOrder++
	id, customer, key := s.text.orderText(s.NextOrder, c.Visitor, c.Customer, c.IdemKey)
	o, oi := s.Orders.addNumbered(Order{
		ID:        id,
		HoldID:    h.ID,
		Drop:      h.Drop,
		Customer:  customer,
		Quantity:  h.Quantity,
		IdemKey:   key,
		CreatedAt: c.Now,
	}, s.NextOrder, numbered(s.NextOrder), int(s.NextOrder)+chunkLen)
	if d.NextVoucher < len(d.Spec.Vouchers) {
		o.Voucher = d.Spec.Vouchers[d.NextVoucher]
		d.NextVoucher++
	}
	s.endHold(h, floodgate.HoldOrdered)
	s.startOrder(d, o, c.Now)
	h.OrderID = o.ID
	ci = d.Customers.addAt(o.Customer, ci, h.Quantity)
	if rec := x.addOrder(ch, r, oi); ci >= 0 {
		rec.drop, rec.at = x.dropNum(d), int32(ci)
	}
	s.emit(floodgate.OrderEventCreated, o, oi, c.Now)
	d.Log.addOrder(&s.Orders, oi, c.Now)
	o.LogSeq = int64(d.Log.Len())
	d.Stats.Orders++
	d.noteSold(c.Now)
	return Result{Created: true, Order: publicOrder(o)}
}

func (s *State) closeDrop(c *Command) Result {
	d, refused := s.commandDrop(c)
	if d == nil {
		return refused
	}
	s.close(d, c.Now)
	return Result{Drop: s.publicDrop(d, c.Now)}
}

// close ends a drop's sale and returns the stock of its active holds.
func (s *State) close(d *Drop, now int64) {
	if d.Closed {
		return
	}
	d.logClose(now)
	d.Closed = true
	d.Paused, d.PauseReason = false, ""
	d.Stats.ClosedAt = now
	for a := &d.Active; len(a.list) > 0; {
		e := a.list[len(a.list)-1]
		if e.i < 0 {
			a.list = a.list[:len(a.list)-1] // a snapshot named a hold it lacks
			continue
		}
		s.endHold(s.Holds.at(int(e.i)), floodgate.HoldReleased)
	}
	d.record(now)
}

// tick moves time forward: drops start, paused holds keep their time,
// expired holds return their stock, lapsed admissions free their slots and
// the admission counter moves on.
func (s *State) tick(c *Command) {
	dt := c.Now - s.LastTick
	if s.LastTick == 0 || dt < 0 {
		dt = 0
	}
	if c.Now > s.LastTick {
		s.LastTick = c.Now
	}
	issued := make(map[string]Issued, len(c.Issued))
	for _, is := range c.Issued {
		issued[is.Drop] = is
	}
	s.expirePayments(c.Now)
	for id, d := range s.Drops {
		if d.Closed {
			continue
		}
		if d.Spec.EndsAt > 0 && c.Now >= d.Spec.EndsAt {
			s.close(d, c.Now)
			continue
		}
		is, reported := issued[id]
		if reported && !d.Started {
			d.noteEarlyIssued(is.Early)
		}
		if !d.Started && c.Now >= d.opensAt() {
			d.Started = true
			d.Seed = d.startKey(c.Seed, id)
			d.EarlyTotal = d.EarlyNext
			if reported && is.Early >= 0 && is.Early < d.EarlyNext && !d.IsDraw() {
				d.EarlyTotal = is.Early
			}
			d.openEarly(reported && is.Early < 0)
			// No admission credit for the time before the start.
			d.AdmitCredit = 0
			d.logStart(c.Now)
			d.Stats.StartedAt = c.Now
		}
		d.markHead(c.Now)
		if c.Paused || d.AnyPaused || c.Now >= d.NextExpiry {
			s.scanHolds(d, c, dt)
		}
		if !d.Started {
			continue
		}
		if reported {
			late := min(max(is.Late, 0), d.LateNext)
			d.LateIssued = max(d.LateIssued, late)
			if n := d.EarlyTotal + late; n > d.Issued {
				d.Issued = n
			}
		}
		d.admit(c.Now, dt)
		d.record(c.Now)
	}
}

// scanHolds pauses or expires the active holds of d and recomputes the
// earliest expiry.
func (s *State) scanHolds(d *Drop, c *Command, dt int64) {
	next := int64(math.MaxInt64)
	d.AnyPaused = false
	// Backwards: a hold that ends swaps the last one, already seen, into
	// its place.
	for k := d.Active.Len() - 1; k >= 0; k-- {
		e := d.Active.list[k]
		if e.i < 0 {
			continue // a snapshot named a hold it lacks
		}
		h := s.Holds.at(int(e.i))
		if c.Paused && dt > 0 && h.PausedMs < c.MaxPauseMs {
			ext := min(dt, c.MaxPauseMs-h.PausedMs)
			h.PausedMs += ext
			h.ExpiresAt += ext
			h.Paused = true
		} else {
			h.Paused = false
		}
		s.expireIfDue(h, c.Now)
		if h.Status == floodgate.HoldActive {
			next = min(next, h.ExpiresAt)
			d.AnyPaused = d.AnyPaused || h.Paused
		}
	}
	d.NextExpiry = next
}

// admit moves the admission counter: at most admit_per_second, never beyond
// the positions handed out, and never more unresolved admissions than the
// available stock can serve.
func (d *Drop) admit(now, dt int64) {
	window := d.admitWindowMs()
	live := d.Batches[:0]
	var unresolved int64
	for _, b := range d.Batches {
		if now-b.At < window {
			live = append(live, b)
			unresolved += b.To - b.From - b.Resolved
		}
	}
	d.Batches = live
	d.forgetEarlySkip()
	if d.Paused {
		// No admission and no credit while paused: resuming is not a burst.
		d.AdmitCredit = 0
		return
	}
	rate := d.admitRate()
	d.AdmitCredit = min(d.AdmitCredit+rate*dt, rate*1000)
	// Skip positions nobody holds (see Gaps); a batch ends where a gap starts.
	limit := d.Issued
	gaps := d.Gaps[:0]
	for _, g := range d.Gaps {
		from, to := d.EarlyTotal+g.From, d.EarlyTotal+g.To
		if d.AdmittedUpTo >= from && d.AdmittedUpTo < to && to <= d.Issued {
			d.passGap(now, to)
		}
		if to <= d.AdmittedUpTo {
			continue
		}
		gaps = append(gaps, g)
		limit = min(limit, from)
	}
	d.Gaps = gaps
	n := min(d.AdmitCredit/1000, d.servable(unresolved), limit-d.AdmittedUpTo)
	if n <= 0 {
		return
	}
	// Early positions nobody holds are passed over, counted as resolved.
	to, skipped := d.stretchEarly(n, limit)
	d.Batches = append(d.Batches, AdmitBatch{From: d.AdmittedUpTo, To: to, At: now, Resolved: skipped})
	d.Log.add(LogRecord{Type: LeafAdmit, At: now, From: d.AdmittedUpTo, To: to})
	d.AdmitCredit -= (to - d.AdmittedUpTo - skipped) * 1000
	d.AdmittedUpTo = to
}

// Ahead counts the positions in [d.AdmittedUpTo, pos) that are not in a gap:
// the visitors who will be admitted before pos.
func (d *Drop) Ahead(pos int64) int64 {
	n := pos - d.AdmittedUpTo - d.earlySkippedBefore(pos)
	for _, g := range d.Gaps {
		from, to := max(d.EarlyTotal+g.From, d.AdmittedUpTo), min(d.EarlyTotal+g.To, pos)
		if to > from {
			n -= to - from
		}
	}
	return max(n, 0)
}

// DropState is the public state of a drop at time now.
func (d *Drop) DropState(now int64) string {
	switch {
	case d.Closed:
		return floodgate.DropClosed
	case d.Sold >= d.Spec.Stock:
		return floodgate.DropSoldOut
	case !d.Started && now < d.Spec.StartsAt:
		return floodgate.DropScheduled
	}
	return floodgate.DropOpen
}

// Unresolved counts admitted visitors inside their window who took no hold.
func (d *Drop) Unresolved() int64 {
	var n int64
	for _, b := range d.Batches {
		n += b.To - b.From - b.Resolved
	}
	return n
}

func (s *State) publicDrop(d *Drop, now int64) *floodgate.Drop {
	v := PublicDrop(d, now)
	return &v
}

// PublicDrop is the API view of a drop.
func PublicDrop(d *Drop, now int64) floodgate.Drop {
	return floodgate.Drop{
		ID:               d.Spec.ID,
		Name:             d.Spec.Name,
		Price:            d.Spec.Price,
		Currency:         d.Spec.Currency,
		Stock:            d.Spec.Stock,
		Available:        d.Available,
		Held:             d.Held,
		Sold:             d.Sold,
		AwaitingPayment:  d.AwaitingPayment,
		State:            d.DropState(now),
		StartsAt:         Time(d.Spec.StartsAt),
		PerCustomerLimit: d.Spec.PerCustomerLimit,
		HoldSeconds:      d.Spec.HoldSeconds,
		AdmitPerSecond:   d.Spec.AdmitPerSecond,
		Vouchers:         int64(len(d.Spec.Vouchers)),
		VouchersLeft:     int64(len(d.Spec.Vouchers) - d.NextVoucher),
		Queued:           d.Issued,
		AdmittedUpTo:     d.AdmittedUpTo,
		PaymentSeconds:   d.Spec.PaymentSeconds,
		PaymentURL:       d.Spec.PaymentURL,
		DropFairness:     d.fairnessView(now),
		Paused:           d.Paused,
		PauseReason:      d.PauseReason,
		EndsAt:           optTime(d.Spec.EndsAt),

		ChallengeDifficulty: publicChallenge(d.Spec.ChallengeDifficulty),
	}
}

// publicChallenge is a drop's challenge_difficulty as the API shows it:
// "auto" or the fixed number of bits.
func publicChallenge(d int64) any {
	if d == ChallengeAuto {
		return "auto"
	}
	return d
}

func publicHold(h *Hold) floodgate.Hold {
	return floodgate.Hold{
		ID:        h.ID,
		Drop:      h.Drop,
		Quantity:  h.Quantity,
		ExpiresAt: Time(h.ExpiresAt),
		Status:    h.Status,
		Paused:    h.Paused,
	}
}

// PublicHold is the API view of a hold.
func PublicHold(h *Hold) floodgate.Hold { return publicHold(h) }

func publicOrder(o *Order) floodgate.Order {
	po := floodgate.Order{
		ID:        o.ID,
		HoldID:    o.HoldID,
		Drop:      o.Drop,
		Customer:  o.Customer,
		Quantity:  o.Quantity,
		Voucher:   o.Voucher,
		CreatedAt: Time(o.CreatedAt),
		Status:    o.Status,
	}
	if o.PayBy != 0 {
		t := Time(o.PayBy)
		po.PayBy = &t
	}
	return po
}

// PublicOrder is the API view of an order.
func PublicOrder(o *Order) floodgate.Order { return publicOrder(o) }

func optTime(ms int64) *time.Time {
	if ms == 0 {
		return nil
	}
	t := Time(ms)
	return &t
}

// Time converts unix milliseconds to a UTC time.
func Time(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// Check verifies the invariants of the state and returns the first one that
// does not hold.
func (s *State) Check() error {
	if err := s.checkTenants(); err != nil {
		return err
	}
	vouchers := map[string]string{}
	perCustomer := map[string]map[string]int64{}
	sold, awaiting := map[string]int64{}, map[string]int64{}
	for o := range s.Orders.All() {
		id := o.ID
		switch o.Status {
		case floodgate.OrderPaid:
			sold[o.Drop] += o.Quantity
		case floodgate.OrderAwaitingPayment:
			awaiting[o.Drop] += o.Quantity
			if d := s.Drops[o.Drop]; d == nil || !d.Unpaid[id] || o.PayBy < d.NextPayBy {
				return fmt.Errorf("order %s awaits payment but its drop does not track it (or waits past its deadline)", id)
			}
		case floodgate.OrderExpired, floodgate.OrderCancelled:
		default:
			return fmt.Errorf("order %s has status %q", id, o.Status)
		}
		if o.Voucher != "" {
			if other, dup := vouchers[o.Drop+"\x00"+o.Voucher]; dup {
				return fmt.Errorf("voucher %q given to orders %s and %s", o.Voucher, other, id)
			}
			vouchers[o.Drop+"\x00"+o.Voucher] = id
		}
		if got := s.idemOrder(o.Customer, o.IdemKey); got != o {
			return fmt.Errorf("order %s: idempotency key %q finds %v", id, o.IdemKey, got)
		}
		if perCustomer[o.Drop] == nil {
			perCustomer[o.Drop] = map[string]int64{}
		}
		if o.Status == floodgate.OrderPaid || o.Status == floodgate.OrderAwaitingPayment {
			perCustomer[o.Drop][o.Customer] += o.Quantity
		}
	}
	if x := s.customers(); len(x.prev) != s.Orders.Len() || x.ordersIndexed() != s.Orders.Len() {
		return fmt.Errorf("%d orders in the customers' records (%d links) for %d orders", x.ordersIndexed(), len(x.prev), s.Orders.Len())
	}
	for id, d := range s.Drops {
		if d.Available < 0 || d.Held < 0 || d.Sold < 0 || d.AwaitingPayment < 0 || d.Available+d.Held+d.AwaitingPayment+d.Sold != d.Spec.Stock {
			return fmt.Errorf("drop %s: available %d + held %d + awaiting payment %d + sold %d != stock %d", id, d.Available, d.Held, d.AwaitingPayment, d.Sold, d.Spec.Stock)
		}
		if sold[id] != d.Sold || awaiting[id] != d.AwaitingPayment {
			return fmt.Errorf("drop %s: sold %d and awaiting payment %d, orders sum to %d and %d", id, d.Sold, d.AwaitingPayment, sold[id], awaiting[id])
		}
		for oid := range d.Unpaid {
			if o := s.Orders.Get(oid); o == nil || o.Status != floodgate.OrderAwaitingPayment {
				return fmt.Errorf("drop %s: unpaid set has %s which is not awaiting payment", id, oid)
			}
		}
		var held int64
		for k, e := range d.Active.list {
			if e.i >= 0 && s.Holds.at(int(e.i)).activeAt != int32(k+1) {
				return fmt.Errorf("drop %s: active hold %s does not know its place %d", id, e.id, k)
			}
		}
		for hid := range d.Active.IDs() {
			h := s.Holds.Get(hid)
			if h == nil || h.Status != floodgate.HoldActive {
				return fmt.Errorf("drop %s: active set has %s which is not active", id, hid)
			}
			held += h.Quantity
			if h.ExpiresAt < d.NextExpiry {
				return fmt.Errorf("drop %s: hold %s expires at %d, before the next expiry %d the ticks wait for", id, hid, h.ExpiresAt, d.NextExpiry)
			}
		}
		if held != d.Held {
			return fmt.Errorf("drop %s: active holds sum to %d, held is %d", id, held, d.Held)
		}
		for c, q := range perCustomer[id] {
			if q > d.Spec.PerCustomerLimit {
				return fmt.Errorf("drop %s: customer %s has %d, limit %d", id, c, q, d.Spec.PerCustomerLimit)
			}
			if n := d.Customers.Get(c); n != q {
				return fmt.Errorf("drop %s: customer %s counted %d, orders sum to %d", id, c, n, q)
			}
		}
	}
	if err := s.checkFair(); err != nil {
		return err
	}
	return s.checkEvents()
}

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }
