package sale

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"

	"github.com/floodgate/floodgate"
)

// Fairness you can check: a drop created with CreateDropV2 carries a secret
// shuffle seed chosen before anyone arrives; only its SHA-256 is shown until
// the drop opens. At the opening the seed places the early arrivals (or, in a
// draw, ranks the entrants), and it is revealed so that anyone can recompute
// the order. docs/fairness-spec.md is the normative description.

// Drop modes.
const (
	ModeQueue = "queue" // first come, first served after a shuffled start (the default)
	ModeDraw  = "draw"  // entries until entry_ends_at, then a drawn ranking
)

// ShuffleAlgorithm names the version of the algorithm that turns the seed
// into positions (docs/fairness-spec.md). A change of the algorithm is a new
// version; the old one keeps its meaning for the drops that used it.
const ShuffleAlgorithm = "floodgate-shuffle-v1"

// Limits of the fairness fields.
const (
	SeedSize        = 32
	MaxClaimSeconds = 7 * 24 * 3600
	MaxPresaleList  = 100_000
	MaxEntries      = 10_000_000

	DefaultClaimSeconds = 600
)

// FairSpec is the part of a drop's spec about draws and presale.
type FairSpec struct {
	Mode         string `json:"mode,omitempty"`          // "" or "queue", or "draw"
	EntryEndsAt  int64  `json:"entry_ends_at,omitempty"` // draw: unix ms when entries close and the draw runs
	ClaimSeconds int64  `json:"claim_seconds,omitempty"` // draw: how long a winner has to take a hold
	// Presale: until PresaleUntil (unix ms) only these customers, or holders
	// of one of these one-time codes, may join the queue.
	PresaleUntil     int64    `json:"presale_until,omitempty"`
	PresaleCustomers []string `json:"presale_customers,omitempty"`
	PresaleCodes     []string `json:"presale_codes,omitempty"`
}

// DropFair is the replicated fairness state of one drop.
type DropFair struct {
	// ShuffleSeed is the committed secret (empty for drops created before
	// seeds were committed; those used the start tick's seed).
	ShuffleSeed []byte `json:"shuffle_seed,omitempty"`
	// Log is the drop's transparency log: one record per leaf.
	Log LeafLog `json:"log,omitempty"` // in chunks (leaflog.go)
	// Heads are the log sizes at which a signed tree head is published.
	Heads []HeadMark `json:"heads,omitempty"`
	// Entries of a draw, in the order they came; EntryIndex finds a
	// customer's entry.
	Entries    []Entry          `json:"entries,omitempty"`
	EntryIndex map[string]int64 `json:"entry_index,omitempty"`
	// PresaleUsed holds the one-time presale codes already used.
	PresaleUsed map[string]bool `json:"presale_used,omitempty"`
	// Notified is the draw result each entrant was last told by email.
	Notified map[string]string `json:"notified,omitempty"`
}

// Entry is one customer's entry in a draw.
type Entry struct {
	Customer string `json:"customer"`
	At       int64  `json:"at"`
}

// IsDraw reports whether d is a draw.
func (d *Drop) IsDraw() bool { return d.Spec.Mode == ModeDraw }

// opensAt is when the drop starts: its starts_at, or for a draw the end of
// the entries, when the draw runs.
func (d *Drop) opensAt() int64 {
	if d.IsDraw() {
		return d.Spec.EntryEndsAt
	}
	return d.Spec.StartsAt
}

// admitRate is the admission rate: a draw admits its winners at once.
func (d *Drop) admitRate() int64 {
	if d.IsDraw() {
		return MaxAdmitPerSecond
	}
	return d.Spec.AdmitPerSecond
}

// admitWindowMs is how long an admitted visitor has to take a hold: a draw
// winner has claim_seconds.
func (d *Drop) admitWindowMs() int64 {
	if d.IsDraw() {
		return d.Spec.ClaimSeconds * 1000
	}
	return d.Spec.AdmitWindow * 1000
}

// Commitment is the published commitment to a seed: hex SHA-256 of it.
func Commitment(seed []byte) string {
	sum := sha256.Sum256(seed)
	return hex.EncodeToString(sum[:])
}

// ShuffleKey derives the key of Permute from a committed seed: the first
// eight bytes, big-endian, of SHA-256("floodgate-shuffle-v1" ‖ 0x00 ‖ seed).
func ShuffleKey(seed []byte) uint64 {
	h := sha256.New()
	h.Write([]byte(ShuffleAlgorithm))
	h.Write([]byte{0})
	h.Write(seed)
	return binary.BigEndian.Uint64(h.Sum(nil)[:8])
}

