package queue

import (
	"context"
	"encoding/base64"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/floodgate/floodgate"
	"github.com/floodgate/floodgate/internal/pow"
)

// solve finds a nonce for ch by counting, as a client would.
func solve(tb testing.TB, ch *Challenge) string {
	tb.Helper()
	prefix, err := base64.RawURLEncoding.DecodeString(ch.Prefix)
	if err != nil {
		tb.Fatalf("prefix %q is not base64url without padding: %v", ch.Prefix, err)
	}
	for i := 0; ; i++ {
		n := strconv.FormatInt(int64(i), 36)
		if pow.Solves(prefix, n, ch.Difficulty) {
			return n
		}
	}
}

// wrongNonce is a nonce that does not solve ch.
func wrongNonce(tb testing.TB, ch *Challenge) string {
	prefix, _ := base64.RawURLEncoding.DecodeString(ch.Prefix)
	for i := 0; ; i++ {
		n := "x" + strconv.Itoa(i)
		if !pow.Solves(prefix, n, ch.Difficulty) {
			return n
		}
	}
}

func TestChallengeCodec(t *testing.T) {
	c := challengeCodec{key: []byte("0123456789abcdef0123456789abcdef")}
	now := time.Unix(1_800_000_000, 0)
	tag := [8]byte{1, 2, 3}
	ch := c.issue("drop-a", tag, 10, now)
	if ch.Algorithm != "sha256" || ch.Difficulty != 10 || !ch.ExpiresAt.Equal(now.Add(ChallengeTTL)) {
		t.Fatalf("challenge %+v", ch)
	}
	good := Solution{ID: ch.ID, Nonce: solve(t, &ch)}
	chk, err := c.check("drop-a", good, now.Add(time.Second))
	if err != nil {
		t.Fatalf("a right solution is refused: %v", err)
	}
	if chk.tag != tag {
		t.Fatalf("tag %v, want %v", chk.tag, tag)
	}
	idBytes, _ := base64.RawURLEncoding.DecodeString(ch.ID)
	harder := append([]byte(nil), idBytes...)
	harder[17] = 1 // claim an easier challenge than the one issued
	for name, tc := range map[string]struct {
		drop string
		sol  Solution
		at   time.Time
		code string
	}{
		"wrong nonce":       {"drop-a", Solution{ID: ch.ID, Nonce: wrongNonce(t, &ch)}, now, floodgate.EInvalid},
		"other drop":        {"drop-b", good, now, floodgate.EInvalid},
		"expired":           {"drop-a", good, now.Add(ChallengeTTL), floodgate.EInvalid},
		"edited difficulty": {"drop-a", Solution{ID: base64.RawURLEncoding.EncodeToString(harder), Nonce: good.Nonce}, now, floodgate.EInvalid},
		"short id":          {"drop-a", Solution{ID: ch.ID[:20], Nonce: good.Nonce}, now, floodgate.EInvalid},
		"padded id":         {"drop-a", Solution{ID: ch.ID + "==", Nonce: good.Nonce}, now, floodgate.EInvalid},
		"empty nonce":       {"drop-a", Solution{ID: ch.ID}, now, floodgate.EInvalid},
		"long nonce":        {"drop-a", Solution{ID: ch.ID, Nonce: string(make([]byte, 65))}, now, floodgate.EInvalid},
		"non-ASCII nonce":   {"drop-a", Solution{ID: ch.ID, Nonce: "é"}, now, floodgate.EInvalid},
	} {
		if _, err := c.check(tc.drop, tc.sol, tc.at); floodgate.ErrorCode(err) != tc.code {
			t.Errorf("%s: got %v, want %s", name, err, tc.code)
		}
	}
	other := challengeCodec{key: []byte("another cluster's key...........")}
	if _, err := other.check("drop-a", good, now); err == nil {
		t.Error("another cluster accepted this cluster's challenge")
	}
}

func TestAutoPolicy(t *testing.T) {
	p := DefaultAutoPolicy()
	busy := 10 * p.PressureRate
	for _, tc := range []struct {
		rate, joins float64
		want        int
	}{
		{p.PressureRate / 2, 10_000, 0}, // calm: nobody pays
		{busy, 1, 0},                    // one visitor under pressure
		{busy, p.Household, 0},          // a household
		{busy, p.NAT, p.NATBits},        // a busy carrier NAT
		{busy, 2 * p.NAT, p.NATBits + 8},
		{busy, 100 * p.NAT, MaxDifficulty},
	} {
		if got := p.Difficulty(tc.rate, tc.joins); got != tc.want {
			t.Errorf("Difficulty(rate %.0f, joins %.0f) = %d, want %d", tc.rate, tc.joins, got, tc.want)
		}
	}
	last := 0
	for j := 1.0; j < 2000; j++ {
		d := p.Difficulty(busy, j)
		if d < last {
			t.Fatalf("difficulty falls from %d to %d at %.0f joins", last, d, j)
		}
		last = d
	}
}

