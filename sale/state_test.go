package sale

import (
	"fmt"
	"testing"

	"github.com/floodgate/floodgate"
)

func TestHoldExpiresAtItsTick(t *testing.T) {
	s, now := openDrop(t, spec("d", 3), 10)
	h := mustOK(t, s, holdCmd("d", "v1", 0, 1, now)).Hold
	wantCounts(t, s, "d", 2, 1, 0)
	expires := now + 10_000
	if got := h.ExpiresAt.UnixMilli(); got != expires {
		t.Fatalf("expires_at = %d, want created + hold_seconds = %d", got, expires)
	}
	tick(t, s, expires-1, false)
	wantCounts(t, s, "d", 2, 1, 0)
	if st := s.Holds.Get(h.ID).Status; st != floodgate.HoldActive {
		t.Fatalf("one ms before expiry the hold is %s", st)
	}
	tick(t, s, expires, false)
	wantCounts(t, s, "d", 3, 0, 0)
	if st := s.Holds.Get(h.ID).Status; st != floodgate.HoldExpired {
		t.Fatalf("at expiry the hold is %s, want expired", st)
	}
	mustRefuse(t, s, orderCmd(h.ID, "v1", "a@x", "k1", expires+1), floodgate.EHoldExpired)
	mustRefuse(t, s, holdCmd("d", "v1", 0, 1, expires+1), floodgate.EHoldExpired)
	wantCounts(t, s, "d", 3, 0, 0)
}

// An order that arrives after the expiry but before the tick that would
// expire the hold must still be refused: time is the command's, not the
// last tick's.
func TestOrderAfterExpiryWithoutTickIsRefused(t *testing.T) {
	s, now := openDrop(t, spec("d", 3), 10)
	h := mustOK(t, s, holdCmd("d", "v1", 0, 1, now)).Hold
	mustRefuse(t, s, orderCmd(h.ID, "v1", "a@x", "k1", now+10_000), floodgate.EHoldExpired)
	wantCounts(t, s, "d", 3, 0, 0)
	res := mustOK(t, s, orderCmd(h.ID, "v1", "a@x", "k1", now+10_000).withKind(KindRelease))
	if res.Hold.Status != floodgate.HoldExpired {
		t.Fatalf("release of an expired hold answers %s", res.Hold.Status)
	}
}

func (c Command) withKind(k Kind) Command { c.Kind = k; return c }

func TestReleaseReturnsStockAtOnce(t *testing.T) {
	s, now := openDrop(t, spec("d", 3), 10)
	h := mustOK(t, s, holdCmd("d", "v1", 0, 1, now)).Hold
	mustRefuse(t, s, Command{Kind: KindRelease, Now: now + 1, HoldID: h.ID, Visitor: "someone-else"}, floodgate.ENotFound)
	wantCounts(t, s, "d", 2, 1, 0)
	mustOK(t, s, Command{Kind: KindRelease, Now: now + 1, HoldID: h.ID, Visitor: "v1"})
	wantCounts(t, s, "d", 3, 0, 0)
	// Releasing again is harmless and changes nothing.
	mustOK(t, s, Command{Kind: KindRelease, Now: now + 2, HoldID: h.ID, Visitor: "v1"})
	wantCounts(t, s, "d", 3, 0, 0)
	mustRefuse(t, s, orderCmd(h.ID, "v1", "a@x", "k1", now+3), floodgate.EHoldExpired)
	mustRefuse(t, s, holdCmd("d", "v1", 0, 1, now+3), floodgate.EConflict)

	h2 := mustOK(t, s, holdCmd("d", "v2", 1, 1, now+4)).Hold
	mustOK(t, s, orderCmd(h2.ID, "v2", "b@x", "k2", now+5))
	mustRefuse(t, s, Command{Kind: KindRelease, Now: now + 6, HoldID: h2.ID, Visitor: "v2"}, floodgate.EAlreadyOrdered)
	wantCounts(t, s, "d", 2, 0, 1)
}

