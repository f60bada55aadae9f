package sale

import (
	"bytes"
	"testing"

	"github.com/floodgate/floodgate"
)

// t0 is the time every hand-written scenario starts at (unix ms).
const t0 = int64(1_700_000_000_000)

// apply applies c through the binary encoding, as the store does, so that
// every scenario also exercises AppendCommand and DecodeCommand.
func apply(tb testing.TB, s *State, c Command) Result {
	tb.Helper()
	buf := AppendCommand(nil, &c)
	dc, err := DecodeCommand(buf)
	if err != nil {
		tb.Fatalf("decode %v: %v", c.Kind, err)
	}
	res := s.Apply(&dc)
	if err := s.Check(); err != nil {
		tb.Fatalf("invariant broken after %v: %v", c.Kind, err)
	}
	return res
}

// applyAt returns a function that applies a command to s (as apply does)
// at the time *now holds when it is called.
func applyAt(tb testing.TB, s *State, now *int64) func(Command) Result {
	return func(c Command) Result {
		tb.Helper()
		c.Now = *now
		return apply(tb, s, c)
	}
}

// mustOK applies c and fails the test if it is refused.
func mustOK(tb testing.TB, s *State, c Command) Result {
	tb.Helper()
	res := apply(tb, s, c)
	if res.Err != nil {
		tb.Fatalf("%v refused: %v", c.Kind, res.Err)
	}
	return res
}

// mustRefuse applies c and fails the test unless it is refused with code.
func mustRefuse(tb testing.TB, s *State, c Command, code string) {
	tb.Helper()
	res := apply(tb, s, c)
	if res.Err == nil || res.Err.Code != code {
		tb.Fatalf("%v: got %v, want refusal %s", c.Kind, res.Err, code)
	}
}

func spec(id string, stock int64) *DropSpec {
	return &DropSpec{
		ID: id, Name: "Drop " + id, Stock: stock, PerCustomerLimit: 1,
		StartsAt: t0, HoldSeconds: 10, AdmitPerSecond: 1000, AdmitWindow: 5,
		Fingerprint: "fp-" + id,
	}
}

// openDrop creates the drop of sp, starts it with a tick at t0 and reserves
// a late block of issued positions, all admitted as far as rate and stock
// allow by a tick at t0+1000. It returns the state and the current time.
func openDrop(tb testing.TB, sp *DropSpec, issued int64) (*State, int64) {
	tb.Helper()
	s := NewState()
	mustOK(tb, s, Command{Kind: KindCreateDrop, Now: t0 - 5000, Drop: sp.ID, Spec: sp})
	mustOK(tb, s, Command{Kind: KindTick, Now: t0, Seed: 42, MaxPauseMs: 60_000})
	if !s.Drops[sp.ID].Started {
		tb.Fatal("the drop did not start at its starts_at")
	}
	if issued > 0 {
		mustOK(tb, s, Command{Kind: KindReserveBlock, Now: t0, Drop: sp.ID, Size: issued})
	}
	now := t0 + 1000
	tick(tb, s, now, false, Issued{Drop: sp.ID, Late: issued})
	return s, now
}

// rushOpen opens drop id at the highest admission rate with buyers
// positions issued and ticks until every one of them is admitted, as a rush
// leaves it before the buyers hold. It returns the state and the time.
func rushOpen(tb testing.TB, id string, buyers int64) (*State, int64) {
	tb.Helper()
	sp := spec(id, MaxStock)
	sp.AdmitPerSecond = MaxAdmitPerSecond
	sp.AdmitWindow = 3600
	s := NewState()
	mustOK(tb, s, Command{Kind: KindCreateDrop, Now: t0, Drop: id, Spec: sp})
	mustOK(tb, s, Command{Kind: KindTick, Now: t0})
	for reserved := int64(0); reserved < buyers; reserved += MaxBlockSize {
		mustOK(tb, s, Command{Kind: KindReserveBlock, Now: t0, Drop: id, Size: MaxBlockSize})
	}
	now := t0
	for s.Drops[id].AdmittedUpTo < buyers {
		now += 1000
		mustOK(tb, s, Command{Kind: KindTick, Now: now, Issued: []Issued{{Drop: id, Late: buyers}}})
	}
	return s, now
}

func tick(tb testing.TB, s *State, now int64, paused bool, issued ...Issued) {
	tb.Helper()
	mustOK(tb, s, Command{Kind: KindTick, Now: now, Paused: paused, MaxPauseMs: 3000, Seed: 7, Issued: issued})
}

// openAt10 opens drop "d" (1,000 units, 100 positions issued) admitting 10
// a second, and checks it has admitted 10 after its first second.
func openAt10(tb testing.TB) (*State, int64, *Drop) {
	tb.Helper()
	sp := spec("d", 1000)
	sp.AdmitPerSecond = 10
	s, now := openDrop(tb, sp, 100)
	d := s.Drops["d"]
	if d.AdmittedUpTo != 10 {
		tb.Fatalf("one second at 10/s admitted %d", d.AdmittedUpTo)
	}
	return s, now, d
}

// tickAdmits ticks s at now with the issued reports, and fails the test
// unless drop has then admitted up to want; why says what is being checked.
func tickAdmits(tb testing.TB, s *State, drop string, now, want int64, why string, issued ...Issued) {
	tb.Helper()
	tick(tb, s, now, false, issued...)
	if got := s.Drops[drop].AdmittedUpTo; got != want {
		tb.Fatalf("%s: admitted up to %d, want %d", why, got, want)
	}
}

func holdCmd(drop, visitor string, seq, q, now int64) Command {
	return Command{Kind: KindHold, Now: now, Drop: drop, Visitor: visitor, Seq: seq, Quantity: q}
}

func orderCmd(hold, visitor, customer, key string, now int64) Command {
	return Command{Kind: KindOrder, Now: now, HoldID: hold, Visitor: visitor, Customer: customer, IdemKey: key}
}

// counts returns available, held and sold of a drop.
func counts(s *State, drop string) [3]int64 {
	d := s.Drops[drop]
	return [3]int64{d.Available, d.Held, d.Sold}
}

func wantCounts(tb testing.TB, s *State, drop string, available, held, sold int64) {
	tb.Helper()
	if got := counts(s, drop); got != [3]int64{available, held, sold} {
		tb.Fatalf("drop %s: available/held/sold = %v, want %v", drop, got, [3]int64{available, held, sold})
	}
}

var _ = floodgate.EInvalid

// sameState fails the test unless a and b save the same bytes; what says
// how they came to be.
func sameState(tb testing.TB, a, b *State, what string) {
	tb.Helper()
	sa, err := a.Marshal()
	if err != nil {
		tb.Fatal(err)
	}
	sb, err := b.Marshal()
	if err != nil {
		tb.Fatal(err)
	}
	if !bytes.Equal(sa, sb) {
		tb.Fatalf("%s differ", what)
	}
}

// snapshot saves s and loads it back, and fails the test unless saving the
// loaded state gives the same bytes. It returns the loaded state.
func snapshot(tb testing.TB, s *State) *State {
	tb.Helper()
	buf, err := s.Marshal()
	if err != nil {
		tb.Fatal(err)
	}
	back, err := Unmarshal(buf)
	if err != nil {
		tb.Fatalf("reload a snapshot: %v", err)
	}
	if again, _ := back.Marshal(); !bytes.Equal(again, buf) {
		tb.Fatalf("Marshal → Unmarshal → Marshal changed the state:\n%s\n%s", buf, again)
	}
	return back
}
