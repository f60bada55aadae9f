package sale

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"reflect"
	"slices"
	"sync"
	"testing"

	"github.com/floodgate/floodgate"
)

// gen makes random command sequences over a small world (3 drop ids, a few
// dozen visitors, 8 customers, 40 idempotency keys), so that commands collide
// often: the same ticket holds twice, keys are reused for other holds,
// customers reach their limit, holds expire while being ordered.
type gen struct {
	r   *rand.Rand
	now int64
	s   *State // the state the commands are applied to, for realistic picks
}

var genDrops = []string{"a", "b", "c"}

func (g *gen) pick(n int) int { return g.r.IntN(n) }

func (g *gen) chance(p float64) bool { return g.r.Float64() < p }

func (g *gen) drop() string {
	if g.chance(0.03) {
		return "zz" // a drop that never exists
	}
	return genDrops[g.pick(len(genDrops))]
}

func (g *gen) visitor() string { return fmt.Sprintf("visitor-%02d", g.pick(40)) }

func (g *gen) customer() string { return fmt.Sprintf("c%d@example.com", g.pick(8)) }

func (g *gen) spec(id string) *DropSpec {
	stock := int64(1 + g.pick(20))
	sp := &DropSpec{
		ID:               id,
		Name:             "Drop " + id,
		Price:            int64(g.pick(100000)),
		Currency:         "KRW",
		Stock:            stock,
		PerCustomerLimit: 1 + int64(g.pick(int(min(stock, 3)))),
		StartsAt:         g.now + int64(g.pick(8000)) - 2000,
		HoldSeconds:      10 + int64(g.pick(20)),
		AdmitPerSecond:   1 + int64(g.pick(30)),
		AdmitWindow:      5 + int64(g.pick(10)),
		Fingerprint:      fmt.Sprintf("fp%d", g.pick(2)),
		// -1 (auto) to 28 bits, drawn without touching the generator so
		// that the sequences stay what they were; the state machine only
		// keeps it.
		ChallengeDifficulty: stock%(MaxChallengeDifficulty+2) - 1,
	}
	if g.chance(0.5) {
		n := g.pick(int(stock) + 3)
		for i := range n {
			sp.Vouchers = append(sp.Vouchers, fmt.Sprintf("%s-V%03d", id, i))
		}
	}
	if g.chance(0.5) {
		sp.PaymentSeconds = 1 + int64(g.pick(20))
	}
	switch g.pick(20) { // now and then a spec that must be refused
	case 0:
		sp.Stock = 0
	case 1:
		sp.Stock = MaxStock + 1
	case 2:
		sp.PerCustomerLimit = sp.Stock + 1
	case 3:
		if len(sp.Vouchers) > 1 {
			sp.Vouchers[1] = sp.Vouchers[0]
		}
	case 4:
		sp.HoldSeconds = 0
	}
	return sp
}

// holdID picks the id of a hold that exists (mostly) or one that does not.
func (g *gen) hold() (id, visitor string) {
	if g.s.Holds.Len() == 0 || g.chance(0.05) {
		return fmt.Sprintf("h_%d_nope", g.pick(50)), g.visitor()
	}
	id = pickID(g, &g.s.Holds)
	visitor = g.s.Holds.Get(id).Visitor
	if g.chance(0.05) {
		visitor = g.visitor()
	}
	return id, visitor
}

// pickKey picks one key of m. The keys are sorted first: ranging over a map
// would make the same seed give another sequence on every run.
func pickKey[V any](g *gen, m map[string]V) string {
	keys := slices.Sorted(maps.Keys(m))
	return keys[g.pick(len(keys))]
}

// pickID picks the id of an item of t, as pickKey does from a map.
func pickID[T any, P interface {
	*T
	id() string
}](g *gen, t *table[T, P]) string {
	ids := make([]string, 0, t.Len())
	for p := range t.All() {
		ids = append(ids, P(p).id())
	}
	slices.Sort(ids)
	return ids[g.pick(len(ids))]
}