func TestPausedHoldsKeepTheirTimeUpToMaxPause(t *testing.T) {
	s, now := openDrop(t, spec("d", 3), 10)
	h := mustOK(t, s, holdCmd("d", "v1", 0, 1, now)).Hold
	expires := h.ExpiresAt.UnixMilli()
	// Login is down for 5 s in 1 s ticks; MaxPauseMs is 3000 (see tick).
	for i := int64(1); i <= 5; i++ {
		tick(t, s, now+i*1000, true)
		want := expires + min(i*1000, 3000)
		if got := s.Holds.Get(h.ID).ExpiresAt; got != want {
			t.Fatalf("after %d s paused: expires_at %d, want %d", i, got, want)
		}
		if i <= 3 && !s.Holds.Get(h.ID).Paused {
			t.Fatalf("after %d s paused the hold does not say it is paused", i)
		}
	}
	if s.Holds.Get(h.ID).PausedMs != 3000 {
		t.Fatalf("paused_ms = %d, want the cap 3000", s.Holds.Get(h.ID).PausedMs)
	}
	tick(t, s, now+6000, false)
	if s.Holds.Get(h.ID).Paused {
		t.Fatal("the hold still says paused after login is back")
	}
	tick(t, s, expires+3000-1, false)
	wantCounts(t, s, "d", 2, 1, 0)
	tick(t, s, expires+3000, false)
	wantCounts(t, s, "d", 3, 0, 0)
}

func TestAdmissionFollowsRate(t *testing.T) {
	s, now, _ := openAt10(t)
	tickAdmits(t, s, "d", now+500, 15, "1.5 s at 10/s", Issued{Drop: "d", Late: 100})
	// A long gap gives at most one second of credit, not a flood.
	tickAdmits(t, s, "d", now+60_500, 25, "after a 60 s gap (one second of credit)", Issued{Drop: "d", Late: 100})
}

func TestAdmissionNeverBeyondIssued(t *testing.T) {
	s, now := openDrop(t, spec("d", 1000), 3)
	d := s.Drops["d"]
	if d.AdmittedUpTo != 3 {
		t.Fatalf("admitted %d of 3 issued", d.AdmittedUpTo)
	}
	// The block was reserved for 3; a report of more is capped at the block.
	tick(t, s, now+1000, false, Issued{Drop: "d", Late: 50})
	if d.AdmittedUpTo != 3 || d.Issued != 3 {
		t.Fatalf("admitted %d, issued %d: beyond what was reserved", d.AdmittedUpTo, d.Issued)
	}
	// Without a report nothing more is admitted even with a new block.
	mustOK(t, s, Command{Kind: KindReserveBlock, Now: now, Drop: "d", Size: 10})
	tickAdmits(t, s, "d", now+2000, 3, "without a report of issued positions")
	tickAdmits(t, s, "d", now+3000, 5, "with 5 issued", Issued{Drop: "d", Late: 5})
}

func TestAdmissionNeverBeyondStockAndLapses(t *testing.T) {
	sp := spec("d", 5)
	sp.PerCustomerLimit = 2
	s, now := openDrop(t, sp, 100)
	d := s.Drops["d"]
	is := Issued{Drop: "d", Late: 100}
	// Each admitted visitor may take 2 units: 5 units serve 3 visitors
	// whatever they take (2 + 2 + 1; limit.go).
	if d.AdmittedUpTo != 3 {
		t.Fatalf("stock 5 at 2 per customer admitted %d", d.AdmittedUpTo)
	}
	tickAdmits(t, s, "d", now+1000, 3, "with 3 unresolved admissions and 5 units", is)
	// Two visitors take 1 and 2 units: 2 left for the one undecided
	// visitor, who may take both: nobody new.
	mustOK(t, s, holdCmd("d", "v0", 0, 1, now+1100))
	h1 := mustOK(t, s, holdCmd("d", "v1", 1, 2, now+1200)).Hold
	tickAdmits(t, s, "d", now+2000, 3, "while the undecided visitor may need every unit left", is)
	// The release returns 2 units: 4 available, 1 undecided: one more.
	mustOK(t, s, Command{Kind: KindRelease, Now: now + 2100, HoldID: h1.ID, Visitor: "v1"})
	tickAdmits(t, s, "d", now+3000, 4, "after a release", is)
	if p := d.promised(d.Unresolved()); p > d.Available {
		t.Fatalf("%d units promised to %d unresolved admissions for %d available", p, d.Unresolved(), d.Available)
	}
	// Admission windows are 5 s: the first batch lapses at now+5000, the
	// slot of its unresolved visitor goes back to the queue.
	tickAdmits(t, s, "d", now+4999, 4, "before the window ended", is)
	tickAdmits(t, s, "d", now+5000, 5, "after the first batch lapsed", is)
	// A lapsed visitor whose position is below the counter may not take a
	// unit promised to the visitors admitted since: 4 available, 2 of them
	// undecided, who may need 2 + 1 (uncounted.go): one unit is nobody's.
	mustRefuse(t, s, holdCmd("d", "v2", 2, 2, now+6100), floodgate.ENotAdmitted)
	mustOK(t, s, holdCmd("d", "v2", 2, 1, now+6100))
	wantCounts(t, s, "d", 3, 2, 0)
	mustOK(t, s, holdCmd("d", "v3", 3, 2, now+6200))
	mustOK(t, s, holdCmd("d", "v4", 4, 1, now+6200))
	wantCounts(t, s, "d", 0, 5, 0)
}