// startKey is the key that places the early arrivals of d when it starts:
// from the committed seed, or for an older drop without one from the tick.
func (d *Drop) startKey(tickSeed uint64, id string) uint64 {
	if len(d.ShuffleSeed) == SeedSize {
		return ShuffleKey(d.ShuffleSeed)
	}
	return tickSeed ^ fnv64(id)
}

// Rank is the 0-based place of entry (or early arrival) i among n, as the
// committed seed orders them: Permute(ShuffleKey(seed), i, n).
func Rank(seed []byte, i, n int64) int64 {
	return Permute(ShuffleKey(seed), uint64(i), uint64(n))
}

// Ranking returns the entries 0..n-1 in drawn order: Ranking[r] is the entry
// with rank r.
func Ranking(seed []byte, n int64) []int64 {
	key := ShuffleKey(seed)
	out := make([]int64, n)
	for i := int64(0); i < n; i++ {
		out[Permute(key, uint64(i), uint64(n))] = i
	}
	return out
}

func validateFair(s *DropSpec) *floodgate.Error {
	bad := func(format string, args ...any) *floodgate.Error {
		return floodgate.Errorf(floodgate.EInvalid, format, args...)
	}
	switch s.Mode {
	case "", ModeQueue:
		if s.EntryEndsAt != 0 || s.ClaimSeconds != 0 {
			return bad("\"entry_ends_at\" and \"claim_seconds\" are for \"mode\": \"draw\" only.")
		}
	case ModeDraw:
		if s.EntryEndsAt <= s.StartsAt || s.EntryEndsAt > 253402300799000 {
			return bad("A draw needs \"entry_ends_at\" after \"starts_at\" (entries are taken in between).")
		}
		if s.ClaimSeconds < 10 || s.ClaimSeconds > MaxClaimSeconds {
			return bad("\"claim_seconds\" must be between 10 and %d.", MaxClaimSeconds)
		}
		if s.PresaleUntil != 0 {
			return bad("A draw has no presale; leave out \"presale_until\".")
		}
	default:
		return bad("\"mode\" must be \"queue\" or \"draw\".")
	}
	if s.PresaleUntil == 0 {
		if len(s.PresaleCustomers) > 0 || len(s.PresaleCodes) > 0 {
			return bad("\"presale_customers\" and \"presale_codes\" need \"presale_until\".")
		}
		return nil
	}
	if s.PresaleUntil <= s.StartsAt || s.PresaleUntil > 253402300799000 {
		return bad("\"presale_until\" must be after \"starts_at\" (the presale runs in between).")
	}
	if len(s.PresaleCustomers)+len(s.PresaleCodes) == 0 {
		return bad("A presale needs \"presale_customers\" or \"presale_codes\".")
	}
	if len(s.PresaleCustomers) > MaxPresaleList || len(s.PresaleCodes) > MaxPresaleList {
		return bad("At most %d presale customers and %d presale codes.", MaxPresaleList, MaxPresaleList)
	}
	for i, v := range s.PresaleCustomers {
		if v == "" || len(v) > 254 {
			return bad("Presale customer %d is empty or longer than 254 bytes.", i)
		}
	}
	for i, v := range s.PresaleCodes {
		if len(v) < 6 || len(v) > 200 {
			return bad("Presale code %d must be 6 to 200 bytes long.", i)
		}
	}
	return nil
}

// InPresale reports whether d is in its presale at now.
func (d *Drop) InPresale(now int64) bool {
	return d.Spec.PresaleUntil != 0 && now < d.Spec.PresaleUntil
}

// PresaleAllows reports whether customer is on d's presale list.
func (d *Drop) PresaleAllows(customer string) bool {
	for _, c := range d.Spec.PresaleCustomers {
		if c == customer {
			return true
		}
	}
	return false
}