func (g *gen) command() Command {
	g.now += int64(g.pick(400))
	if g.chance(0.02) {
		g.now -= 1500 // a new leader whose clock is a little behind
	}
	c := Command{Now: g.now}
	if g.chance(0.15) {
		g.paymentCommand(&c)
		return c
	}
	switch p := g.pick(104); {
	case p < 6:
		id := g.drop()
		c.Kind, c.Drop, c.Spec = KindCreateDrop, id, g.spec(id)
		g.fair(&c)
	case p < 14:
		c.Kind, c.Drop, c.Early = KindReserveBlock, g.drop(), g.chance(0.4)
		c.Size = int64(1 + g.pick(6))
		// A new leader's first block, early or late (no extra draw: the
		// seeds' runs stay).
		c.Fresh = c.Size%3 == 0
		if g.chance(0.03) {
			c.Size = 0
		}
	case p < 36:
		c.Kind = KindTick
		c.Now += int64(g.pick(3000))
		g.now = c.Now
		c.Seed = g.r.Uint64()
		c.Paused = g.chance(0.2)
		c.MaxPauseMs = int64(g.pick(5000))
		for _, id := range genDrops {
			d, ok := g.s.Drops[id]
			if !ok || g.chance(0.1) {
				continue
			}
			// What the leader reports: what it handed out, with noise
			// (a lost leader's unreported positions, a stale report).
			early := max(0, d.EarlyNext-int64(g.pick(3)))
			if early%5 == 4 {
				early = -1 // a leader without an early block of its own
			}
			c.Issued = append(c.Issued, Issued{
				Drop:  id,
				Early: early,
				Late:  max(0, d.LateNext-int64(g.pick(3))+int64(g.pick(2))),
			})
		}
	case p < 60:
		c.Kind, c.Drop, c.Visitor = KindHold, g.drop(), g.visitor()
		c.Early = g.chance(0.3)
		c.Seq = int64(g.pick(12))
		if d, ok := g.s.Drops[c.Drop]; ok && g.chance(0.7) {
			// A ticket that was really handed out.
			if c.Early {
				c.Seq = int64(g.pick(int(d.EarlyNext) + 1))
			} else {
				c.Seq = int64(g.pick(int(d.LateNext) + 1))
			}
		}
		c.Quantity = int64(g.pick(4))
		if g.chance(0.02) {
			c.Visitor = ""
		}
	case p < 68:
		c.Kind = KindRelease
		c.HoldID, c.Visitor = g.hold()
	case p < 92:
		c.Kind = KindOrder
		c.HoldID, c.Visitor = g.hold()
		c.Customer = g.customer()
		c.IdemKey = fmt.Sprintf("key-%02d", g.pick(40))
		if g.chance(0.02) {
			c.IdemKey = ""
		}
		if g.chance(0.02) {
			c.Customer = ""
		}
	case p < 94:
		c.Kind, c.Drop = KindCloseDrop, g.drop()
	case p < 95:
		c.Kind, c.Secret = KindInitSecret, bytes.Repeat([]byte{byte(g.pick(256))}, 32+g.pick(3))
	case p < 96:
		c.Kind, c.NodeID, c.HTTPAddr = KindSetNode, fmt.Sprintf("n%d", g.pick(3)), fmt.Sprintf("http://127.0.0.1:%d", 8000+g.pick(3))
		if g.chance(0.3) {
			c.HTTPAddr = ""
		}
	case p < 97:
		g.tenantCommand(&c)
	case p < 98:
		c.Kind = KindStatus
		for range g.pick(4) {
			op := StatusOp{Key: fmt.Sprintf("incidents/inc_%d", g.pick(5))}
			if g.chance(0.3) {
				op.Del = true
			} else {
				op.Value = []byte(fmt.Sprintf(`{"n":%d}`, g.pick(100)))
			}
			if g.chance(0.05) {
				op.Key = "no-bucket"
			}
			c.StatusOps = append(c.StatusOps, op)
		}
	case p < 99:
		c.Kind, c.Drop, c.Customer = KindEnter, g.drop(), g.customer()
		if g.chance(0.3) {
			c.Kind, c.Customer, c.Code = KindUsePresaleCode, "", fmt.Sprintf("CODE-%04d", g.pick(4))
		}
		if g.chance(0.2) {
			c.Kind, c.Customer, c.Code = KindDrawNotified, "", []string{"won", "lost", "backup", "pending"}[g.pick(4)]
			c.Customers = []string{g.customer(), g.customer()}
		}
	case p == 103:
		c.Kind, c.SessionID, c.Until = KindRevokeSession, fmt.Sprintf("sid-%d", g.pick(6)), g.now+int64(g.pick(5000))-1000
		if g.chance(0.05) {
			c.SessionID = ""
		}
	case p >= 100:
		g.controlCommand(&c)
	default:
		c.Kind = Kind(10 + g.pick(240)) // a kind no version knows
		for knownKind(c.Kind) {
			c.Kind = Kind(10 + g.pick(240))
		}
	}
	return c
}