func TestNotAdmittedBeforeTurn(t *testing.T) {
	sp := spec("d", 100)
	sp.AdmitPerSecond = 2
	s, now := openDrop(t, sp, 10)
	mustOK(t, s, holdCmd("d", "v1", 1, 1, now))
	mustRefuse(t, s, holdCmd("d", "v2", 2, 1, now), floodgate.ENotAdmitted)
	mustRefuse(t, s, holdCmd("d", "v9", 9, 1, now), floodgate.ENotAdmitted)
	mustRefuse(t, s, holdCmd("d", "v9", 1, 2, now), floodgate.EInvalid) // over the per-customer limit
	wantCounts(t, s, "d", 99, 1, 0)
}

func TestSoldOut(t *testing.T) {
	sp := spec("d", 2)
	sp.PerCustomerLimit = 2
	s, now := openDrop(t, sp, 10)
	mustRefuse(t, s, holdCmd("d", "v0", 0, 3, now), floodgate.EInvalid)
	mustOK(t, s, holdCmd("d", "v0", 0, 1, now))
	// 2 units at 2 per customer admitted one visitor; the one left admits
	// the next.
	now += 1000
	tick(t, s, now, false, Issued{Drop: "d", Late: 10})
	mustRefuse(t, s, holdCmd("d", "v1", 1, 2, now), floodgate.ESoldOut)
	mustOK(t, s, holdCmd("d", "v1", 1, 1, now))
	d := s.Drops["d"]
	if d.AdmittedUpTo != 2 {
		t.Fatalf("stock 2 admitted %d", d.AdmittedUpTo)
	}
	wantCounts(t, s, "d", 0, 2, 0)
}

func TestOrderIdempotencyAndLimits(t *testing.T) {
	sp := spec("d", 10)
	sp.PerCustomerLimit = 2
	sp.Vouchers = []string{"V1", "V2", "V3"}
	s, now := openDrop(t, sp, 10)
	h0 := mustOK(t, s, holdCmd("d", "v0", 0, 1, now)).Hold
	h1 := mustOK(t, s, holdCmd("d", "v1", 1, 1, now)).Hold
	h2 := mustOK(t, s, holdCmd("d", "v2", 2, 1, now)).Hold
	// Asking again with the same ticket gives the same hold.
	again := apply(t, s, holdCmd("d", "v0", 0, 1, now+1))
	if again.Err != nil || again.Created || again.Hold.ID != h0.ID {
		t.Fatalf("second hold with the same ticket: %+v", again)
	}

	o0 := mustOK(t, s, orderCmd(h0.ID, "v0", "a@x", "k0", now+2))
	if !o0.Created || o0.Order.Voucher != "V1" {
		t.Fatalf("first order: %+v", o0)
	}
	replay := mustOK(t, s, orderCmd(h0.ID, "v0", "a@x", "k0", now+3))
	if replay.Created || replay.Order != o0.Order {
		t.Fatalf("the same key again gave %+v, want the same order %+v", replay.Order, o0.Order)
	}
	before := counts(s, "d")
	mustRefuse(t, s, orderCmd(h1.ID, "v1", "a@x", "k0", now+4), floodgate.EConflict) // same key, other hold
	// Keys count per customer: another customer's k0 is a key of theirs,
	// and this hold is simply ordered already.
	mustRefuse(t, s, orderCmd(h0.ID, "v0", "b@x", "k0", now+4), floodgate.EAlreadyOrdered)
	mustRefuse(t, s, orderCmd(h0.ID, "v0", "a@x", "k9", now+4), floodgate.EAlreadyOrdered)
	mustRefuse(t, s, orderCmd(h1.ID, "v0", "a@x", "k5", now+4), floodgate.ENotFound) // another ticket's hold
	mustRefuse(t, s, orderCmd(h1.ID, "v1", "", "k5", now+4), floodgate.EUnauthenticated)
	mustRefuse(t, s, orderCmd(h1.ID, "v1", "a@x", "", now+4), floodgate.EInvalid)
	if counts(s, "d") != before {
		t.Fatal("a refused order changed the stock")
	}
	o1 := mustOK(t, s, orderCmd(h1.ID, "v1", "a@x", "k1", now+5)).Order
	mustRefuse(t, s, orderCmd(h2.ID, "v2", "a@x", "k2", now+6), floodgate.ELimitExceeded)
	o2 := mustOK(t, s, orderCmd(h2.ID, "v2", "c@x", "k2", now+7)).Order
	if o1.Voucher != "V2" || o2.Voucher != "V3" {
		t.Fatalf("vouchers %q %q, want V2 V3", o1.Voucher, o2.Voucher)
	}
	h3 := mustOK(t, s, holdCmd("d", "v3", 3, 1, now+8)).Hold
	o3 := mustOK(t, s, orderCmd(h3.ID, "v3", "d@x", "k3", now+9)).Order
	if o3.Voucher != "" {
		t.Fatalf("with the vouchers used up an order got %q", o3.Voucher)
	}
	wantCounts(t, s, "d", 6, 0, 4)
}

