package sale

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"
)

// The transparency log of a drop. The state machine appends one small record
// per event that decides who gets the stock: the start (or the draw), each
// step of the admission counter, each draw entry, each order and the close.
// The leaf bytes are derived from the records and the state on demand
// (LogLeaf), so the log costs the hot path one append; the Merkle tree over
// the leaves is built outside the state machine, lazily (package fairness).

// Leaf types.
const (
	LeafStart = "start" // the drop opened: early arrivals placed, or the draw ran
	LeafAdmit = "admit" // positions [from, to) admitted (gap: passed over as a late gap)
	LeafEntry = "entry" // a draw entry
	LeafOrder = "order" // an order (the leaf is the order's receipt payload)
	LeafClose = "close" // the drop was closed
)

// HeadInterval is how often, at most, a tick publishes a tree head of a drop
// whose log grew.
const HeadInterval = 10_000 // ms

// LogRecord is one leaf of a drop's log, as the state keeps it.
type LogRecord struct {
	Type string `json:"t"`
	At   int64  `json:"at"`
	From int64  `json:"f,omitempty"` // admit: first position; entry: entry index
	To   int64  `json:"o,omitempty"` // admit: end position (exclusive)
	Ref  string `json:"r,omitempty"` // entry: customer; order: order id
	// Gap marks an admit record of positions passed over as a late gap:
	// reserved by a lost leader, never reported as handed out.
	Gap bool `json:"g,omitempty"`
}

// HeadMark is a published tree head: the log size at a time.
type HeadMark struct {
	Size  int64 `json:"n"`
	At    int64 `json:"at"`
	Final bool  `json:"final,omitempty"`
}

// Leaf is the JSON of one log leaf. Fields that do not apply to a type are
// left out. The order leaf is the payload of the order's receipt.
type Leaf struct {
	Type              string `json:"type"`
	Drop              string `json:"drop"`
	Order             string `json:"order,omitempty"`
	CustomerHash      string `json:"customer_hash,omitempty"`
	Position          int64  `json:"position,omitempty"`
	AdmittedAt        string `json:"admitted_at,omitempty"`
	OrderedAt         string `json:"ordered_at,omitempty"`
	Quantity          int64  `json:"quantity,omitempty"`
	Early             *bool  `json:"early,omitempty"`
	Seq               *int64 `json:"seq,omitempty"`
	Mode              string `json:"mode,omitempty"`
	Algorithm         string `json:"algorithm,omitempty"`
	ShuffleCommitment string `json:"shuffle_commitment,omitempty"`
	Stock             int64  `json:"stock,omitempty"`
	EarlyTotal        *int64 `json:"early_total,omitempty"`
	From              *int64 `json:"from,omitempty"`
	To                *int64 `json:"to,omitempty"`
	Gap               bool   `json:"gap,omitempty"`
	Entry             *int64 `json:"entry,omitempty"`
	At                string `json:"at,omitempty"`
	LogIndex          int64  `json:"log_index"`
}

// CustomerHash hides a customer's id in the log and receipts while letting
// the customer (who knows it) find their own leaves: hex SHA-256 of
// "floodgate-customer-v1" ‖ 0x00 ‖ drop ‖ 0x00 ‖ customer.
func CustomerHash(drop, customer string) string {
	sum := customerHashSum(drop, customer)
	return hex.EncodeToString(sum[:])
}

func customerHashSum(drop, customer string) [sha256.Size]byte {
	h := sha256.New()
	h.Write([]byte("floodgate-customer-v1\x00"))
	h.Write([]byte(drop))
	h.Write([]byte{0})
	h.Write([]byte(customer))
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum
}

// LogTime formats a log time: RFC 3339 in UTC with milliseconds.
func LogTime(ms int64) string { return Time(ms).Format("2006-01-02T15:04:05.000Z07:00") }

// ParseLogTime reads a time written by LogTime.
func ParseLogTime(s string) (int64, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return 0, err
	}
	return t.UnixMilli(), nil
}

// LogSize returns the number of leaves in drop's log (0 for no such drop).
func (s *State) LogSize(drop string) int64 {
	if d, ok := s.Drops[drop]; ok {
		return int64(d.Log.Len())
	}
	return 0
}

// LogLeaf returns the bytes of leaf i of drop's log.
func (s *State) LogLeaf(drop string, i int64) ([]byte, bool) {
	d, ok := s.Drops[drop]
	if !ok || i < 0 || i >= int64(d.Log.Len()) {
		return nil, false
	}
	r := d.Log.At(int(i))
	l := Leaf{Type: r.Type, Drop: drop, LogIndex: i, At: LogTime(r.At)}
	switch r.Type {
	case LeafStart:
		l.Mode = d.Spec.Mode
		if l.Mode == "" {
			l.Mode = ModeQueue
		}
		l.Stock = d.Spec.Stock
		l.EarlyTotal = &d.EarlyTotal
		if len(d.ShuffleSeed) > 0 {
			l.Algorithm, l.ShuffleCommitment = ShuffleAlgorithm, Commitment(d.ShuffleSeed)
		}
	case LeafAdmit:
		l.From, l.To, l.Gap = &r.From, &r.To, r.Gap
	case LeafEntry:
		l.Entry = &r.From
		l.CustomerHash = CustomerHash(drop, r.Ref)
	case LeafOrder:
		o := s.Orders.Get(r.Ref)
		if o == nil {
			return nil, false
		}
		return s.orderLeaf(o, i), true
	}
	b, _ := json.Marshal(l)
	return b, true
}

