package sale

import "sort"

// AffectedBuyer is a buyer who reached a hold: Customer is the signed-in
// customer when they ordered, else "ticket:" and the visitor id of the hold.
type AffectedBuyer struct {
	Customer string
	Email    string // the customer when they ordered; "" for a ticket
}

// Affected lists, once each and sorted, the buyers who held or ordered
// between from and to (Unix milliseconds). Waiting visitors are not listed:
// nothing is kept per waiting visitor (their tickets are self-contained), so
// only buyers who reached a hold are known.
func (s *State) Affected(from, to int64) []AffectedBuyer { return s.AffectedOf("", from, to) }

// AffectedOf is Affected limited to the drops of one tenant ("" is every
// drop).
func (s *State) AffectedOf(tenant string, from, to int64) []AffectedBuyer {
	seen := map[string]bool{}
	var out []AffectedBuyer
	for h := range s.Holds.All() {
		if d := s.Drops[h.Drop]; tenant != "" && (d == nil || d.Tenant != tenant) {
			continue
		}
		end := h.ExpiresAt
		var customer string
		if o := s.Orders.Get(h.OrderID); o != nil {
			end, customer = o.CreatedAt, o.Customer
		}
		if h.CreatedAt > to || end < from {
			continue
		}
		b := AffectedBuyer{Customer: "ticket:" + h.Visitor}
		if customer != "" {
			b = AffectedBuyer{Customer: customer, Email: customer}
		}
		if !seen[b.Customer] {
			seen[b.Customer] = true
			out = append(out, b)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Customer < out[j].Customer })
	return out
}