// TestAutoPolicyCheck: the default policy passes; one without pressure, or
// whose NAT is no more than a household, is refused.
func TestAutoPolicyCheck(t *testing.T) {
	if err := DefaultAutoPolicy().Check(); err != nil {
		t.Fatalf("the default policy: %v", err)
	}
	for _, change := range []func(*AutoPolicy){
		func(p *AutoPolicy) { p.PressureRate = 0 },
		func(p *AutoPolicy) { p.Household = -1 },
		func(p *AutoPolicy) { p.NAT = p.Household },
	} {
		p := DefaultAutoPolicy()
		change(&p)
		if err := p.Check(); err == nil {
			t.Errorf("%+v was accepted", p)
		}
	}
}

// TestAutoRisesUnderFloodAndFallsBack floods a drop from one address, as a
// bot farm on one address would, and checks that its difficulty climbs to
// the maximum while a visitor with its own address pays nothing, and that
// everything is back to 0 once the flood has passed.
func TestAutoRisesUnderFloodAndFallsBack(t *testing.T) {
	p := newPressure(DefaultAutoPolicy())
	t0 := time.Unix(1_800_000_000, 0)
	bot := netip.MustParseAddr("203.0.113.7")
	visitor := netip.MustParseAddr("198.51.100.1")
	first, maxSeen := -1, 0
	for i := range 1000 { // 1,000 joins in 5 s
		at := t0.Add(time.Duration(i) * 5 * time.Millisecond)
		d := p.join("d", bot, at)
		if first < 0 {
			first = d
		}
		maxSeen = max(maxSeen, d)
	}
	if first != 0 {
		t.Errorf("the first join of a calm drop pays %d bits", first)
	}
	if maxSeen != MaxDifficulty {
		t.Errorf("a flood of 1,000 joins from one address reaches %d bits, want %d", maxSeen, MaxDifficulty)
	}
	if d := p.join("d", visitor, t0.Add(5*time.Second)); d != 0 {
		t.Errorf("a visitor on its own address pays %d bits during the flood", d)
	}
	if d := p.join("other", bot, t0.Add(5*time.Second)); d != 0 {
		t.Errorf("a calm drop asks %d bits of the flooding address", d)
	}
	// IPv6: the whole /64 is one source.
	for i := range 300 {
		p.join("v6", netip.MustParseAddr("2001:db8::"+strconv.FormatInt(int64(i+1), 16)), t0.Add(time.Duration(i)*time.Millisecond))
	}
	if d := p.peek("v6", netip.MustParseAddr("2001:db8::ffff"), t0.Add(time.Second)); d <= p.policy.NATBits {
		t.Errorf("300 joins from one /64 give %d bits, want more than %d", d, p.policy.NATBits)
	}
	// The flood is over: a minute later the drop is calm again.
	if d := p.join("d", bot, t0.Add(65*time.Second)); d != 0 {
		t.Errorf("a minute after the flood the address still pays %d bits", d)
	}
}

func newTestGate(t *testing.T, challenge int64) (*Service, string) {
	st := openStore(t)
	q := startQueue(t, st, 100)
	sp := dropSpec("pow", 10, time.Now().Add(-time.Second), 1000)
	sp.ChallengeDifficulty = challenge
	createDrop(t, st, sp)
	return q, "pow"
}

func TestJoinChallengedFixed(t *testing.T) {
	q, drop := newTestGate(t, 8)
	ctx := context.Background()
	src := netip.MustParseAddr("192.0.2.1")
	tok, _, ch, err := q.JoinChallenged(ctx, drop, src, nil)
	if err != nil || tok != "" || ch == nil || ch.Difficulty != 8 {
		t.Fatalf("unsolved join: ticket %q, challenge %+v, err %v; want a challenge of 8 bits", tok, ch, err)
	}
	if _, _, _, err := q.JoinChallenged(ctx, drop, src, &Solution{ID: ch.ID, Nonce: wrongNonce(t, ch)}); floodgate.ErrorCode(err) != floodgate.EInvalid {
		t.Fatalf("wrong solution: %v, want %s", err, floodgate.EInvalid)
	}
	sol := &Solution{ID: ch.ID, Nonce: solve(t, ch)}
	tok, _, ch2, err := q.JoinChallenged(ctx, drop, src, sol)
	if err != nil || tok == "" || ch2 != nil {
		t.Fatalf("solved join: ticket %q, challenge %+v, err %v", tok, ch2, err)
	}
	if _, _, _, err := q.JoinChallenged(ctx, drop, src, sol); floodgate.ErrorCode(err) != floodgate.EConflict {
		t.Fatalf("reused solution: %v, want %s", err, floodgate.EConflict)
	}
	// A challenge of another leadership term (or node) is answered with a
	// fresh challenge, never a ticket.
	keys, _, _ := q.Keys()
	old := challengeCodec{key: keys.ChallengeKey}.issue(drop, [8]byte{9, 9, 9}, 8, time.Now())
	tok, _, ch3, err := q.JoinChallenged(ctx, drop, src, &Solution{ID: old.ID, Nonce: solve(t, &old)})
	if err != nil || tok != "" || ch3 == nil {
		t.Fatalf("a challenge of another term: ticket %q, challenge %+v, err %v; want a fresh challenge", tok, ch3, err)
	}
	if s := q.Challenges(); s.Issued.Load() != 2 || s.Solved.Load() != 1 || s.Wrong.Load() != 1 || s.Reused.Load() != 1 {
		t.Errorf("stats issued %d solved %d wrong %d reused %d", s.Issued.Load(), s.Solved.Load(), s.Wrong.Load(), s.Reused.Load())
	}
}

