package sale

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/floodgate/floodgate"
)

func i64(v int64) *int64 { return &v }

func asAdmin(c Command) Command {
	inner := c
	return Command{Kind: KindAudited, Now: c.Now, Op: &Operator{Actor: "admin", From: "192.0.2.1"}, Inner: &inner}
}

func TestPauseStopsAdmissionAndKeepsPlaces(t *testing.T) {
	s, now, d := openAt10(t)
	res := mustOK(t, s, asAdmin(Command{Kind: KindPauseDrop, Now: now, Drop: "d", Reason: "payment provider down"}))
	if !res.Drop.Paused || res.Drop.PauseReason != "payment provider down" {
		t.Fatalf("pause answered %+v", res.Drop)
	}
	// A double click pauses once: same answer, one audit entry.
	mustOK(t, s, asAdmin(Command{Kind: KindPauseDrop, Now: now + 1, Drop: "d", Reason: "payment provider down"}))
	if len(s.Audit) != 1 || s.Audit[0].Action != "drop.pause" || s.Audit[0].Actor != "admin" || s.Audit[0].From != "192.0.2.1" || s.Audit[0].Target != "d" {
		t.Fatalf("audit after a double pause: %+v", s.Audit)
	}
	for i := int64(1); i <= 30; i++ {
		tick(t, s, now+i*1000, false, Issued{Drop: "d", Late: 100})
	}
	if d.AdmittedUpTo != 10 {
		t.Fatalf("admission moved to %d while paused", d.AdmittedUpTo)
	}
	// A waiting visitor's place did not change.
	if pos, _ := d.Position(false, 50); pos != 50 || d.Ahead(pos) != 40 {
		t.Fatalf("position %d, ahead %d while paused", pos, d.Ahead(pos))
	}
	now += 30_000
	mustOK(t, s, asAdmin(Command{Kind: KindResumeDrop, Now: now, Drop: "d"}))
	tickAdmits(t, s, "d", now+1000, 20, "one second after resuming (no burst for the pause)", Issued{Drop: "d", Late: 100})
	if len(s.Audit) != 2 || s.Audit[1].Action != "drop.resume" {
		t.Fatalf("audit: %+v", s.Audit)
	}
}

func TestUpdateDropValidatesAndApplies(t *testing.T) {
	sp := spec("d", 10)
	sp.AdmitPerSecond = 100
	s, now := openDrop(t, sp, 10)
	mustOK(t, s, holdCmd("d", "v0", 0, 1, now))
	h := mustOK(t, s, holdCmd("d", "v1", 1, 1, now)).Hold
	mustOK(t, s, orderCmd(h.ID, "v1", "a@example.com", "k1", now))
	wantCounts(t, s, "d", 8, 1, 1)

	for _, tc := range []struct {
		name  string
		patch *DropPatch
		code  string
		msg   string
	}{
		{"nothing", nil, floodgate.EInvalid, "Nothing to change"},
		{"rate zero", &DropPatch{AdmitPerSecond: i64(0)}, floodgate.EInvalid, "admit_per_second"},
		{"rate negative", &DropPatch{AdmitPerSecond: i64(-5)}, floodgate.EInvalid, "admit_per_second"},
		{"stock below committed", &DropPatch{Stock: i64(1)}, floodgate.EInvalid, "cannot go below 2"},
		{"ends in the past", &DropPatch{EndsAt: i64(now - 1)}, floodgate.EInvalid, "in the past"},
		{"hold too short", &DropPatch{HoldSeconds: i64(1)}, floodgate.EInvalid, "hold_seconds"},
		{"empty name", &DropPatch{Name: new(string)}, floodgate.EInvalid, "name"},
		// One bad field refuses the whole patch.
		{"good and bad", &DropPatch{Stock: i64(50), AdmitPerSecond: i64(0)}, floodgate.EInvalid, "admit_per_second"},
	} {
		res := apply(t, s, asAdmin(Command{Kind: KindUpdateDrop, Now: now, Drop: "d", Patch: tc.patch}))
		if res.Err == nil || res.Err.Code != tc.code || !strings.Contains(res.Err.Message, tc.msg) {
			t.Fatalf("%s: got %v, want %s mentioning %q", tc.name, res.Err, tc.code, tc.msg)
		}
	}
	if s.Drops["d"].Spec.Stock != 10 || len(s.Audit) != 0 {
		t.Fatalf("refused patches changed the drop or the audit log: stock %d, audit %+v", s.Drops["d"].Spec.Stock, s.Audit)
	}

	// Stock down to exactly what is committed, then a restock.
	res := mustOK(t, s, asAdmin(Command{Kind: KindUpdateDrop, Now: now, Drop: "d", Patch: &DropPatch{Stock: i64(2)}}))
	if res.Drop.Available != 0 || res.Drop.Stock != 2 {
		t.Fatalf("stock down to committed: %+v", res.Drop)
	}
	name := "Mini speaker, second batch"
	res = mustOK(t, s, asAdmin(Command{Kind: KindUpdateDrop, Now: now, Drop: "d", Patch: &DropPatch{
		Stock: i64(25), AdmitPerSecond: i64(5), HoldSeconds: i64(60), EndsAt: i64(now + 60_000), Name: &name,
	}}))
	wantCounts(t, s, "d", 23, 1, 1)
	if res.Drop.Name != name || res.Drop.AdmitPerSecond != 5 || res.Drop.HoldSeconds != 60 || res.Drop.EndsAt == nil {
		t.Fatalf("patched drop: %+v", res.Drop)
	}
	last := s.Audit[len(s.Audit)-1]
	if last.Action != "drop.update" || !strings.Contains(last.Detail, "stock 2→25") || !strings.Contains(last.Detail, "admit_per_second 100→5") {
		t.Fatalf("audit entry of the update: %+v", last)
	}
	// New holds get the new hold time.
	h2 := mustOK(t, s, holdCmd("d", "v2", 2, 1, now)).Hold
	if got := h2.ExpiresAt.UnixMilli() - now; got != 60_000 {
		t.Fatalf("a new hold lasts %d ms, want 60000", got)
	}
	// ends_at closes the drop at the first tick after it and returns holds.
	tick(t, s, now+60_000, false, Issued{Drop: "d", Late: 10})
	d := s.Drops["d"]
	if !d.Closed || d.Held != 0 || d.Stats.ClosedAt != now+60_000 {
		t.Fatalf("ends_at did not close the drop: closed %v held %d", d.Closed, d.Held)
	}
	for _, c := range []Command{
		{Kind: KindUpdateDrop, Now: now, Drop: "d", Patch: &DropPatch{Stock: i64(30)}},
		{Kind: KindPauseDrop, Now: now, Drop: "d"},
		{Kind: KindResumeDrop, Now: now, Drop: "d"},
	} {
		mustRefuse(t, s, asAdmin(c), floodgate.EConflict)
	}
	mustRefuse(t, s, asAdmin(Command{Kind: KindPauseDrop, Now: now, Drop: "nope"}), floodgate.ENotFound)
}

