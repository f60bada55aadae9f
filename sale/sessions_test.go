package sale

import (
	"testing"

	"github.com/floodgate/floodgate"
)

// TestIdempotencyKeysPerCustomer: two customers who happen to use the same
// Idempotency-Key each get their own order, and neither learns that the
// other used it; a replay by the same customer is the same order.
func TestIdempotencyKeysPerCustomer(t *testing.T) {
	s, now := openDrop(t, spec("d", 10), 10)
	ha := mustOK(t, s, holdCmd("d", "va", 0, 1, now)).Hold
	hb := mustOK(t, s, holdCmd("d", "vb", 1, 1, now)).Hold
	oa := mustOK(t, s, orderCmd(ha.ID, "va", "a@x", "shared-key", now+1)).Order
	ob := apply(t, s, orderCmd(hb.ID, "vb", "b@x", "shared-key", now+2))
	if ob.Err != nil || !ob.Created || ob.Order.ID == oa.ID {
		t.Fatalf("b's order with a key a used: %+v; want b's own new order", ob)
	}
	replay := mustOK(t, s, orderCmd(ha.ID, "va", "a@x", "shared-key", now+3))
	if replay.Created || replay.Order.ID != oa.ID {
		t.Fatalf("a's replay: %+v, want order %s", replay, oa.ID)
	}
	hc := mustOK(t, s, holdCmd("d", "vc", 2, 1, now)).Hold
	mustRefuse(t, s, orderCmd(hc.ID, "vc", "a@x", "shared-key", now+4), floodgate.EConflict) // a's key, another hold
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
	// A state written with unscoped keys reads back scoped.
	s.Idem = map[string]string{"shared-key": oa.ID, "other": ob.Order.ID}
	buf, _ := s.Marshal()
	back, err := Unmarshal(buf)
	if err != nil {
		t.Fatal(err)
	}
	if err := back.Check(); err != nil {
		t.Fatalf("after reading an old state: %v", err)
	}
	if r := mustOK(t, back, orderCmd(hb.ID, "vb", "b@x", "shared-key", now+5)); r.Created || r.Order.ID != ob.Order.ID {
		t.Fatalf("b's replay after reading an old state: %+v", r)
	}
}

// TestRevokeSession: a revoked session stays revoked until it would have
// expired; expired entries are pruned.
func TestRevokeSession(t *testing.T) {
	s := NewState()
	mustOK(t, s, Command{Kind: KindRevokeSession, Now: 1000, SessionID: "s1", Until: 5000})
	if !s.SessionRevoked("s1", 2000) || s.SessionRevoked("s2", 2000) {
		t.Fatal("revocation not recorded")
	}
	if s.SessionRevoked("s1", 5000) {
		t.Fatal("a revocation outlived the session")
	}
	mustRefuse(t, s, Command{Kind: KindRevokeSession, Now: 1000, Until: 5000}, floodgate.EInvalid)
	for i := range 2000 {
		apply(t, s, Command{Kind: KindRevokeSession, Now: 10_000 + int64(i), SessionID: string(rune('a'+i%26)) + string(rune(i)), Until: 10_500 + int64(i)})
	}
	if len(s.RevokedSessions) >= 2000 {
		t.Fatalf("%d revocations kept; expired ones must be pruned", len(s.RevokedSessions))
	}
}
