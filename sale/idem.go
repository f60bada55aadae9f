package sale

import "slices"

// customerIndex keeps one record per customer of the state, found by a
// hash of the customer (hashIndex): the customer's orders, newest first,
// as a chain through prev, and where the customer's units are counted in
// the drop of their latest order. An order finds the order its
// Idempotency-Key already made and the customer's units with this one
// look-up, where an index by customer and key plus the drop's counts by
// customer cost two (each a cache miss in a big state). A customer's
// first order walks no chain; later ones walk that customer's orders
// only.
//
// It is derived from the orders and the drops' counts, so it is not saved
// in snapshots: Unmarshal rebuilds it, and a copy (Clone) builds it only
// if it applies an order. Every customer with a count in some drop has a
// record, so a customer without one has no units anywhere.
type customerIndex struct {
	built     bool
	hashIndex               // customerHash → index into recs
	recs      []customerRec // in the order customers came
	prev      []int32       // per order: 1 + the index of its customer's order before it (0: none)
	orders    *OrderTable   // the state's own
	drops     []*Drop       // the drops records count in: customerRec.drop is 1 + an index
}

// customerRec is 12 bytes without pointers, so that the collector does
// not read the records: the customer's name is their latest order's (or,
// without one, their count's).
type customerRec struct {
	last int32 // 1 + the index of the customer's latest order (0: none)
	// at is the index of the customer's count in the CustomerCounts of
	// drop, 1 + an index into customerIndex.drops (0: not known; find it
	// by name). Drops are never removed and a count never leaves its
	// place, so it stays right; a copy of the state (Clone) rebuilds the
	// records.
	at   int32
	drop int32
}

// dropNum is 1 + the index of d in x.drops, added if new. A state has
// few drops, and a rush's orders name the last one.
func (x *customerIndex) dropNum(d *Drop) int32 {
	for i := len(x.drops) - 1; i >= 0; i-- {
		if x.drops[i] == d {
			return int32(i + 1)
		}
	}
	x.drops = append(x.drops, d)
	return int32(len(x.drops))
}

// countsIn reports whether record r's count is in drop d.
func (x *customerIndex) countsIn(r int, d *Drop) bool {
	n := x.recs[r].drop
	return n > 0 && x.drops[n-1] == d
}

func (s *State) customers() *customerIndex {
	if !s.custs.built {
		s.rebuildCustomers()
	}
	return &s.custs
}

// name is the customer of record r.
func (x *customerIndex) name(r int32) string {
	if rec := &x.recs[r]; rec.last > 0 {
		return x.orders.at(int(rec.last - 1)).Customer
	} else {
		return x.drops[rec.drop-1].Customers.at(int(rec.at)).name
	}
}

// customer returns the index of customer's record, whose hash is h, or -1.
func (x *customerIndex) customer(customer string, h uint64) int {
	return x.customerFrom(customer, x.m.start(h))
}

// customerFrom is customer for a look-up that hashSlots.start began.
func (x *customerIndex) customerFrom(customer string, p probe) int {
	return x.findStarted(p, func(i int32) bool { return x.name(i) == customer },
		func(b []byte) []byte { return append(b, customer...) })
}

// orderWithKey returns the index of the order record r made with key (the
// first one, if a snapshot had more), or -1.
func (x *customerIndex) orderWithKey(r int, key string) int {
	found := -1
	for i := x.recs[r].last - 1; i >= 0; i = x.prev[i] - 1 {
		if x.orders.at(int(i)).IdemKey == key {
			found = int(i)
		}
	}
	return found
}

// addOrder records order i (new, the last of the table) of the customer
// whose record is r (-1: none yet; h is the customer's hash), and returns
// the record.
func (x *customerIndex) addOrder(h uint64, r int, i int32) *customerRec {
	if r < 0 {
		x.recs = append(room(x.recs), customerRec{at: -1})
		r = len(x.recs) - 1
		x.putHashed(h, int32(r))
	}
	rec := &x.recs[r]
	x.prev = append(room(x.prev), rec.last)
	rec.last = i + 1
	return rec
}

// reserve makes room for n more customers and orders.
func (x *customerIndex) reserve(n int) {
	x.hashIndex.reserve(n)
	x.recs = slices.Grow(x.recs, n)
	x.prev = slices.Grow(x.prev, n)
}

// idemOrder returns the order customer created with key, or nil.
func (s *State) idemOrder(customer, key string) *Order {
	x := s.customers()
	r := x.customer(customer, customerHash(customer))
	if r < 0 {
		return nil
	}
	if i := x.orderWithKey(r, key); i >= 0 {
		return s.Orders.at(i)
	}
	return nil
}

// rebuildCustomers derives the records from the orders, then adds the
// customers counted in a drop without an order (none in a state Apply
// made; a snapshot could have them). A state written before keys were
// scoped per customer, or before the index left the snapshot (as "idem"),
// reads back the same way.
func (s *State) rebuildCustomers() {
	s.custs = customerIndex{built: true, hashIndex: newHashIndex(s.Orders.Len()), orders: &s.Orders}
	x := &s.custs
	x.prev = make([]int32, 0, s.Orders.Len())
	x.reserve(s.unsold())
	for i := range s.Orders.Len() {
		o := s.Orders.at(i)
		h := customerHash(o.Customer)
		x.addOrder(h, x.customer(o.Customer, h), int32(i))
	}
	ids := make([]string, 0, len(s.Drops))
	for id := range s.Drops {
		ids = append(ids, id)
	}
	slices.Sort(ids) // the same records whatever the map's order
	for _, id := range ids {
		d := s.Drops[id]
		for k, c := range chunksAll(d.Customers.all) {
			h := customerHash(c.name)
			if x.customer(c.name, h) < 0 {
				x.recs = append(room(x.recs), customerRec{at: int32(k), drop: x.dropNum(d)})
				x.putHashed(h, int32(len(x.recs)-1))
			}
		}
	}
}

// ordersIndexed is the number of orders in the records' chains.
func (x *customerIndex) ordersIndexed() int {
	n := 0
	for r := range x.recs {
		for i := x.recs[r].last - 1; i >= 0; i = x.prev[i] - 1 {
			n++
		}
	}
	return n
}
