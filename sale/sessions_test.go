package sale

import (
	"encoding/json"
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
	// Snapshots written before carried the index as "idem": with keys
	// unscoped (before keys counted per customer) and scoped (until the
	// index left the snapshot). Both read back to the same index.
	buf, err := s.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	for _, old := range []map[string]string{
		{"shared-key": oa.ID, "other": ob.Order.ID},
		{"a@x\x00shared-key": oa.ID, "b@x\x00shared-key": ob.Order.ID},
	} {
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(buf, &fields); err != nil {
			t.Fatal(err)
		}
		if _, ok := fields["idem"]; ok {
			t.Fatal("the snapshot still carries the idempotency index")
		}
		fields["idem"], _ = json.Marshal(old)
		oldBuf, _ := json.Marshal(fields)
		back, err := Unmarshal(oldBuf)
		if err != nil {
			t.Fatal(err)
		}
		if err := back.Check(); err != nil {
			t.Fatalf("after reading an old state: %v", err)
		}
		if r := mustOK(t, back, orderCmd(hb.ID, "vb", "b@x", "shared-key", now+5)); r.Created || r.Order.ID != ob.Order.ID {
			t.Fatalf("b's replay after reading an old state: %+v", r)
		}
		mustRefuse(t, back, orderCmd(hc.ID, "vc", "a@x", "shared-key", now+6), floodgate.EConflict)
	}
}

// TestIdempotencyIndexCollisions: a customer whose hash another customer
// has taken still finds their own orders (both are under the hash, each
// checked against its record), and so does the other.
func TestIdempotencyIndexCollisions(t *testing.T) {
	s := NewState()
	x := s.customers() // built (empty) before the orders come, as order() finds it
	o1, i1 := s.Orders.add(Order{ID: "o1", Customer: "a@x", IdemKey: "k1"}, 0)
	x.addOrder(customerHash("a@x"), -1, i1)
	x.putHashed(customerHash("b@x"), 0) // as if b@x had the hash of a@x
	o2, i2 := s.Orders.add(Order{ID: "o2", Customer: "b@x", IdemKey: "k2"}, 0)
	if r := x.customer("b@x", customerHash("b@x")); r != -1 {
		t.Fatalf("b@x found as record %d before their first order", r)
	}
	x.addOrder(customerHash("b@x"), -1, i2)
	o3, i3 := s.Orders.add(Order{ID: "o3", Customer: "a@x", IdemKey: "k3"}, 0)
	x.addOrder(customerHash("a@x"), x.customer("a@x", customerHash("a@x")), i3)
	if x.m.len() != 3 || x.more != nil || len(x.recs) != 2 || x.ordersIndexed() != 3 {
		t.Fatalf("%d slots, %d whole keys, %d records, %d orders; want 3 slots, 2 records, 3 orders", x.m.len(), len(x.more), len(x.recs), x.ordersIndexed())
	}
	for _, tc := range []struct {
		customer, key string
		want          *Order
	}{{"a@x", "k1", o1}, {"b@x", "k2", o2}, {"a@x", "k3", o3}, {"a@x", "k2", nil}, {"b@x", "k1", nil}, {"c@x", "k1", nil}} {
		if got := s.idemOrder(tc.customer, tc.key); got != tc.want {
			t.Errorf("idemOrder(%s, %s) = %v, want %v", tc.customer, tc.key, got, tc.want)
		}
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
