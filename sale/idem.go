package sale

// idemIndex finds the order a customer's Idempotency-Key created, by a
// hash of the customer and the key (hashIndex) into State.Orders. It is
// derived from the orders (each keeps its customer and key), so it is not
// saved in snapshots: Unmarshal rebuilds it, and a copy (Clone) builds it
// only if it applies an order.
type idemIndex struct {
	built bool
	hashIndex
}

// idemHash is the hash of customer "\x00" key. An Idempotency-Key counts
// per customer, so that one customer's key neither collides with nor tells
// anything about another's.
func idemHash(customer, key string) uint64 { return fnvJoin(customer, 0, key) }

// idemOrder returns the order customer created with key, or nil.
func (s *State) idemOrder(customer, key string) *Order {
	return s.idemOrderHash(customer, key, idemHash(customer, key))
}

// idemOrderHash is idemOrder for a customer and key whose idemHash is h.
func (s *State) idemOrderHash(customer, key string, h uint64) *Order {
	i := s.idemIndex().findHashed(h, func(i int32) bool {
		o := s.Orders.at(int(i))
		return o.Customer == customer && o.IdemKey == key
	}, func(b []byte) []byte { return joinKey(b, customer, 0, key) })
	if i < 0 {
		return nil
	}
	return s.Orders.at(i)
}

// idemPut indexes order i, new.
func (s *State) idemPut(i int32) {
	o := s.Orders.at(int(i))
	s.idemPutHash(i, idemHash(o.Customer, o.IdemKey))
}

// idemPutHash is idemPut for an order whose idemHash is h.
func (s *State) idemPutHash(i int32, h uint64) {
	s.idemIndex().putHashed(h, i)
}

func (s *State) idemIndex() *idemIndex {
	if !s.idem.built {
		s.rebuildIdem()
	}
	return &s.idem
}

// rebuildIdem derives the index from the orders. A state written before
// keys were scoped per customer, or before the index left the snapshot
// (as "idem"), reads back the same way.
func (s *State) rebuildIdem() {
	s.idem = idemIndex{built: true, hashIndex: newHashIndex(s.Orders.Len())}
	for i := range s.Orders.Len() {
		s.idemPut(int32(i))
	}
}