func TestCreateDropIsIdempotentByFingerprint(t *testing.T) {
	s := NewState()
	sp := spec("d", 5)
	res := mustOK(t, s, Command{Kind: KindCreateDrop, Now: t0, Drop: "d", Spec: sp})
	if !res.Created {
		t.Fatal("first create did not create")
	}
	same := *sp
	same.StartsAt = t0 + 999 // a default filled at another time
	res = mustOK(t, s, Command{Kind: KindCreateDrop, Now: t0 + 1, Drop: "d", Spec: &same})
	if res.Created || res.Drop.StartsAt.UnixMilli() != t0 {
		t.Fatalf("the same request again: %+v", res)
	}
	other := *sp
	other.Fingerprint = "other"
	mustRefuse(t, s, Command{Kind: KindCreateDrop, Now: t0 + 2, Drop: "d", Spec: &other}, floodgate.EConflict)
}

func TestValidateSpecRefusesBadDrops(t *testing.T) {
	ok := spec("d", 5)
	if err := ValidateSpec(ok); err != nil {
		t.Fatalf("a good spec is refused: %v", err)
	}
	cases := map[string]func(s *DropSpec){
		"empty id":         func(s *DropSpec) { s.ID = "" },
		"id with a slash":  func(s *DropSpec) { s.ID = "a/b" },
		"upper-case id":    func(s *DropSpec) { s.ID = "Drop" },
		"long id":          func(s *DropSpec) { s.ID = fmt.Sprintf("%065d", 0) },
		"no name":          func(s *DropSpec) { s.Name = "" },
		"stock 0":          func(s *DropSpec) { s.Stock = 0 },
		"negative stock":   func(s *DropSpec) { s.Stock = -1 },
		"stock over 10^9":  func(s *DropSpec) { s.Stock = MaxStock + 1; s.PerCustomerLimit = 1 },
		"negative price":   func(s *DropSpec) { s.Price = -1 },
		"limit 0":          func(s *DropSpec) { s.PerCustomerLimit = 0 },
		"limit over stock": func(s *DropSpec) { s.PerCustomerLimit = 6 },
		"hold 9 s":         func(s *DropSpec) { s.HoldSeconds = 9 },
		"hold too long":    func(s *DropSpec) { s.HoldSeconds = MaxHoldSeconds + 1 },
		"admit 0":          func(s *DropSpec) { s.AdmitPerSecond = 0 },
		"window 4 s":       func(s *DropSpec) { s.AdmitWindow = 4 },
		"negative start":   func(s *DropSpec) { s.StartsAt = -1 },
		"year 10000":       func(s *DropSpec) { s.StartsAt = 253402300800000 },
		"long currency":    func(s *DropSpec) { s.Currency = "KRWX" },
		"empty voucher":    func(s *DropSpec) { s.Vouchers = []string{"a", ""} },
		"twice a voucher":  func(s *DropSpec) { s.Vouchers = []string{"a", "b", "a"} },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			sp := *ok
			mutate(&sp)
			if err := ValidateSpec(&sp); err == nil || err.Code != floodgate.EInvalid || err.Message == "" {
				t.Fatalf("ValidateSpec = %v, want invalid_argument with a message", err)
			}
			s := NewState()
			mustRefuse(t, s, Command{Kind: KindCreateDrop, Now: t0, Drop: sp.ID, Spec: &sp}, floodgate.EInvalid)
			if len(s.Drops) != 0 {
				t.Fatal("a refused drop entered the state")
			}
		})
	}
}