func TestJoinChallengedOff(t *testing.T) {
	q, drop := newTestGate(t, 0)
	src := netip.MustParseAddr("192.0.2.1")
	for range 300 {
		tok, _, ch, err := q.JoinChallenged(context.Background(), drop, src, nil)
		if err != nil || tok == "" || ch != nil {
			t.Fatalf("challenge_difficulty 0: ticket %q, challenge %+v, err %v", tok, ch, err)
		}
	}
}

// FuzzChallengeCheck feeds arbitrary ids and nonces to the check: it never
// panics, and accepts only a nonce that solves a challenge this key issued.
func FuzzChallengeCheck(f *testing.F) {
	c := challengeCodec{key: []byte("fuzz key fuzz key fuzz key fuzz!")}
	now := time.Unix(1_800_000_000, 0)
	ch := c.issueWith("d", [8]byte{}, 4, now, [8]byte{1})
	f.Add(ch.ID, solve(f, &ch))
	f.Add(ch.ID, "")
	f.Add("", "1")
	f.Add("AQAAAAAAAAAAAAAAAGsaW4AE", "0")
	f.Add(ch.ID[:len(ch.ID)-1]+"A", "zz")
	f.Fuzz(func(t *testing.T, id, nonce string) {
		chk, err := c.check("d", Solution{ID: id, Nonce: nonce}, now)
		if err != nil {
			if code := floodgate.ErrorCode(err); code != floodgate.EInvalid {
				t.Fatalf("error code %q", code)
			}
			return
		}
		if id != ch.ID {
			t.Fatalf("accepted an id this key did not issue: %q", id)
		}
		if !pow.Solves(c.prefix(chk.key[:]), nonce, ch.Difficulty) {
			t.Fatalf("accepted a nonce that does not solve the challenge: %q", nonce)
		}
	})
}

// TestAutoVisitorSharingACounterWithBotsPays0: sources are counted in a
// sketch of fixed size, so some visitors share a counter with a flooding
// address. A visitor who shares one of its counters (in either row) with a
// bot still pays nothing: its count is its least counter.
func TestAutoVisitorSharingACounterWithBotsPays0(t *testing.T) {
	p := newPressure(DefaultAutoPolicy())
	t0 := time.Unix(1_800_000_000, 0)
	bots := []netip.Addr{
		netip.MustParseAddr("203.0.113.7"), netip.MustParseAddr("203.0.113.8"),
		netip.MustParseAddr("203.0.113.9"), netip.MustParseAddr("203.0.113.10"),
	}
	for i := range 1000 {
		p.join("d", bots[i%len(bots)], t0.Add(time.Duration(i)*5*time.Millisecond))
	}
	at := t0.Add(5 * time.Second)
	for _, b := range bots {
		if d := p.peek("d", b, at); d == 0 {
			t.Fatalf("bot %s pays nothing after 250 joins", b)
		}
	}
	for row := range pressureRows {
		// The first visitor address that shares its counter in row with a bot.
		want := map[uint32]netip.Addr{}
		for _, b := range bots {
			want[p.slots(b)[row]] = b
		}
		var visitor, bot netip.Addr
		for i := uint32(1); !visitor.IsValid(); i++ {
			if i == 0 {
				t.Fatal("no address shares a counter with a bot")
			}
			a := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
			if b, ok := want[p.slots(a)[row]]; ok {
				visitor, bot = a, b
			}
		}
		if d := p.join("d", visitor, at); d != 0 {
			t.Errorf("visitor %s, sharing its counter in row %d with bot %s, pays %d bits", visitor, row, bot, d)
		}
	}
}