// knownKind reports whether this version decodes kind k.
func knownKind(k Kind) bool {
	_, err := DecodeCommand(AppendCommand(nil, &Command{Kind: k}))
	return err == nil || k == KindAudited
}

// controlCommand fills c with an operator's live control, often audited.
func (g *gen) controlCommand(c *Command) {
	c.Drop = g.drop()
	switch g.pick(4) {
	case 0:
		c.Kind, c.Reason = KindPauseDrop, []string{"", "payment provider down"}[g.pick(2)]
	case 1:
		c.Kind = KindResumeDrop
	default:
		c.Kind, c.Patch = KindUpdateDrop, &DropPatch{}
		if g.chance(0.5) {
			v := int64(g.pick(30) - 5)
			c.Patch.Stock = &v
		}
		if g.chance(0.4) {
			v := int64(g.pick(2000) - 100)
			c.Patch.AdmitPerSecond = &v
		}
		if g.chance(0.2) {
			v := int64(5 + g.pick(60))
			c.Patch.HoldSeconds = &v
		}
		if g.chance(0.2) {
			v := g.now + int64(g.pick(20_000)-2000)
			c.Patch.EndsAt = &v
		}
		if g.chance(0.1) {
			v := "Renamed"
			c.Patch.Name = &v
		}
		if c.Patch.Empty() {
			c.Patch = nil
		}
	}
	if g.chance(0.6) {
		inner := *c
		*c = Command{Kind: KindAudited, Now: c.Now, Op: &Operator{Actor: "admin", From: "127.0.0.1"}, Inner: &inner}
	}
}

// fair turns half of the drops created into drops with a committed seed,
// some of them draws or presales.
func (g *gen) fair(c *Command) {
	if g.chance(0.5) {
		return
	}
	c.Kind, c.ShuffleSeed = KindCreateDropV2, bytes.Repeat([]byte{byte(g.pick(256))}, SeedSize)
	sp := c.Spec
	switch g.pick(3) {
	case 0:
		sp.Mode, sp.EntryEndsAt, sp.ClaimSeconds = ModeDraw, sp.StartsAt+int64(1+g.pick(5000)), 10+int64(g.pick(20))
	case 1:
		sp.PresaleUntil = sp.StartsAt + int64(1+g.pick(5000))
		sp.PresaleCodes = []string{"CODE-0000", "CODE-0001"}
		sp.PresaleCustomers = []string{g.customer()}
	}
}

// garbage returns random bytes that may or may not decode.
func (g *gen) garbage() []byte {
	b := make([]byte, g.pick(24))
	for i := range b {
		b[i] = byte(g.r.UintN(256))
	}
	if len(b) > 0 && g.chance(0.7) {
		b[0] = byte(1 + g.pick(9)) // a known kind, so decoding goes further
	}
	if g.chance(0.1) {
		// Text that is not UTF-8, which a JSON snapshot could not keep:
		// refused by the decoder.
		b = AppendCommand(nil, &Command{Kind: KindSetNode, Now: g.now, NodeID: "n\xff" + string(b), HTTPAddr: "http://127.0.0.1:1"})
	}
	return b
}

// checker holds what the property test remembers across steps to check
// rules that State.Check cannot see from one state alone.
type checker struct {
	startBase map[string]int64 // LastTick when the drop started: admission credit begins there
	maxRate   map[string]int64 // the highest admit_per_second a drop has had
}

