package sale

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/floodgate/floodgate"
)

// specVectors reads the test vectors from docs/fairness-spec.md, so that the
// published spec and the code cannot drift apart.
func specVectors(t *testing.T) []struct {
	Seed, Commitment, Key string
	Permutations          map[string][]int64
	Rankings              map[string][]int64
} {
	t.Helper()
	buf, err := os.ReadFile("../docs/fairness-spec.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(buf), "```json vectors\n")
	if !ok {
		t.Fatal("docs/fairness-spec.md has no ```json vectors block")
	}
	block, _, _ := strings.Cut(rest, "```")
	var v []struct {
		Seed, Commitment, Key string
		Permutations          map[string][]int64
		Rankings              map[string][]int64
	}
	if err := json.Unmarshal([]byte(block), &v); err != nil {
		t.Fatalf("the vectors of docs/fairness-spec.md: %v", err)
	}
	if len(v) < 2 {
		t.Fatalf("only %d vectors", len(v))
	}
	return v
}

func TestShuffleVectorsOfTheSpec(t *testing.T) {
	for _, v := range specVectors(t) {
		seed, err := hex.DecodeString(v.Seed)
		if err != nil || len(seed) != SeedSize {
			t.Fatalf("seed %q", v.Seed)
		}
		if got := Commitment(seed); got != v.Commitment {
			t.Errorf("Commitment(%s) = %s, the spec says %s", v.Seed, got, v.Commitment)
		}
		if got := fmt.Sprintf("%016x", ShuffleKey(seed)); got != v.Key {
			t.Errorf("ShuffleKey(%s) = %s, the spec says %s", v.Seed, got, v.Key)
		}
		for ns, want := range v.Permutations {
			n, _ := strconv.ParseInt(ns, 10, 64)
			var got []int64
			for i := range n {
				got = append(got, Rank(seed, i, n))
			}
			if !slices.Equal(got, want) {
				t.Errorf("seed %s n %d: permutation %v, the spec says %v", v.Seed[:8], n, got, want)
			}
		}
		for ns, want := range v.Rankings {
			n, _ := strconv.ParseInt(ns, 10, 64)
			if got := Ranking(seed, n); !slices.Equal(got, want) {
				t.Errorf("seed %s n %d: ranking %v, the spec says %v", v.Seed[:8], n, got, want)
			}
		}
	}
	if got := CustomerHash("mini-speaker", "a@example.com"); got != "6ffc424dcac0545721b5cfe79cd76efd23e8c1bf66199f9052cb883ff1e0afa3" {
		t.Errorf("CustomerHash = %s, not the spec's vector", got)
	}
}

func seed32(b byte) []byte { return bytes.Repeat([]byte{b}, SeedSize) }

// TestCommittedSeedPlacesEarlyArrivals: a drop created with a seed places its
// early arrivals by Permute(ShuffleKey(seed)), whatever seed the start tick
// carries, and logs its start with the commitment.
func TestCommittedSeedPlacesEarlyArrivals(t *testing.T) {
	s := NewState()
	seed := seed32(9)
	mustOK(t, s, Command{Kind: KindCreateDropV2, Now: t0 - 10_000, Drop: "d", Spec: spec("d", 100), ShuffleSeed: seed})
	mustOK(t, s, Command{Kind: KindReserveBlock, Now: t0 - 9000, Drop: "d", Early: true, Size: 10})
	mustOK(t, s, Command{Kind: KindTick, Now: t0, Seed: 12345, Issued: []Issued{{Drop: "d", Early: 7}}})
	d := s.Drops["d"]
	if !d.Started || d.EarlyTotal != 7 {
		t.Fatalf("started %v early %d", d.Started, d.EarlyTotal)
	}
	for i := int64(0); i < 7; i++ {
		p, _ := d.Position(true, i)
		if want := Rank(seed, i, 7); p != want {
			t.Fatalf("early %d at %d, the revealed seed says %d", i, p, want)
		}
	}
	leaf, ok := s.LogLeaf("d", 0)
	if !ok {
		t.Fatal("no start leaf")
	}
	var l Leaf
	if err := json.Unmarshal(leaf, &l); err != nil || l.Type != LeafStart || l.ShuffleCommitment != Commitment(seed) ||
		l.Algorithm != ShuffleAlgorithm || l.EarlyTotal == nil || *l.EarlyTotal != 7 {
		t.Fatalf("start leaf %s (%v)", leaf, err)
	}
	if v := PublicDrop(d, t0).DropFairness; v.ShuffleCommitment != Commitment(seed) || v.Mode != ModeQueue {
		t.Fatalf("public view %+v", v)
	}
}