func TestCloseDropReleasesHolds(t *testing.T) {
	s, now := openDrop(t, spec("d", 5), 10)
	h := mustOK(t, s, holdCmd("d", "v0", 0, 1, now)).Hold
	mustOK(t, s, Command{Kind: KindCloseDrop, Now: now + 1, Drop: "d"})
	wantCounts(t, s, "d", 5, 0, 0)
	if st := s.Holds.Get(h.ID).Status; st != floodgate.HoldReleased {
		t.Fatalf("after close the hold is %s", st)
	}
	mustRefuse(t, s, holdCmd("d", "v1", 1, 1, now+2), floodgate.EConflict)
	mustRefuse(t, s, orderCmd(h.ID, "v0", "a@x", "k", now+2), floodgate.EHoldExpired)
	if got := s.Drops["d"].DropState(now + 2); got != floodgate.DropClosed {
		t.Fatalf("state %s, want closed", got)
	}
	mustRefuse(t, s, Command{Kind: KindCloseDrop, Now: now, Drop: "nope"}, floodgate.ENotFound)
}

func TestEarlyArrivalsArePlacedByPermutation(t *testing.T) {
	s := NewState()
	sp := spec("d", 100)
	mustOK(t, s, Command{Kind: KindCreateDrop, Now: t0 - 10_000, Drop: "d", Spec: sp})
	b := mustOK(t, s, Command{Kind: KindReserveBlock, Now: t0 - 9000, Drop: "d", Early: true, Size: 10})
	if b.Start != 0 || b.End != 10 {
		t.Fatalf("first early block [%d,%d)", b.Start, b.End)
	}
	d := s.Drops["d"]
	if _, known := d.Position(true, 3); known {
		t.Fatal("an early position is known before the start")
	}
	mustRefuse(t, s, Command{Kind: KindHold, Now: t0 - 8000, Drop: "d", Visitor: "e3", Early: true, Seq: 3, Quantity: 1}, floodgate.ENotAdmitted)
	// Before the start a tick changes nothing about positions.
	mustOK(t, s, Command{Kind: KindTick, Now: t0 - 1, Seed: 1, Issued: []Issued{{Drop: "d", Early: 8}}})
	if d.Started {
		t.Fatal("the drop started before starts_at")
	}
	const seed = 0xC0FFEE
	mustOK(t, s, Command{Kind: KindTick, Now: t0, Seed: seed, Issued: []Issued{{Drop: "d", Early: 8}}})
	if !d.Started || d.EarlyTotal != 8 {
		t.Fatalf("started %v with %d early, want 8 (the leader's count)", d.Started, d.EarlyTotal)
	}
	mustRefuse(t, s, Command{Kind: KindReserveBlock, Now: t0, Drop: "d", Early: true, Size: 10}, floodgate.EConflict)
	seen := map[int64]bool{}
	for i := int64(0); i < 8; i++ {
		p, known := d.Position(true, i)
		if !known || p < 0 || p >= 8 || seen[p] {
			t.Fatalf("early %d got position %d (known %v); positions so far %v", i, p, known, seen)
		}
		if want := Permute(seed^fnv64("d"), uint64(i), 8); p != want {
			t.Fatalf("early %d at %d, want Permute = %d", i, p, want)
		}
		seen[p] = true
	}
	// Early indexes the start did not count go after the early ones; late
	// arrivals after them.
	if p, _ := d.Position(true, 9); p < 8 {
		t.Fatalf("an uncounted early index is placed at %d, among the counted ones", p)
	}
	if p, _ := d.Position(false, 0); p != 8 {
		t.Fatalf("the first late arrival is at %d, want 8", p)
	}
}

func TestUnknownAndBadCommandsAreRefused(t *testing.T) {
	s := NewState()
	for _, c := range []Command{
		{Kind: 0}, {Kind: 200}, {Kind: KindCreateDrop},
		{Kind: KindReserveBlock, Drop: "nope", Size: 1},
		{Kind: KindHold, Drop: "nope", Visitor: "v", Quantity: 1},
		{Kind: KindRelease, HoldID: "nope"},
		{Kind: KindOrder, HoldID: "nope", Visitor: "v", Customer: "c", IdemKey: "k"},
		{Kind: KindSetNode},
	} {
		before, _ := s.Marshal()
		res := s.Apply(&c)
		if res.Err == nil {
			t.Errorf("%v was accepted", c.Kind)
		}
		s.Applied--
		if after, _ := s.Marshal(); string(after) != string(before) {
			t.Errorf("refused %v changed the state", c.Kind)
		}
	}
	// The secret is set once and never replaced.
	s.Apply(&Command{Kind: KindInitSecret, Secret: []byte("short")})
	if len(s.Secret) != 0 {
		t.Fatal("a secret shorter than 32 bytes was taken")
	}
	s.Apply(&Command{Kind: KindInitSecret, Secret: make([]byte, 32)})
	s.Apply(&Command{Kind: KindInitSecret, Secret: []byte("0123456789abcdef0123456789abcdefXX")})
	if string(s.Secret) != string(make([]byte, 32)) {
		t.Fatal("the secret was replaced")
	}
}