// step applies one encoded command to s, checks every invariant and rule,
// and returns the result. ok is false when the bytes did not decode.
func (ck *checker) step(tb testing.TB, s *State, buf []byte) (res Result, ok bool) {
	tb.Helper()
	c, err := DecodeCommand(buf)
	if err != nil {
		return Result{}, false
	}
	type snap struct {
		counts            [3]int64
		admitted, issued  int64
		started           bool
		unresolved, avail int64
		paused            bool
		gapped            int64 // positions passed over as late gaps
	}
	before := map[string]snap{}
	for id, d := range s.Drops {
		before[id] = snap{[3]int64{d.Available, d.Held, d.Sold}, d.AdmittedUpTo, d.Issued, d.Started, d.Unresolved(), d.Available, d.Paused, lateGapsPassed(d)}
	}
	lastTick, nHolds, nOrders, nextHold, nextOrder := s.LastTick, s.Holds.Len(), s.Orders.Len(), s.NextHold, s.NextOrder
	before2 := paymentSnapshot(s)

	res = s.Apply(&c)

	if err := s.Check(); err != nil {
		tb.Fatalf("after %v %+v: %v", c.Kind, c, err)
	}
	if res.Err != nil {
		if res.Err.Code == "" || res.Err.Message == "" {
			tb.Fatalf("%v refused without code or message: %+v", c.Kind, res.Err)
		}
		// A refusal creates nothing. (Expiring a due hold on the way is a
		// change of time, not of the command, and is allowed.)
		if s.Holds.Len() != nHolds || s.Orders.Len() != nOrders || s.NextHold != nextHold || s.NextOrder != nextOrder {
			tb.Fatalf("refused %v created something: %v", c.Kind, res.Err)
		}
		for id, b := range before {
			d := s.Drops[id]
			if d.Sold != b.counts[2] {
				tb.Fatalf("refused %v changed sold of %s", c.Kind, id)
			}
		}
	}
	for id, d := range s.Drops {
		b, existed := before[id]
		if d.AdmittedUpTo > d.Issued {
			tb.Fatalf("drop %s admitted up to %d beyond %d issued", id, d.AdmittedUpTo, d.Issued)
		}
		if d.Issued > d.EarlyTotal+d.LateNext {
			tb.Fatalf("drop %s counts %d issued, more than the %d+%d reserved", id, d.Issued, d.EarlyTotal, d.LateNext)
		}
		if existed && (d.AdmittedUpTo < b.admitted || d.Issued < b.issued || d.Sold < b.counts[2] && c.Kind != KindOrderCancel) {
			tb.Fatalf("drop %s went backwards: admitted %d→%d issued %d→%d sold %d→%d", id, b.admitted, d.AdmittedUpTo, b.issued, d.Issued, b.counts[2], d.Sold)
		}
		if c.Kind == KindTick && existed && b.paused && d.AdmittedUpTo != b.admitted {
			tb.Fatalf("tick admitted %s up to %d while paused", id, d.AdmittedUpTo)
		}
		ck.maxRate[id] = max(ck.maxRate[id], d.Spec.AdmitPerSecond)
		if c.Kind != KindTick && existed && d.AdmittedUpTo != b.admitted {
			tb.Fatalf("%v moved admission of %s", c.Kind, id)
		}
		if c.Kind == KindTick && existed && !b.started && d.Started {
			ck.startBase[id] = lastTick
			if lastTick == 0 {
				ck.startBase[id] = c.Now
			}
		}
		if c.Kind == KindTick && existed && d.AdmittedUpTo-lateGapsPassed(d) > b.admitted-b.gapped {
			// New admissions only where stock can serve every admitted
			// visitor still inside its window (passing a late gap admits
			// nobody).
			if d.Unresolved() > d.Available {
				tb.Fatalf("tick admitted %s up to %d: %d unresolved for %d available", id, d.AdmittedUpTo, d.Unresolved(), d.Available)
			}
		}
		if err := admitRecordsCover(d); err != nil {
			tb.Fatalf("after %v: drop %s: %v", c.Kind, id, err)
		}
		if d.Started && !d.IsDraw() {
			// Never faster than admit_per_second since the start.
			// Positions nobody holds (early skips, late gaps) are passed
			// over for free.
			if base, ok := ck.startBase[id]; ok && (d.AdmittedUpTo-d.EarlySkipped-lateGapsPassed(d))*1000 > ck.maxRate[id]*(s.LastTick-base) {
				tb.Fatalf("drop %s admitted %d in %d ms at %d/s", id, d.AdmittedUpTo, s.LastTick-base, ck.maxRate[id])
			}
		}
	}
	switch {
	case res.Err != nil:
	case c.Kind == KindHold && res.Created:
		d := s.Drops[c.Drop]
		b := before[c.Drop]
		if d.Held != b.counts[1]+c.Quantity {
			tb.Fatalf("hold of %d moved held %d→%d", c.Quantity, b.counts[1], d.Held)
		}
		pos, known := d.Position(c.Early, c.Seq)
		if !known || pos >= d.AdmittedUpTo {
			tb.Fatalf("a hold was given at position %d (known %v) with admission at %d", pos, known, d.AdmittedUpTo)
		}
		// A hold never takes a unit promised to another admitted visitor:
		// one uncounted takes only units nobody was promised. (Admission
		// counts a unit per visitor: a counted visitor who holds several
		// units may leave another without, as per_customer_limit allows.)
		if (c.Quantity == 1 || !d.Counted(pos)) && b.unresolved <= b.avail && d.Unresolved() > d.Available {
			tb.Fatalf("a hold at position %d (counted %v) left %d admitted visitors undecided for %d units", pos, d.Counted(pos), d.Unresolved(), d.Available)
		}
	case c.Kind == KindOrder && res.Created:
		d := s.Drops[res.Order.Drop]
		wantSold := before[res.Order.Drop].counts[2]
		if d.Spec.PaymentSeconds == 0 {
			wantSold += res.Order.Quantity
		}
		if d.Sold != wantSold {
			tb.Fatalf("an order of %d moved sold %d→%d", res.Order.Quantity, before[res.Order.Drop].counts[2], d.Sold)
		}
		if res.Order.Customer != c.Customer || res.Order.HoldID != c.HoldID {
			tb.Fatalf("order %+v for command %+v", res.Order, c)
		}
	}
	ck.checkPayment(tb, s, &c, res, before2)
	return res, true
}

