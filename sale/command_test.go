package sale

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"testing"
)

// sampleCommands has one command of every kind with every field set.
func sampleCommands() []Command {
	sp := spec("drop-1", 100)
	sp.Vouchers = []string{"V1", "V2"}
	sp.Price, sp.Currency = 59000, "KRW"
	sp.PaymentSeconds, sp.PaymentURL = 600, "https://pay.example/{order}?t={token}"
	renamed, stock, rate, holdS, ends := "Renamed", int64(150), int64(-3), int64(60), t0+1
	sp.ChallengeDifficulty = ChallengeAuto
	return []Command{
		{Kind: KindCreateDrop, Now: t0, Drop: "drop-1", Spec: sp},
		{Kind: KindReserveBlock, Now: t0 + 1, Drop: "drop-1", Early: true, Size: 1000},
		{Kind: KindHold, Now: t0 + 2, Drop: "drop-1", Visitor: "vis", Early: true, Seq: 17, Quantity: 1},
		{Kind: KindRelease, Now: t0 + 3, HoldID: "h_1_vis", Visitor: "vis"},
		{Kind: KindOrder, Now: t0 + 4, HoldID: "h_1_vis", Visitor: "vis", Customer: "a@example.com", IdemKey: "key"},
		{Kind: KindTick, Now: t0 + 5, Seed: 1<<64 - 1, Paused: true, MaxPauseMs: 900_000,
			Issued: []Issued{{Drop: "drop-1", Early: 3, Late: 4}, {Drop: "b", Early: 0, Late: -1}}},
		{Kind: KindCloseDrop, Now: -1, Drop: "drop-1"},
		{Kind: KindInitSecret, Now: t0, Secret: bytes.Repeat([]byte{7}, 32)},
		{Kind: KindSetNode, Now: t0, NodeID: "n2", HTTPAddr: "http://127.0.0.1:8081"},
		{Kind: KindStatus, Now: t0, StatusOps: []StatusOp{{Key: "incidents/inc_1", Value: []byte(`{"id":"inc_1"}`)}, {Key: "outbox/d_1", Del: true}}},
		{Kind: KindOrderPaid, Now: t0, OrderID: "o_1_vis"},
		{Kind: KindOrderCancel, Now: t0, OrderID: "o_1_vis"},
		{Kind: KindAddSink, Now: t0, Sink: &SinkSpec{Kind: SinkWebhook, URL: "https://shop.example/h", Secret: "k", DSN: "d", Table: "t", Tenant: "acme"}},
		{Kind: KindRemoveSink, Now: t0, SinkID: "sk_1"},
		{Kind: KindSinkProgress, Now: t0, SinkID: "sk_1", Delivered: 1 << 40, SinkError: "refused", Dead: true},
		{Kind: KindRetrySink, Now: t0, SinkID: "sk_1"},
		{Kind: KindPruneEvents, Now: t0, RetentionMs: 3600_000},
		{Kind: KindCreateDropV2, Now: t0, Drop: "drop-2", Spec: fairSpec(), ShuffleSeed: bytes.Repeat([]byte{3}, 32)},
		{Kind: KindEnter, Now: t0, Drop: "drop-2", Customer: "a@example.com"},
		{Kind: KindUsePresaleCode, Now: t0, Drop: "drop-2", Code: "CODE-0001"},
		{Kind: KindDrawNotified, Now: t0, Drop: "drop-2", Code: "won", Customers: []string{"a@example.com", "b@example.com"}},
		{Kind: KindCreateTenant, Now: t0, TenantSpec: tenantSpec("acme", 3)},
		{Kind: KindCreateKey, Now: t0, Key: &APIKey{ID: "fgk_acme_0123abcd", Tenant: "acme", Role: "owner", Hash: testHash, CreatedBy: "root"}},
		{Kind: KindRevokeKey, Now: t0, Key: &APIKey{ID: "fgk_acme_0123abcd", Tenant: "acme"}},
		{Kind: KindKeysUsed, Now: t0, Used: []KeyUse{{Key: "fgk_acme_0123abcd", At: t0}, {Key: "k2", At: -1}}},
		{Kind: KindCreateTenantDrop, Now: t0, Tenant: "acme", Drop: "drop-1", Spec: sp},
		{Kind: KindUpdateTenant, Now: t0, TenantSpec: tenantSpec("acme", 5)},
		{Kind: KindPauseDrop, Now: t0, Drop: "drop-1", Reason: "결제 점검"},
		{Kind: KindResumeDrop, Now: t0, Drop: "drop-1"},
		{Kind: KindUpdateDrop, Now: t0, Drop: "drop-1", Patch: &DropPatch{Name: &renamed, Stock: &stock, AdmitPerSecond: &rate, HoldSeconds: &holdS, EndsAt: &ends}},
		{Kind: KindUpdateDrop, Now: t0, Drop: "drop-1", Patch: &DropPatch{Stock: &stock}},
		{Kind: KindAudited, Now: t0, Op: &Operator{Actor: "admin", Tenant: "acme", From: "192.0.2.1"},
			Inner: &Command{Kind: KindPauseDrop, Now: t0, Drop: "drop-1", Reason: "r"}},
		{Kind: KindAuditNote, Now: t0, Op: &Operator{Actor: "admin"}, Action: "incident.create", Target: "inc_1", Detail: "d"},
		{Kind: KindRevokeSession, Now: t0, SessionID: "s_0123456789abcdef", Until: t0 + 43_200_000},
	}
}

