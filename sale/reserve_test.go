package sale

import (
	"strconv"
	"testing"
)

// TestRushIndexesSizedAhead checks that a drop's stock sizes the indexes a
// rush fills: every buyer of a sold-out drop holds and orders without the
// tickets, the customers' records or the tables' numbers growing, and the
// state answers as a copy whose indexes start empty and grow, and as the
// state read back from a snapshot.
func TestRushIndexesSizedAhead(t *testing.T) {
	const stock = 3000
	sp := spec("d", stock)
	sp.AdmitPerSecond = MaxAdmitPerSecond
	s, now := openDrop(t, sp, stock)
	slots := len(s.Tickets.m.slots)
	if slots < 2*stock {
		t.Fatalf("a drop of %d units left %d ticket slots", stock, slots)
	}
	holdNums, orderNums := cap(s.Holds.byNum), cap(s.Orders.byNum)
	var custSlots int
	// A copy whose indexes start empty and grow as the buyers come.
	grown := s.Clone()
	grown.Tickets.hashIndex = newHashIndex(0)
	grown.Holds.byNum, grown.Orders.byNum = nil, nil
	grown.custs = customerIndex{built: true, hashIndex: newHashIndex(0), orders: &grown.Orders}
	for i := range int64(stock) {
		v := "visitor-" + strconv.FormatInt(i, 10)
		for _, st := range []*State{s, grown} {
			hc := holdCmd("d", v, i, 1, now)
			h := st.Apply(&hc)
			oc := orderCmd(h.Hold.ID, v, v+"@example.com", v, now)
			o := st.Apply(&oc)
			if h.Err != nil || o.Err != nil || o.Order.Quantity != 1 {
				t.Fatalf("buyer %s: hold %v, order %v %+v", v, h.Err, o.Err, o.Order)
			}
			if i == 0 && st == s {
				custSlots = len(s.custs.m.slots)
			}
		}
	}
	if got := len(s.Tickets.m.slots); got != slots {
		t.Errorf("the ticket index grew from %d to %d slots", slots, got)
	}
	if got := len(s.custs.m.slots); got != custSlots || got < 2*stock {
		t.Errorf("the customers' index has %d slots after the first order and %d at the end, for %d customers", custSlots, got, stock)
	}
	if cap(s.Holds.byNum) != holdNums || cap(s.Orders.byNum) != orderNums {
		t.Errorf("the tables' numbers grew: holds %d → %d, orders %d → %d",
			holdNums, cap(s.Holds.byNum), orderNums, cap(s.Orders.byNum))
	}
	for _, st := range []*State{s, grown} {
		if err := st.Check(); err != nil {
			t.Fatal(err)
		}
	}
	wantCounts(t, s, "d", 0, 0, stock)
	sameState(t, s, grown, "the state sized ahead and its copy")
	back := snapshot(t, s)
	for i := range int64(stock) {
		v := "visitor-" + strconv.FormatInt(i, 10)
		h := back.Tickets.Get("d", v)
		if h == nil || h.Visitor != v || back.Holds.Get(h.ID) != h || back.idemOrder(v+"@example.com", v) == nil {
			t.Fatalf("buyer %s lost after a snapshot: %+v", v, h)
		}
	}
}

// TestCloneOfSparseIndex checks that a copy of a state whose ticket index
// was sized ahead and holds few tickets gets an index sized for those
// tickets, finds each of them, and does not see the original's later ones.
func TestCloneOfSparseIndex(t *testing.T) {
	sp := spec("d", 100_000)
	sp.AdmitPerSecond = MaxAdmitPerSecond
	s, now := openDrop(t, sp, 1000)
	hold := func(st *State, i int64) Result {
		c := holdCmd("d", "visitor-"+strconv.FormatInt(i, 10), i, 1, now)
		return st.Apply(&c)
	}
	for i := range int64(100) {
		if res := hold(s, i); res.Err != nil {
			t.Fatal(res.Err)
		}
	}
	c := s.Clone()
	if got, was := len(c.Tickets.m.slots), len(s.Tickets.m.slots); got != slotsFor(100) || was < 2*100_000 {
		t.Fatalf("the copy's ticket index has %d slots, the original's %d", got, was)
	}
	if res := hold(s, 100); res.Err != nil {
		t.Fatal(res.Err)
	}
	for i := range int64(101) {
		v := "visitor-" + strconv.FormatInt(i, 10)
		if h := c.Tickets.Get("d", v); (h == nil) != (i == 100) || h != nil && h.Visitor != v {
			t.Fatalf("the copy finds %+v for %s", h, v)
		}
	}
	if err := c.Check(); err != nil {
		t.Fatal(err)
	}
	if res := hold(c, 100); res.Err != nil || !res.Created {
		t.Fatalf("the copy's hold for a new ticket: %+v", res)
	}
}