// run generates and applies steps commands from seed and returns the
// encoded log (including garbage), the results and the final state.
func run(tb testing.TB, seed uint64, steps int) (log [][]byte, results []Result, s *State) {
	tb.Helper()
	s = NewState()
	g := &gen{r: rand.New(rand.NewPCG(seed, seed^0x5EED)), now: t0 - 10_000, s: s}
	ck := &checker{startBase: map[string]int64{}, maxRate: map[string]int64{}}
	for i := range steps {
		var buf []byte
		if i < len(genDrops) {
			// Most sequences open with their drops, so that the rest of
			// the commands meet real ones.
			id := genDrops[i]
			c := Command{Kind: KindCreateDrop, Now: g.now, Drop: id, Spec: g.spec(id)}
			buf = AppendCommand(nil, &c)
		} else if g.chance(0.03) {
			buf = g.garbage()
		} else {
			c := g.command()
			buf = AppendCommand(nil, &c)
			dc, err := DecodeCommand(buf)
			if !knownKind(c.Kind) {
				if err == nil {
					tb.Fatalf("unknown kind %d decoded", c.Kind)
				}
				// Unknown kinds still reach Apply directly, as a newer
				// leader's log would.
				if res := s.Apply(&c); res.Err == nil {
					tb.Fatalf("unknown kind %d accepted", c.Kind)
				}
				if err := s.Check(); err != nil {
					tb.Fatal(err)
				}
				s.Applied-- // not part of the log below
				continue
			}
			if err != nil {
				tb.Fatalf("decode of an encoded %v: %v", c.Kind, err)
			}
			if !reflect.DeepEqual(dc, c) {
				tb.Fatalf("round trip changed the command:\n got %+v\nwant %+v", dc, c)
			}
		}
		res, ok := ck.step(tb, s, buf)
		log = append(log, buf)
		if ok {
			results = append(results, res)
		}
	}
	return log, results, s
}

// replay applies a log through batches (grouped at random, as the store's
// group commit does) on a fresh state, optionally snapshotting (Marshal →
// Unmarshal) after snapAt commands. Each batch's bytes are overwritten once
// applied.
func replay(tb testing.TB, log [][]byte, r *rand.Rand, snapAt int) (*State, []Result) {
	tb.Helper()
	s := NewState()
	var results []Result
	applied := 0
	for i := 0; i < len(log); {
		n := 1 + r.IntN(8)
		end := min(i+n, len(log))
		if i < snapAt && end > snapAt {
			end = snapAt
		}
		batch := AppendBatch(nil, log[i:end])
		err := SplitBatch(batch, func(cmd []byte) error {
			c, err := DecodeCommand(cmd)
			if err == nil {
				results = append(results, s.Apply(&c))
			}
			applied++
			return nil
		})
		if err != nil {
			tb.Fatalf("split a batch of %d commands: %v", end-i, err)
		}
		// Nothing the state or a result keeps may point into the batch
		// (buyers' commands are read in place): the final state and the
		// results must not see this.
		for k := range batch {
			batch[k] = 'X'
		}
		i = end
		if applied == snapAt {
			s = snapshot(tb, s)
		}
	}
	return s, results
}

