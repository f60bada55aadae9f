package main

import (
	"time"

	"github.com/floodgate/floodgate/sale"
	"github.com/floodgate/floodgate/status"
	"github.com/floodgate/floodgate/store"
)

// affectedBuyers reads the buyers an incident affected from the sale state,
// every drop's or one tenant's (status.TenantAffectedSource).
type affectedBuyers struct{ st *store.Store }

func (a affectedBuyers) Affected(from, to time.Time) ([]status.Buyer, error) {
	return a.AffectedOf("", from, to)
}

func (a affectedBuyers) AffectedOf(tenant string, from, to time.Time) ([]status.Buyer, error) {
	var out []status.Buyer
	a.st.Read(func(s *sale.State) {
		for _, b := range s.AffectedOf(tenant, from.UnixMilli(), to.UnixMilli()) {
			out = append(out, status.Buyer{Customer: b.Customer, Email: b.Email})
		}
	})
	return out, nil
}