// usePresaleCode spends a one-time presale code (KindUsePresaleCode).
func (s *State) usePresaleCode(c *Command) Result {
	d, refused := s.commandDrop(c)
	if d == nil {
		return refused
	}
	if !d.InPresale(c.Now) {
		return refuse(floodgate.EConflict, "The presale of this drop is over; join without a code.")
	}
	found := false
	for _, code := range d.Spec.PresaleCodes {
		if code == c.Code {
			found = true
			break
		}
	}
	if !found || c.Code == "" {
		return refuse(floodgate.EForbidden, "This presale code is not valid for this drop.")
	}
	if d.PresaleUsed[c.Code] {
		return refuse(floodgate.EForbidden, "This presale code has been used already; each code admits one visitor.")
	}
	if d.PresaleUsed == nil {
		d.PresaleUsed = map[string]bool{}
	}
	d.PresaleUsed[c.Code] = true
	return Result{Created: true}
}

// enter records a customer's entry in a draw (KindEnter); entering again
// gives the same entry.
func (s *State) enter(c *Command) Result {
	d, refused := s.commandDrop(c)
	if d == nil {
		return refused
	}
	if c.Customer == "" || len(c.Customer) > MaxKeyLength {
		return refuse(floodgate.EUnauthenticated, "An entry needs a signed-in buyer.")
	}
	if !d.IsDraw() {
		return refuse(floodgate.EConflict, "This drop is not a draw; join its queue instead.")
	}
	if i, ok := d.EntryIndex[c.Customer]; ok {
		return Result{Start: i}
	}
	switch {
	case d.Closed:
		return refuse(floodgate.EConflict, "The drop is closed.")
	case d.Started || c.Now >= d.Spec.EntryEndsAt:
		return refuse(floodgate.EConflict, "Entries for this draw have closed.")
	case c.Now < d.Spec.StartsAt:
		return refuse(floodgate.EConflict, "Entries for this draw open at %s.", Time(d.Spec.StartsAt).Format("2006-01-02 15:04:05 MST"))
	case int64(len(d.Entries)) >= MaxEntries:
		return refuse(floodgate.EConflict, "This draw has reached its maximum of %d entries.", MaxEntries)
	}
	if d.EntryIndex == nil {
		d.EntryIndex = map[string]int64{}
	}
	i := int64(len(d.Entries))
	d.Entries = append(d.Entries, Entry{Customer: c.Customer, At: c.Now})
	d.EntryIndex[c.Customer] = i
	d.EarlyNext = i + 1
	d.Log.add(LogRecord{Type: LeafEntry, At: c.Now, From: i, Ref: c.Customer})
	return Result{Created: true, Start: i}
}

// drawOrderCheck refuses an order of a draw's hold by anyone but the
// entrant the hold was claimed for: a win is not transferable.
func (d *Drop) drawOrderCheck(h *Hold, customer string) *floodgate.Error {
	if !d.IsDraw() {
		return nil
	}
	if h.Seq < 0 || h.Seq >= int64(len(d.Entries)) || d.Entries[h.Seq].Customer != customer {
		return floodgate.Errorf(floodgate.EForbidden, "This draw's win belongs to the customer who entered; sign in as that customer to order.")
	}
	return nil
}

// DrawVisitor is the visitor id of a draw entrant's claim ticket: the same
// for every claim of one entry, so that claiming again gives the same hold.
func DrawVisitor(drop, customer string) string {
	sum := sha256.Sum256([]byte("floodgate draw visitor v1\x00" + drop + "\x00" + customer))
	return "d" + hex.EncodeToString(sum[:15])
}

// Entrant states.
const (
	EntryPending = "pending" // entered; the draw has not run
	EntryWon     = "won"     // drawn: may claim (take a hold and order) until claim_by
	EntryLost    = "lost"    // not drawn, and no unit is left for backups
	EntryBackup  = "backup"  // not drawn yet: units that winners do not claim pass to backups in rank order
	EntryOrdered = "ordered" // won and ordered
	EntryExpired = "expired" // won, but the claim window or the hold ran out
)

// EntryStatus is what an entrant is told.
type EntryStatus struct {
	State   string `json:"state"`
	Index   int64  `json:"entry"`             // 0-based index of the entry, in the order entries came
	Entries int64  `json:"entries"`           // entries so far (after the draw: all of them)
	Rank    int64  `json:"rank,omitempty"`    // 1-based drawn rank (0 before the draw)
	Ahead   int64  `json:"ahead,omitempty"`   // backup: drawn entrants still ahead
	ClaimBy int64  `json:"-"`                 // won: unix ms the claim window ends
	HoldID  string `json:"hold_id,omitempty"` // won with a hold, or ordered
	OrderID string `json:"order,omitempty"`   // ordered
}