// TestPropertyRandomCommandSequences is the property test of the state
// machine: thousands of random command sequences, every invariant after every
// command, and determinism: the same log replayed through the binary batch
// encoding, with or without a snapshot in the middle, gives byte-identical
// state and the same results.
func TestPropertyRandomCommandSequences(t *testing.T) {
	seqs, steps := 3000, 150
	switch {
	case testing.Short():
		seqs = 200
	case raceEnabled:
		seqs = 1000
	}
	const workers = 4
	var (
		mu    sync.Mutex
		stats = map[string]int{}
	)
	t.Run("group", func(t *testing.T) {
		for w := range workers {
			t.Run(fmt.Sprintf("worker%d", w), func(t *testing.T) {
				t.Parallel()
				local := map[string]int{}
				for seed := uint64(1 + w); seed <= uint64(seqs); seed += workers {
					checkSequence(t, seed, steps, local)
				}
				mu.Lock()
				for k, v := range local {
					stats[k] += v
				}
				mu.Unlock()
			})
		}
	})
	t.Logf("outcomes over %d sequences: %v", seqs, stats)
	// The generator must reach every interesting path, or the property
	// test proves little.
	for _, k := range []string{"orders", "holds", "hold expired", "hold released", "hold ordered",
		"refused " + floodgate.ESoldOut, "refused " + floodgate.ELimitExceeded, "refused " + floodgate.EConflict,
		"refused " + floodgate.EHoldExpired, "refused " + floodgate.EAlreadyOrdered, "refused " + floodgate.ENotAdmitted,
		"order " + floodgate.OrderPaid, "order " + floodgate.OrderExpired, "order " + floodgate.OrderCancelled,
		"order " + floodgate.OrderAwaitingPayment, "refused " + floodgate.EPaymentExpired, "sinks", "events pruned", "early positions skipped"} {
		if stats[k] == 0 {
			t.Errorf("no sequence reached %q", k)
		}
	}
}

// checkSequence runs one random sequence with all its checks, replays it
// with and without a snapshot, and counts its outcomes into stats.
func checkSequence(t *testing.T, seed uint64, steps int, stats map[string]int) {
	t.Helper()
	log, results, s := run(t, seed, steps)
	want, err := s.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if std, err := json.Marshal(s); err != nil || !bytes.Equal(want, std) {
		t.Fatalf("seed %d: Marshal differs from encoding/json (%v):\n got %s\nwant %s", seed, err, want, std)
	}
	r := rand.New(rand.NewPCG(seed, 99))
	got, gotResults := replay(t, log, r, -1)
	gotBytes, _ := got.Marshal()
	if !bytes.Equal(gotBytes, want) {
		t.Fatalf("seed %d: replay gives another state:\n got %s\nwant %s", seed, gotBytes, want)
	}
	if !reflect.DeepEqual(gotResults, results) {
		t.Fatalf("seed %d: replay gives other results", seed)
	}
	snapAt := 1 + r.IntN(len(log)-1)
	snapped, snapResults := replay(t, log, r, snapAt)
	snapBytes, _ := snapped.Marshal()
	if !bytes.Equal(snapBytes, want) {
		t.Fatalf("seed %d: snapshot after %d commands then the rest gives another state:\n got %s\nwant %s", seed, snapAt, snapBytes, want)
	}
	if !reflect.DeepEqual(snapResults, results) {
		t.Fatalf("seed %d: snapshot after %d commands gives other results", seed, snapAt)
	}
	for _, res := range results {
		switch {
		case res.Err != nil:
			stats["refused "+res.Err.Code]++
		case res.Created && res.Order.ID != "":
			stats["orders"]++
		case res.Created && res.Hold.ID != "":
			stats["holds"]++
		}
	}
	for h := range s.Holds.All() {
		stats["hold "+h.Status]++
	}
	for o := range s.Orders.All() {
		stats["order "+o.Status]++
	}
	if len(s.Sinks) > 0 {
		stats["sinks"]++
	}
	if e := s.Events.First(); e != nil && e.Seq > 1 {
		stats["events pruned"]++
	}
	for _, d := range s.Drops {
		if d.EarlySkipped > 0 {
			stats["early positions skipped"]++
		}
	}
}