func TestRestockReopensASoldOutDrop(t *testing.T) {
	s, now := openDrop(t, spec("d", 1), 5)
	h := mustOK(t, s, holdCmd("d", "v0", 0, 1, now)).Hold
	mustOK(t, s, orderCmd(h.ID, "v0", "a@example.com", "k", now))
	d := s.Drops["d"]
	if d.DropState(now) != floodgate.DropSoldOut || d.Stats.SoldOutAt != now {
		t.Fatalf("state %s, sold out at %d", d.DropState(now), d.Stats.SoldOutAt)
	}
	mustOK(t, s, Command{Kind: KindUpdateDrop, Now: now, Drop: "d", Patch: &DropPatch{Stock: i64(3)}})
	if d.DropState(now) != floodgate.DropOpen || d.Available != 2 || d.Stats.SoldOutAt != 0 {
		t.Fatalf("after a restock: state %s, available %d", d.DropState(now), d.Available)
	}
	tick(t, s, now+1000, false, Issued{Drop: "d", Late: 5})
	mustOK(t, s, holdCmd("d", "v1", 1, 1, now+1000))
}

func TestAuditOfCreateAndCloseAndNotes(t *testing.T) {
	s := NewState()
	c := Command{Kind: KindCreateDrop, Now: t0, Drop: "d", Spec: spec("d", 5)}
	mustOK(t, s, asAdmin(c))
	mustOK(t, s, asAdmin(c)) // the same request again creates nothing
	mustOK(t, s, asAdmin(Command{Kind: KindCloseDrop, Now: t0 + 1, Drop: "d"}))
	mustOK(t, s, asAdmin(Command{Kind: KindCloseDrop, Now: t0 + 2, Drop: "d"}))
	mustOK(t, s, Command{Kind: KindAuditNote, Now: t0 + 3, Op: &Operator{Actor: "admin"}, Action: "incident.create", Target: "inc_1", Detail: "Payments failing"})
	var got []string
	for _, e := range s.Audit {
		got = append(got, e.Action+" "+e.Target)
	}
	if strings.Join(got, "; ") != "drop.create d; drop.close d; incident.create inc_1" {
		t.Fatalf("audit: %v", got)
	}
	if s.Audit[2].Seq != 3 || s.Audit[2].At != t0+3 {
		t.Fatalf("audit entry: %+v", s.Audit[2])
	}
	if res := s.Apply(&Command{Kind: KindAudited, Now: t0, Op: &Operator{Actor: "admin"}}); res.Err == nil || res.Err.Code != floodgate.EInvalid {
		t.Fatalf("audited without an inner command: %v", res.Err)
	}
	mustRefuse(t, s, Command{Kind: KindAuditNote, Now: t0, Op: &Operator{Actor: "admin"}}, floodgate.EInvalid)
	// An operator field over MaxKeyLength is refused, in a change or a note.
	long := strings.Repeat("x", MaxKeyLength+1)
	for _, op := range []Operator{{Actor: long}, {Actor: "admin", Tenant: long}, {Actor: "admin", From: long}} {
		inner := Command{Kind: KindCloseDrop, Now: t0, Drop: "d"}
		mustRefuse(t, s, Command{Kind: KindAudited, Now: t0, Op: &op, Inner: &inner}, floodgate.EInvalid)
		mustRefuse(t, s, Command{Kind: KindAuditNote, Now: t0, Op: &op, Action: "incident.create", Target: "inc_2", Detail: "d"}, floodgate.EInvalid)
	}
	// A refused inner command writes no entry.
	mustRefuse(t, s, asAdmin(Command{Kind: KindCloseDrop, Now: t0, Drop: "nope"}), floodgate.ENotFound)
	if len(s.Audit) != 3 {
		t.Fatalf("a refused change was audited: %+v", s.Audit)
	}
}

