package sale

import (
	"fmt"

	"github.com/floodgate/floodgate"

	jsonv2 "github.com/go-json-experiment/json"
	jsonv1 "github.com/go-json-experiment/json/v1"
)

// Unmarshal reads a state written by Marshal.
//
// It decodes with github.com/go-json-experiment/json (the prototype of
// encoding/json/v2) under encoding/json's own rules (DefaultOptionsV1):
// the same snapshots are accepted and read the same way, and a restore is
// several times faster and allocates less than with encoding/json, which
// validates the whole input in a pass of its own before decoding it.
func Unmarshal(buf []byte) (*State, error) {
	s := NewState()
	if err := jsonv2.Unmarshal(buf, s, jsonv1.DefaultOptionsV1()); err != nil {
		return nil, fmt.Errorf("sale: decode state: %w", err)
	}
	s.restored()
	return s, nil
}

// restored fills in what a snapshot leaves out: maps it omits when empty,
// fields older snapshots did not have, and the indexes derived from the
// orders.
func (s *State) restored() {
	if s.Nodes == nil {
		s.Nodes = map[string]string{}
	}
	s.Tickets.restore(&s.Holds)
	for o := range s.Orders.All() {
		if o.Status == "" {
			o.Status = floodgate.OrderPaid // written before the payment step
		}
	}
	s.Events.restore(&s.Orders)
	for _, d := range s.Drops {
		if !d.Customers.m.made {
			d.Customers = newCustomerCounts()
		}
		s.restoreActive(d)
		d.Log.restore(&s.Orders)
	}
	s.rebuildCustomers()
}