// drawDrop creates a draw of stock units with the given entrants, runs the
// draw at entry_ends_at and admits its winners.
func drawDrop(t *testing.T, stock int64, entrants []string) (*State, int64) {
	t.Helper()
	s := NewState()
	sp := spec("raffle", stock)
	sp.Mode, sp.EntryEndsAt, sp.ClaimSeconds = ModeDraw, t0+60_000, 30
	mustOK(t, s, Command{Kind: KindCreateDropV2, Now: t0 - 1000, Drop: "raffle", Spec: sp, ShuffleSeed: seed32(1)})
	mustRefuse(t, s, Command{Kind: KindEnter, Now: t0 - 500, Drop: "raffle", Customer: "early@example.com"}, floodgate.EConflict)
	for i, c := range entrants {
		res := mustOK(t, s, Command{Kind: KindEnter, Now: t0 + int64(i), Drop: "raffle", Customer: c})
		if !res.Created || res.Start != int64(i) {
			t.Fatalf("entry %d: %+v", i, res)
		}
	}
	// Entering again gives the same entry.
	if res := mustOK(t, s, Command{Kind: KindEnter, Now: t0 + 100, Drop: "raffle", Customer: entrants[0]}); res.Created || res.Start != 0 {
		t.Fatalf("second entry %+v", res)
	}
	mustRefuse(t, s, Command{Kind: KindReserveBlock, Now: t0, Drop: "raffle", Early: true, Size: 10}, floodgate.EConflict)
	for _, c := range entrants {
		if st, _ := s.EntryOf("raffle", c, t0+200); st.State != EntryPending {
			t.Fatalf("%s before the draw: %+v", c, st)
		}
	}
	tick(t, s, t0+59_000, false, Issued{Drop: "raffle"})
	tick(t, s, t0+60_000, false, Issued{Drop: "raffle"})
	mustRefuse(t, s, Command{Kind: KindEnter, Now: t0 + 60_001, Drop: "raffle", Customer: "late@example.com"}, floodgate.EConflict)
	tick(t, s, t0+60_100, false, Issued{Drop: "raffle"})
	return s, t0 + 60_100
}