func TestStatsCountHoldsRefusalsAndWaits(t *testing.T) {
	sp := spec("d", 3)
	sp.AdmitPerSecond = 2
	s, now := openDrop(t, sp, 6) // 2 admitted after one second
	h0 := mustOK(t, s, holdCmd("d", "v0", 0, 1, now)).Hold
	h1 := mustOK(t, s, holdCmd("d", "v1", 1, 1, now)).Hold
	mustRefuse(t, s, holdCmd("d", "v5", 5, 1, now), floodgate.ENotAdmitted)
	mustOK(t, s, Command{Kind: KindRelease, Now: now, HoldID: h0.ID, Visitor: "v0"})
	mustOK(t, s, orderCmd(h1.ID, "v1", "a@example.com", "k", now))
	mustRefuse(t, s, orderCmd(h1.ID, "v1", "a@example.com", "k2", now), floodgate.EAlreadyOrdered)
	tick(t, s, now+1000, false, Issued{Drop: "d", Late: 6})
	mustOK(t, s, holdCmd("d", "v2", 2, 1, now+1000))
	tick(t, s, now+1000+11_000, false, Issued{Drop: "d", Late: 6}) // the hold expires
	st := s.Drops["d"].Stats
	if st.Holds != 3 || st.HoldsReleased != 1 || st.HoldsExpired != 1 || st.Orders != 1 {
		t.Fatalf("stats: %+v", st)
	}
	if st.Refusals[floodgate.ENotAdmitted] != 1 || st.Refusals[floodgate.EAlreadyOrdered] != 1 {
		t.Fatalf("refusals: %v", st.Refusals)
	}
	// Positions 0-1 joined and were admitted at t0+1000 (one tick), 2-3 a
	// second later, and more after the expiry.
	w, ok := s.Drops["d"].WaitPercentiles(0.5, 0.99)
	if !ok || w[0] < 0 || w[1] < 1 {
		t.Fatalf("wait percentiles %v (ok %v) of timeline %+v", w, ok, st.Timeline)
	}
}

func TestFairnessFigures(t *testing.T) {
	sp := spec("d", 100_000)
	sp.AdmitPerSecond = 100_000
	s := NewState()
	mustOK(t, s, Command{Kind: KindCreateDrop, Now: t0 - 5000, Drop: "d", Spec: sp})
	mustOK(t, s, Command{Kind: KindReserveBlock, Now: t0 - 4000, Drop: "d", Early: true, Size: 2000})
	mustOK(t, s, Command{Kind: KindTick, Now: t0, Seed: 42, Issued: []Issued{{Drop: "d", Early: 2000}}})
	mustOK(t, s, Command{Kind: KindReserveBlock, Now: t0, Drop: "d", Size: 3000})
	tick(t, s, t0+1000, false, Issued{Drop: "d", Early: 2000, Late: 3000})
	tau, n, early, ne := s.Drops["d"].Fairness()
	if n != 5000 || ne != 2000 {
		t.Fatalf("fairness counts %d, %d", n, ne)
	}
	if math.Abs(early) > 0.1 {
		t.Fatalf("early arrivals' tau %v: the shuffle is not random", early)
	}
	if tau < 0.6 || tau >= 1 {
		t.Fatalf("tau over all admitted %v: want FIFO after the opening", tau)
	}
}

// TestAuditEntryJSON pins an audit entry's bytes in the snapshot: the
// operator's fields sit between at and action, the empty ones left out.
func TestAuditEntryJSON(t *testing.T) {
	for _, c := range []struct {
		e    AuditEntry
		want string
	}{
		{AuditEntry{Seq: 7, At: 1767225600123, Operator: Operator{Actor: "fgk_a_1", Tenant: "a", From: "192.0.2.1"}, Action: "drop.pause", Target: "d", Detail: "why"},
			`{"seq":7,"at":1767225600123,"actor":"fgk_a_1","tenant":"a","from":"192.0.2.1","action":"drop.pause","target":"d","detail":"why"}`},
		{AuditEntry{Seq: 1, At: 0, Operator: Operator{Actor: "root"}, Action: "drop.close", Target: "d"},
			`{"seq":1,"at":0,"actor":"root","action":"drop.close","target":"d"}`},
	} {
		got, err := json.Marshal(c.e)
		if err != nil || string(got) != c.want {
			t.Errorf("json.Marshal(%+v) = %s, %v\nwant %s", c.e, got, err, c.want)
		}
	}
}