// EntryOf returns the status of customer's entry in drop at now, and false
// when the customer has not entered.
func (s *State) EntryOf(drop, customer string, now int64) (EntryStatus, bool) {
	d, ok := s.Drops[drop]
	if !ok {
		return EntryStatus{}, false
	}
	i, ok := d.EntryIndex[customer]
	if !ok {
		return EntryStatus{}, false
	}
	st := EntryStatus{Index: i, Entries: int64(len(d.Entries)), State: EntryPending}
	if !d.Started {
		if d.Closed {
			st.State = EntryLost
		}
		return st, true
	}
	st.Entries = d.EarlyTotal
	rank, known := d.Position(true, i)
	if !known || i >= d.EarlyTotal {
		st.State = EntryLost
		return st, true
	}
	st.Rank = rank + 1
	if h := s.Tickets.Get(drop, DrawVisitor(drop, customer)); h != nil {
		st.HoldID = h.ID
		switch {
		case h.Status == floodgate.HoldOrdered:
			st.State, st.OrderID = EntryOrdered, h.OrderID
		case h.Status == floodgate.HoldActive && now < h.ExpiresAt:
			st.State, st.ClaimBy = EntryWon, h.ExpiresAt
		default:
			st.State = EntryExpired
		}
		return st, true
	}
	if rank < d.AdmittedUpTo {
		st.State = EntryExpired
		for _, b := range d.Batches {
			if rank >= b.From && rank < b.To && now-b.At < d.admitWindowMs() && !d.Closed {
				st.State, st.ClaimBy = EntryWon, b.At+d.admitWindowMs()
			}
		}
		return st, true
	}
	if d.Closed || d.Sold >= d.Spec.Stock {
		st.State = EntryLost
		return st, true
	}
	st.State, st.Ahead = EntryBackup, d.Ahead(rank)
	return st, true
}

func (d *Drop) fairnessView(now int64) floodgate.DropFairness {
	v := floodgate.DropFairness{Mode: ModeQueue, LogSize: int64(d.Log.Len())}
	if len(d.ShuffleSeed) > 0 {
		v.ShuffleCommitment = Commitment(d.ShuffleSeed)
	}
	if d.IsDraw() {
		t := Time(d.Spec.EntryEndsAt)
		v.Mode, v.EntryEndsAt, v.ClaimSeconds = ModeDraw, &t, d.Spec.ClaimSeconds
		v.Entries, v.Drawn = int64(len(d.Entries)), d.Started
	}
	if d.Spec.PresaleUntil != 0 {
		t := Time(d.Spec.PresaleUntil)
		v.PresaleUntil, v.Presale = &t, d.InPresale(now) && now >= d.Spec.StartsAt
	}
	return v
}

// appendFair appends the fields CreateDropV2 adds to CreateDrop.
func appendFair(buf []byte, c *Command) []byte {
	buf = appendString(buf, string(c.ShuffleSeed))
	s := c.Spec
	if s == nil {
		s = &DropSpec{}
	}
	return appendFields(buf, s.FairSpec.fields())
}

// fair decodes what appendFair wrote into c (whose Spec is decoded).
func (d *decoder) fair(c *Command) {
	if seed := d.raw(); seed != "" {
		c.ShuffleSeed = []byte(seed)
	}
	d.fields(c.Spec.FairSpec.fields())
}

// MaxNotifiedBatch is the most entrants one DrawNotified command names.
const MaxNotifiedBatch = 1000

// drawNotified records that entrants were told a result (KindDrawNotified),
// so that the leader tells each entrant each result once, across restarts
// and leader changes.
func (s *State) drawNotified(c *Command) Result {
	d, refused := s.commandDrop(c)
	if d == nil {
		return refused
	}
	switch c.Code {
	case EntryWon, EntryLost, EntryBackup, EntryExpired:
	default:
		return refuse(floodgate.EInvalid, "%q is not a draw result to notify.", c.Code)
	}
	if len(c.Customers) == 0 || len(c.Customers) > MaxNotifiedBatch {
		return refuse(floodgate.EInvalid, "Name 1 to %d entrants.", MaxNotifiedBatch)
	}
	for _, cu := range c.Customers {
		if _, ok := d.EntryIndex[cu]; !ok {
			return refuse(floodgate.ENotFound, "%q has not entered this draw.", cu)
		}
	}
	if d.Notified == nil {
		d.Notified = map[string]string{}
	}
	for _, cu := range c.Customers {
		d.Notified[cu] = c.Code
	}
	return Result{}
}
