package sale

import (
	"maps"
	"slices"
)

// Clone returns a copy of s that shares nothing that Apply changes, so that
// it can be encoded (a snapshot) while s goes on applying commands. Encoding
// a large state takes seconds; copying it takes a small part of that, and
// only the copy holds up the log.
//
// Two logs are shared, not copied: the order feed (Events) and each drop's
// transparency log (Log), both in chunks (each copy with a context of its
// own, which finds the copy's orders). They are append-only — Apply
// never writes an element already there; pruning the feed makes a new
// slice — so the copy, whose chunks' length and capacity end where they
// were, never sees a later write.
// TestCloneSharesNothing fails for a new field of a reference type until it
// is handled here.
func (s *State) Clone() *State {
	c := *s
	c.custs = customerIndex{} // rebuilt if the copy applies an order
	c.last = nil              // s's
	c.text = textArena{}      // s writes on in its chunk
	c.Holds = s.Holds.clone()
	c.Orders = s.Orders.clone()
	c.Drops = make(map[string]*Drop, len(s.Drops))
	for id, d := range s.Drops {
		c.Drops[id] = d.clone(&c.Orders)
	}
	c.Tickets = s.Tickets.clone(&c.Holds)
	c.Secret = slices.Clone(s.Secret)
	c.Nodes = maps.Clone(s.Nodes)
	if s.Status != nil {
		c.Status = make(map[string]StatusRecord, len(s.Status))
		for k, r := range s.Status {
			r.Value = slices.Clone(r.Value)
			c.Status[k] = r
		}
	}
	c.Events = s.Events.shared(&c.Orders)
	c.Sinks = clonePointers(s.Sinks)
	c.Tenants = clonePointers(s.Tenants)
	c.Keys = clonePointers(s.Keys)
	c.Audit = slices.Clone(s.Audit)
	c.RevokedSessions = maps.Clone(s.RevokedSessions)
	return &c
}

// clone copies d for a copy of the state whose orders are orders.
func (d *Drop) clone(orders *OrderTable) *Drop {
	c := *d
	c.Spec.Vouchers = slices.Clone(d.Spec.Vouchers)
	c.Spec.PresaleCustomers = slices.Clone(d.Spec.PresaleCustomers)
	c.Spec.PresaleCodes = slices.Clone(d.Spec.PresaleCodes)
	c.Customers = d.Customers.clone()
	c.Active = d.Active.clone()
	c.Unpaid = maps.Clone(d.Unpaid)
	c.Batches = slices.Clone(d.Batches)
	c.Gaps = slices.Clone(d.Gaps)
	c.ShuffleSeed = slices.Clone(d.ShuffleSeed)
	c.Log = d.Log.shared(orders)
	c.Heads = slices.Clone(d.Heads)
	c.Entries = slices.Clone(d.Entries)
	c.EntryIndex = maps.Clone(d.EntryIndex)
	c.PresaleUsed = maps.Clone(d.PresaleUsed)
	c.Notified = maps.Clone(d.Notified)
	c.EarlyGaps = slices.Clone(d.EarlyGaps)
	c.EarlySkip = slices.Clone(d.EarlySkip)
	c.Stats.Refusals = maps.Clone(d.Stats.Refusals)
	c.Stats.Timeline = slices.Clone(d.Stats.Timeline)
	return &c
}

// clonePointers copies a map of pointers to structs whose fields are values
// and strings, with every struct copied (into one array).
func clonePointers[T any](m map[string]*T) map[string]*T {
	if m == nil {
		return nil
	}
	out := make(map[string]*T, len(m))
	vals := make([]T, len(m))
	i := 0
	for k, p := range m {
		if p == nil {
			out[k] = nil
			continue
		}
		vals[i] = *p
		out[k] = &vals[i]
		i++
	}
	return out
}
