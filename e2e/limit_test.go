package e2e

import (
	"testing"
	"time"

	"github.com/floodgate/floodgate"
	"github.com/floodgate/floodgate/internal/testkit"
)

// TestAdmittedBuyersFindAUnitWithALimitOfTwo: 3 units at 2 per customer.
// Every visitor the queue tells "admitted" gets a hold when it asks for the
// units left (at most its limit): the queue does not admit a visitor per
// unit when the visitors before may take two each. The others wait (a
// held unit may come back), never told admitted.
func TestAdmittedBuyersFindAUnitWithALimitOfTwo(t *testing.T) {
	n := testkit.StartNode(t, testkit.Options{})
	c := n.Client
	ctx := testkit.Context(t, time.Minute)
	now := time.Now()
	c.MustCreateDrop(t, testkit.DropRequest{ID: "pair", Name: "Pair", Stock: 3, PerCustomerLimit: 2,
		StartsAt: &now, HoldSeconds: 600, AdmitPerSecond: 100, AdmitWindowSeconds: 600})
	var tickets []string
	for range 4 {
		tickets = append(tickets, c.MustJoin(t, "pair").Ticket)
	}
	// 3 units serve 2 visitors who may take 2 each (2 + 1).
	c.MustWaitAdmitted(t, "pair", tickets[0])
	c.MustWaitAdmitted(t, "pair", tickets[1])
	time.Sleep(500 * time.Millisecond) // a few ticks more: admission moves as far as it will
	for i, tk := range tickets {
		st, err := c.QueueStatus(ctx, "pair", tk)
		if err != nil {
			t.Fatalf("visitor %d: status: %v", i, err)
		}
		d := c.MustDrop(t, "pair")
		if st.State != floodgate.QueueAdmitted {
			if d.Available > 0 && i < 2 {
				t.Fatalf("visitor %d is %+v with %d units left for it", i, st, d.Available)
			}
			if st.State != floodgate.QueueWaiting {
				t.Fatalf("visitor %d with every unit held: %+v, want waiting (a held unit may come back)", i, st)
			}
			continue
		}
		q := min(2, d.Available)
		if q == 0 {
			t.Fatalf("visitor %d was told admitted with no unit left (%+v)", i, d)
		}
		if _, _, err := c.Hold(ctx, "pair", tk, q); err != nil {
			t.Fatalf("visitor %d, admitted, asked for %d of the %d left: %v", i, q, d.Available, err)
		}
	}
	if d := c.MustDrop(t, "pair"); d.Available != 0 || d.Held != 3 {
		t.Fatalf("available %d, held %d: want the 3 units held", d.Available, d.Held)
	}
}