func TestDrawWinnersBackupsAndClaims(t *testing.T) {
	entrants := []string{"a@x", "b@x", "c@x", "d@x", "e@x"}
	s, now := drawDrop(t, 2, entrants)
	d := s.Drops["raffle"]
	if !d.Started || d.EarlyTotal != 5 || d.AdmittedUpTo != 2 {
		t.Fatalf("after the draw: started %v entries %d admitted %d", d.Started, d.EarlyTotal, d.AdmittedUpTo)
	}
	ranking := Ranking(seed32(1), 5) // ranking[r] = entry of rank r+1
	state := func(c string) EntryStatus {
		st, ok := s.EntryOf("raffle", c, now)
		if !ok {
			t.Fatalf("%s has no entry", c)
		}
		return st
	}
	for r, i := range ranking {
		st := state(entrants[i])
		want := EntryBackup
		if r < 2 {
			want = EntryWon
		}
		if st.State != want || st.Rank != int64(r+1) {
			t.Fatalf("rank %d (%s): %+v, want %s", r+1, entrants[i], st, want)
		}
	}
	// The first winner claims: a hold through the normal path, then an order;
	// nobody else may order with that win.
	w1, w2, b1 := entrants[ranking[0]], entrants[ranking[1]], entrants[ranking[2]]
	v1 := DrawVisitor("raffle", w1)
	h := mustOK(t, s, Command{Kind: KindHold, Now: now, Drop: "raffle", Visitor: v1, Early: true, Seq: ranking[0], Quantity: 1}).Hold
	mustRefuse(t, s, orderCmd(h.ID, v1, "thief@x", "k0", now), floodgate.EForbidden)
	o := mustOK(t, s, orderCmd(h.ID, v1, w1, "k1", now+10)).Order
	if st := state(w1); st.State != EntryOrdered || st.OrderID != o.ID {
		t.Fatalf("winner after ordering: %+v", st)
	}
	// A backup cannot take a hold before its turn.
	mustRefuse(t, s, Command{Kind: KindHold, Now: now, Drop: "raffle", Visitor: DrawVisitor("raffle", b1), Early: true, Seq: ranking[2], Quantity: 1}, floodgate.ENotAdmitted)
	// The second winner lets the claim window pass: the unit goes to the
	// first backup.
	now += 31_000
	tick(t, s, now, false, Issued{Drop: "raffle"})
	if st := state(w2); st.State != EntryExpired {
		t.Fatalf("unclaimed winner: %+v", st)
	}
	if st := state(b1); st.State != EntryWon {
		t.Fatalf("first backup after an unclaimed win: %+v", st)
	}
	h = mustOK(t, s, Command{Kind: KindHold, Now: now, Drop: "raffle", Visitor: DrawVisitor("raffle", b1), Early: true, Seq: ranking[2], Quantity: 1}).Hold
	mustOK(t, s, orderCmd(h.ID, DrawVisitor("raffle", b1), b1, "k2", now))
	wantCounts(t, s, "raffle", 0, 0, 2)
	for _, i := range ranking[3:] {
		if st := state(entrants[i]); st.State != EntryLost {
			t.Fatalf("entrant after the sell-out: %+v", st)
		}
	}
	// The log tells the same story: entries, the draw, admissions, orders.
	var types []string
	for i := range s.LogSize("raffle") {
		leaf, _ := s.LogLeaf("raffle", i)
		var l Leaf
		if err := json.Unmarshal(leaf, &l); err != nil || l.LogIndex != i {
			t.Fatalf("leaf %d: %s (%v)", i, leaf, err)
		}
		types = append(types, l.Type)
		if l.Type == LeafOrder && (l.Position != int64(slices.Index(ranking, *l.Seq))+1 || !*l.Early) {
			t.Fatalf("order leaf %s: position is not the drawn rank", leaf)
		}
	}
	want := []string{"entry", "entry", "entry", "entry", "entry", "start", "admit", "order", "admit", "order"}
	if !slices.Equal(types, want) {
		t.Fatalf("log %v, want %v", types, want)
	}
	if p, ok := s.ReceiptPayload(o.ID); !ok || !bytes.Contains(p, []byte(`"order":"`+o.ID+`"`)) {
		t.Fatalf("receipt payload %s", p)
	}
	mustOK(t, s, Command{Kind: KindCloseDrop, Now: now, Drop: "raffle"})
	if hs := s.Drops["raffle"].Heads; len(hs) == 0 || !hs[len(hs)-1].Final || hs[len(hs)-1].Size != s.LogSize("raffle") {
		t.Fatalf("heads after the close: %+v", hs)
	}
}