func TestCommandRoundTrip(t *testing.T) {
	cmds := sampleCommands()
	var encoded [][]byte
	for _, c := range cmds {
		buf := AppendCommand(nil, &c)
		got, err := DecodeCommand(buf)
		if err != nil {
			t.Fatalf("%v: %v", c.Kind, err)
		}
		if !reflect.DeepEqual(got, c) {
			t.Fatalf("%v: round trip\n got %+v\nwant %+v", c.Kind, got, c)
		}
		// Every strict prefix is malformed, never a different command.
		for i := 0; i < len(buf); i++ {
			if _, err := DecodeCommand(buf[:i]); !errors.Is(err, ErrMalformed) {
				t.Fatalf("%v: a prefix of %d of %d bytes decoded (err %v)", c.Kind, i, len(buf), err)
			}
		}
		if _, err := DecodeCommand(append(buf, 0)); !errors.Is(err, ErrMalformed) {
			t.Fatalf("%v: trailing byte accepted", c.Kind)
		}
		encoded = append(encoded, buf)
	}
	batch := AppendBatch(nil, encoded)
	var got [][]byte
	if err := SplitBatch(batch, func(b []byte) error { got = append(got, append([]byte(nil), b...)); return nil }); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, encoded) {
		t.Fatal("SplitBatch does not give back what AppendBatch took")
	}
	stop := errors.New("stop")
	n := 0
	if err := SplitBatch(batch, func([]byte) error { n++; return stop }); err != stop || n != 1 {
		t.Fatalf("an error from fn does not stop SplitBatch: %v after %d", err, n)
	}
	for i := 1; i < len(batch); i++ {
		if err := SplitBatch(batch[:i], func([]byte) error { return nil }); err == nil {
			t.Fatalf("a batch cut to %d of %d bytes split without error", i, len(batch))
		}
	}
}

// fuzzState is a state with a started drop, a hold, an order and a closed
// drop, so that fuzzed commands meet real objects.
func fuzzState(tb testing.TB) *State {
	s, now := openDrop(tb, spec("drop-1", 100), 50)
	h := mustOK(tb, s, holdCmd("drop-1", "vis", 0, 1, now)).Hold
	mustOK(tb, s, holdCmd("drop-1", "vis2", 1, 1, now))
	mustOK(tb, s, orderCmd(h.ID, "vis", "a@example.com", "key", now))
	mustOK(tb, s, Command{Kind: KindCreateDrop, Now: now, Drop: "closed", Spec: spec("closed", 3)})
	mustOK(tb, s, Command{Kind: KindCloseDrop, Now: now, Drop: "closed"})
	mustOK(tb, s, Command{Kind: KindCreateTenant, Now: now, TenantSpec: tenantSpec("acme", 2)})
	mustOK(tb, s, Command{Kind: KindCreateKey, Now: now, Key: &APIKey{ID: "fgk_acme_0123abcd", Tenant: "acme", Role: "owner", Hash: testHash}})
	mustOK(tb, s, Command{Kind: KindCreateTenantDrop, Now: now, Tenant: "acme", Drop: "acme-1", Spec: spec("acme-1", 3)})
	return s
}

