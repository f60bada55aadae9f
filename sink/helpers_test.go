package sink

import (
	"context"
	"fmt"
	"testing"

	"github.com/floodgate/floodgate/sale"
	"github.com/floodgate/floodgate/store"
)

// applier applies commands to st and fails the test on an error.
func applier(t *testing.T, ctx context.Context, st *store.Store) func(sale.Command) sale.Result {
	return func(c sale.Command) sale.Result {
		t.Helper()
		res, err := st.Apply(ctx, &c)
		if err != nil {
			t.Fatalf("%v: %v", c.Kind, err)
		}
		return res
	}
}

// sellOrders opens drop "d" at now with n units and orders each one (at
// now+1000, buyers v0, v1, … with v0@example.com, …), so that the order
// feed holds n events.
func sellOrders(apply func(sale.Command) sale.Result, now int64, n int) {
	spec := &sale.DropSpec{ID: "d", Name: "D", Stock: int64(n), PerCustomerLimit: 1, StartsAt: now - 1000, HoldSeconds: 60, AdmitPerSecond: 100, AdmitWindow: 60, Fingerprint: "f"}
	apply(sale.Command{Kind: sale.KindCreateDrop, Now: now, Drop: "d", Spec: spec})
	apply(sale.Command{Kind: sale.KindTick, Now: now})
	apply(sale.Command{Kind: sale.KindReserveBlock, Now: now, Drop: "d", Size: int64(n)})
	apply(sale.Command{Kind: sale.KindTick, Now: now + 1000, Issued: []sale.Issued{{Drop: "d", Late: int64(n)}}})
	for i := range n {
		v := fmt.Sprintf("v%d", i)
		h := apply(sale.Command{Kind: sale.KindHold, Now: now + 1000, Drop: "d", Visitor: v, Quantity: 1}).Hold
		apply(sale.Command{Kind: sale.KindOrder, Now: now + 1000, HoldID: h.ID, Visitor: v, Customer: v + "@example.com", IdemKey: v})
	}
}