// orderLeaf is the leaf of order o, also the payload of its receipt.
func (s *State) orderLeaf(o *Order, i int64) []byte {
	return appendOrderLeaf(make([]byte, 0, 320), o, s.Holds.Get(o.HoldID), i)
}

// ReceiptPayload returns the receipt payload of order id (its log leaf), and
// false when the order is unknown or predates the log.
func (s *State) ReceiptPayload(id string) ([]byte, bool) {
	o := s.Orders.Get(id)
	if o == nil || o.LogSeq == 0 {
		return nil, false
	}
	return s.orderLeaf(o, o.LogSeq-1), true
}

// HeadAt returns the time of a tree head of size n of d: the time of its last
// leaf, or the drop's creation for an empty log.
func (d *Drop) HeadAt(n int64) int64 {
	if n <= 0 || n > int64(d.Log.Len()) {
		return d.CreatedAt
	}
	return d.Log.At(int(n - 1)).At
}

// logStart records the start of d (the draw, for a draw).
func (d *Drop) logStart(now int64) {
	if d.IsDraw() {
		d.EarlyTotal = int64(len(d.Entries))
		d.Issued = d.EarlyTotal
	}
	d.Log.add(LogRecord{Type: LeafStart, At: now})
}

// logClose records the close of d and publishes its final head.
func (d *Drop) logClose(now int64) {
	d.Log.add(LogRecord{Type: LeafClose, At: now})
	d.Heads = append(d.Heads, HeadMark{Size: int64(d.Log.Len()), At: now, Final: true})
}

// markHead publishes a head when the log grew and the last head is at least
// HeadInterval old.
func (d *Drop) markHead(now int64) {
	n := int64(d.Log.Len())
	if n == 0 {
		return
	}
	if k := len(d.Heads); k > 0 {
		last := d.Heads[k-1]
		if last.Size >= n || now-last.At < HeadInterval {
			return
		}
	}
	d.Heads = append(d.Heads, HeadMark{Size: n, At: now})
}

// checkFair verifies the invariants of the transparency logs (State.Check):
// every order is logged once, at the index it records; draw entries are
// numbered in order, one per customer, all before the draw; the admission
// records cover every move of the counter, each starting where the one
// before ended (late gaps among the late positions); published heads grow
// and stay within the log.
func (s *State) checkFair() error {
	for o := range s.Orders.All() {
		if o.LogSeq == 0 {
			continue
		}
		id := o.ID
		d := s.Drops[o.Drop]
		if d == nil || o.LogSeq > int64(d.Log.Len()) || d.Log.At(int(o.LogSeq-1)).Type != LeafOrder || d.Log.At(int(o.LogSeq-1)).Ref != id {
			return fmt.Errorf("order %s: log index %d is not its leaf", id, o.LogSeq-1)
		}
	}
	for id, d := range s.Drops {
		var entries, admitted int64
		started := false
		for i, r := range d.Log.All() {
			switch r.Type {
			case LeafEntry:
				if started || r.From != entries || d.EntryIndex[r.Ref] != entries {
					return fmt.Errorf("drop %s: leaf %d: entry %d of %s out of order", id, i, r.From, r.Ref)
				}
				entries++
			case LeafStart:
				if started {
					return fmt.Errorf("drop %s: leaf %d: a second start", id, i)
				}
				started = true
			case LeafAdmit:
				if !started || r.From != admitted || r.To <= r.From || r.Gap && r.From < d.EarlyTotal {
					return fmt.Errorf("drop %s: leaf %d: admission [%d, %d) after %d", id, i, r.From, r.To, admitted)
				}
				admitted = r.To
			case LeafOrder:
				if o := s.Orders.Get(r.Ref); o == nil || o.LogSeq != int64(i+1) {
					return fmt.Errorf("drop %s: leaf %d: order %s does not point back to it", id, i, r.Ref)
				}
			}
		}
		if entries != int64(len(d.Entries)) || len(d.EntryIndex) != len(d.Entries) {
			return fmt.Errorf("drop %s: %d entries, %d logged, %d indexed", id, len(d.Entries), entries, len(d.EntryIndex))
		}
		if admitted > d.AdmittedUpTo || started && admitted != d.AdmittedUpTo {
			return fmt.Errorf("drop %s: the log admits up to %d, the counter is at %d", id, admitted, d.AdmittedUpTo)
		}
		var last int64
		for _, h := range d.Heads {
			if h.Size < last || h.Size > int64(d.Log.Len()) {
				return fmt.Errorf("drop %s: published head of %d leaves after %d, log of %d", id, h.Size, last, d.Log.Len())
			}
			last = h.Size
		}
	}
	return nil
}