// FuzzDecodeCommand feeds arbitrary bytes to DecodeCommand: it never panics;
// whatever decodes encodes back to a command that decodes the same; and
// applying it to a live state never panics nor breaks an invariant, keeps
// nothing of its bytes, and leaves a state that a snapshot saves and
// reloads unchanged.
func FuzzDecodeCommand(f *testing.F) {
	for _, c := range sampleCommands() {
		f.Add(AppendCommand(nil, &c))
	}
	f.Add([]byte{})
	f.Add([]byte{0})
	f.Add([]byte{byte(KindTick), 0, 0, 2, 0, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Add([]byte{byte(KindCreateDrop), 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01})
	// Text that is not UTF-8 would not survive the JSON snapshot.
	f.Add(AppendCommand(nil, &Command{Kind: KindSetNode, Now: t0, NodeID: "n\xff", HTTPAddr: "http://127.0.0.1:1"}))
	f.Add(AppendCommand(nil, &Command{Kind: KindPauseDrop, Now: t0, Drop: "drop-1", Reason: "\xc3("}))
	base := fuzzState(f)
	baseBytes, _ := base.Marshal()
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := DecodeCommand(data)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		again, err := DecodeCommand(AppendCommand(nil, &c))
		if err != nil || !reflect.DeepEqual(again, c) {
			t.Fatalf("decoded %+v, re-encoded it decodes as %+v (%v)", c, again, err)
		}
		s, err := Unmarshal(baseBytes)
		if err != nil {
			t.Fatal(err)
		}
		// Decoded again from bytes of its own, which are then overwritten:
		// neither the state nor the result may keep a pointer into them.
		own := slices.Clone(data)
		c, _ = DecodeCommand(own)
		res := s.Apply(&c)
		if err := s.Check(); err != nil {
			t.Fatalf("after %+v: %v", c, err)
		}
		before, _ := s.Marshal()
		resBefore, _ := json.Marshal(res)
		for i := range own {
			own[i] = 'X'
		}
		if after, _ := s.Marshal(); !bytes.Equal(after, before) {
			t.Fatalf("the state changed with the bytes of the command applied:\n%s\n%s", before, after)
		}
		if resAfter, _ := json.Marshal(res); !bytes.Equal(resAfter, resBefore) {
			t.Fatalf("the result changed with the bytes of the command applied:\n%s\n%s", resBefore, resAfter)
		}
		// The state after it survives a snapshot unchanged.
		snapshot(t, s)
	})
}

// FuzzSplitBatch feeds arbitrary bytes to SplitBatch: it never panics, never
// hands out bytes beyond the batch, and a batch it accepts is rebuilt
// exactly by AppendBatch.
func FuzzSplitBatch(f *testing.F) {
	var encoded [][]byte
	for _, c := range sampleCommands() {
		encoded = append(encoded, AppendCommand(nil, &c))
	}
	f.Add(AppendBatch(nil, encoded))
	f.Add(AppendBatch(nil, nil))
	f.Add(AppendBatch(nil, [][]byte{{}}))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Add([]byte{2, 1, 5, 9})
	f.Fuzz(func(t *testing.T, data []byte) {
		var parts [][]byte
		total := 0
		err := SplitBatch(data, func(b []byte) error {
			total += len(b)
			parts = append(parts, append([]byte(nil), b...))
			return nil
		})
		if total > len(data) {
			t.Fatalf("handed out %d bytes from a batch of %d", total, len(data))
		}
		if err != nil {
			return
		}
		if rebuilt := AppendBatch(nil, parts); len(rebuilt) > len(data) {
			t.Fatalf("the rebuilt batch (%d bytes) is longer than the accepted one (%d)", len(rebuilt), len(data))
		}
		var again [][]byte
		if err := SplitBatch(AppendBatch(nil, parts), func(b []byte) error { again = append(again, append([]byte(nil), b...)); return nil }); err != nil {
			t.Fatalf("a rebuilt batch does not split: %v", err)
		}
		if len(again) != len(parts) {
			t.Fatalf("rebuilt batch has %d parts, want %d", len(again), len(parts))
		}
		for i := range parts {
			if !bytes.Equal(again[i], parts[i]) {
				t.Fatalf("part %d differs after rebuild", i)
			}
		}
	})
}

func fairSpec() *DropSpec {
	sp := spec("drop-2", 10)
	sp.Mode, sp.EntryEndsAt, sp.ClaimSeconds = ModeDraw, t0+1000, 60
	sp.PresaleUntil, sp.PresaleCustomers, sp.PresaleCodes = t0+10, []string{"vip@example.com"}, []string{"CODE-0001", "CODE-0002"}
	return sp
}