func TestPresaleCodesAreUsedOnce(t *testing.T) {
	s := NewState()
	sp := spec("pre", 10)
	sp.PresaleUntil, sp.PresaleCodes, sp.PresaleCustomers = t0+60_000, []string{"CODE-0001"}, []string{"vip@x"}
	mustOK(t, s, Command{Kind: KindCreateDropV2, Now: t0 - 1000, Drop: "pre", Spec: sp, ShuffleSeed: seed32(2)})
	d := s.Drops["pre"]
	if !d.InPresale(t0) || !d.PresaleAllows("vip@x") || d.PresaleAllows("other@x") {
		t.Fatal("presale list")
	}
	mustRefuse(t, s, Command{Kind: KindUsePresaleCode, Now: t0, Drop: "pre", Code: "WRONG-CODE"}, floodgate.EForbidden)
	mustOK(t, s, Command{Kind: KindUsePresaleCode, Now: t0, Drop: "pre", Code: "CODE-0001"})
	mustRefuse(t, s, Command{Kind: KindUsePresaleCode, Now: t0, Drop: "pre", Code: "CODE-0001"}, floodgate.EForbidden)
	if d.InPresale(t0 + 60_000) {
		t.Fatal("the presale did not end at presale_until")
	}
}

func TestFairSpecValidation(t *testing.T) {
	for name, f := range map[string]func(*DropSpec){
		"unknown mode":           func(s *DropSpec) { s.Mode = "lottery" },
		"draw without end":       func(s *DropSpec) { s.Mode = ModeDraw; s.ClaimSeconds = 60 },
		"draw ends before start": func(s *DropSpec) { s.Mode, s.EntryEndsAt, s.ClaimSeconds = ModeDraw, s.StartsAt-1, 60 },
		"draw without claim":     func(s *DropSpec) { s.Mode, s.EntryEndsAt = ModeDraw, s.StartsAt+1000 },
		"entry end without draw": func(s *DropSpec) { s.EntryEndsAt = s.StartsAt + 1000 },
		"presale list, no until": func(s *DropSpec) { s.PresaleCodes = []string{"CODE-0001"} },
		"presale without list":   func(s *DropSpec) { s.PresaleUntil = s.StartsAt + 1000 },
		"presale code too short": func(s *DropSpec) { s.PresaleUntil, s.PresaleCodes = s.StartsAt+1000, []string{"x"} },
		"presale ends at start":  func(s *DropSpec) { s.PresaleUntil, s.PresaleCodes = s.StartsAt, []string{"CODE-0001"} },
		"a draw with a presale": func(s *DropSpec) {
			s.Mode, s.EntryEndsAt, s.ClaimSeconds, s.PresaleUntil = ModeDraw, s.StartsAt+1000, 60, s.StartsAt+10
		},
		"claim longer than limit": func(s *DropSpec) {
			s.Mode, s.EntryEndsAt, s.ClaimSeconds = ModeDraw, s.StartsAt+1000, MaxClaimSeconds+1
		},
	} {
		sp := spec("v", 10)
		f(sp)
		if err := ValidateSpec(sp); err == nil || err.Code != floodgate.EInvalid {
			t.Errorf("%s: accepted (%v)", name, err)
		}
	}
}

func TestDrawNotifiedRecordsWhatEntrantsWereTold(t *testing.T) {
	s, now := drawDrop(t, 1, []string{"a@x", "b@x"})
	mustRefuse(t, s, Command{Kind: KindDrawNotified, Now: now, Drop: "raffle", Code: EntryWon, Customers: []string{"stranger@x"}}, floodgate.ENotFound)
	mustRefuse(t, s, Command{Kind: KindDrawNotified, Now: now, Drop: "raffle", Code: EntryPending, Customers: []string{"a@x"}}, floodgate.EInvalid)
	mustRefuse(t, s, Command{Kind: KindDrawNotified, Now: now, Drop: "raffle", Code: EntryWon}, floodgate.EInvalid)
	mustOK(t, s, Command{Kind: KindDrawNotified, Now: now, Drop: "raffle", Code: EntryLost, Customers: []string{"a@x", "b@x"}})
	if got := s.Drops["raffle"].Notified; got["a@x"] != EntryLost || got["b@x"] != EntryLost {
		t.Fatalf("notified %v", got)
	}
}
