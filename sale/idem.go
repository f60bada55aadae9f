package sale

// idemIndex finds the order a customer's Idempotency-Key created. It is
// derived from the orders (each keeps its customer and key), so it is not
// saved in snapshots: Unmarshal rebuilds it, and a copy (Clone) builds it
// only if it applies an order. It is keyed by a 64-bit hash of the customer
// and the key, so that growing it never reads the keys again (a cache miss
// each in a big state); every hit is checked against the order itself, and
// a second key with the same hash goes to more, so a collision, made on
// purpose or not, costs a string look-up and never a wrong answer.
type idemIndex struct {
	built bool
	m     map[uint64]int32 // the order's index in State.Orders: nothing for the collector to scan
	more  map[string]int32 // customer "\x00" key, for hashes taken by another key
}

// idemHash is FNV-1a over customer, a zero byte and key.
func idemHash(customer, key string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(customer); i++ {
		h ^= uint64(customer[i])
		h *= 1099511628211
	}
	h *= 1099511628211 // the zero byte
	for i := 0; i < len(key); i++ {
		h ^= uint64(key[i])
		h *= 1099511628211
	}
	return h
}

// idemOrder returns the order customer created with key, or nil.
func (s *State) idemOrder(customer, key string) *Order {
	return s.idemOrderHash(customer, key, idemHash(customer, key))
}

// idemOrderHash is idemOrder for a customer and key whose idemHash is h.
func (s *State) idemOrderHash(customer, key string, h uint64) *Order {
	x := s.idemIndex()
	i, ok := x.m[h]
	if !ok {
		return nil
	}
	if o := s.Orders.at(int(i)); o.Customer == customer && o.IdemKey == key {
		return o
	}
	var kb keyBuf
	if i, ok := x.more[string(joinKey(kb[:0], customer, 0, key))]; ok {
		return s.Orders.at(int(i))
	}
	return nil
}

// idemPut indexes order i, new.
func (s *State) idemPut(i int32) {
	o := s.Orders.at(int(i))
	s.idemPutHash(i, idemHash(o.Customer, o.IdemKey))
}

// idemPutHash is idemPut for an order whose idemHash is h.
func (s *State) idemPutHash(i int32, h uint64) {
	x := s.idemIndex()
	o := s.Orders.at(int(i))
	if cur, taken := x.m[h]; taken && cur != i {
		if x.more == nil {
			x.more = map[string]int32{}
		}
		x.more[idemKey(o.Customer, o.IdemKey)] = i
		return
	}
	x.m[h] = i
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
	s.idem = idemIndex{built: true, m: make(map[uint64]int32, s.Orders.Len())}
	for i := range s.Orders.Len() {
		s.idemPut(int32(i))
	}
}
