package systemtest

import (
	"slices"
	"testing"
	"time"

	"github.com/floodgate/floodgate"
	"github.com/floodgate/floodgate/internal/testkit"
)

// TestPhantomEarlyPositionsAfterLeaderLoss: visitors arrive early on one
// leader, which is killed before the opening; more arrive early on the next
// one. The first leader's block left ~990 early indexes nobody holds,
// shuffled among the real ones at the opening. Admission must pass over
// them: with stock for exactly the real arrivals and an hour-long admission
// window (so nothing lapses during the test), the first admission step after
// the opening reaches every real early arrival, all of them are admitted in
// position order, and each one gets a hold.
func TestPhantomEarlyPositionsAfterLeaderLoss(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 3-node cluster")
	}
	c := testkit.StartCluster(t, 3, testkit.ClusterOptions{})
	first := c.WaitLeader(t, nil, 30*time.Second)
	cl := c.Nodes[first].Client
	ctx := testkit.Context(t, 3*time.Minute)

	const perLeader, lastMoment = 10, 3
	const total = 2*perLeader + lastMoment
	opens := time.Now().Add(20 * time.Second)
	cl.MustCreateDrop(t, testkit.DropRequest{ID: "early", Name: "Early", Stock: total, PerCustomerLimit: 1,
		StartsAt: &opens, HoldSeconds: 600, AdmitPerSecond: 1000, AdmitWindowSeconds: 3600})

	type buyer struct {
		ticket string
		pos    int64 // 0-based, once open
	}
	var buyers []*buyer
	join := func(cl *testkit.Client) {
		t.Helper()
		var tk testkit.Ticket
		if err := testkit.Retry(ctx, func() (err error) { tk, err = cl.Join(ctx, "early"); return err }); err != nil {
			t.Fatalf("early join: %v", err)
		}
		if tk.State != floodgate.QueueWaiting {
			t.Fatalf("an early arrival is %q, want waiting", tk.State)
		}
		buyers = append(buyers, &buyer{ticket: tk.Ticket})
	}
	for range perLeader {
		join(cl)
	}
	// Let a tick report them; then a few more right before the kill, which
	// most likely no tick reports: their indexes fall in the gap, and they
	// must be admitted all the same.
	time.Sleep(300 * time.Millisecond)
	for range lastMoment {
		join(cl)
	}
	c.Nodes[first].Kill()
	second := c.WaitLeader(t, c.Others(first), 30*time.Second)
	cl = c.Nodes[second].Client
	for range perLeader {
		join(cl)
	}
	if time.Now().After(opens.Add(-time.Second)) {
		t.Fatalf("the setup took until the opening; the test needs the arrivals to be early")
	}

	// After the opening: every real arrival has a position; the phantom
	// indexes are shuffled among them.
	testkit.WaitFor(t, "the opening: every early arrival has a position", func() bool {
		for _, b := range buyers {
			st, err := cl.QueueStatus(ctx, "early", b.ticket)
			if err != nil || st.Position == 0 {
				return false
			}
			b.pos = st.Position - 1
		}
		return true
	})
	slices.SortFunc(buyers, func(a, b *buyer) int { return int(a.pos - b.pos) })
	var leaves []logLeaf
	testkit.WaitFor(t, "an admission step after the opening", func() bool {
		var err error
		if leaves, err = logLeaves(ctx, cl, "early"); err != nil {
			return false
		}
		return slices.ContainsFunc(leaves, func(l logLeaf) bool { return l.Type == "admit" })
	})
	var earlyTotal int64 = -1
	for _, l := range leaves {
		if l.Type == "start" && l.EarlyTotal != nil {
			earlyTotal = *l.EarlyTotal
		}
		if l.Type != "admit" {
			continue
		}
		last := buyers[len(buyers)-1].pos
		if *l.To <= last {
			t.Fatalf("the first admission step after the opening admitted [%d,%d), short of the last real early arrival at %d of %d: phantom positions took its place",
				*l.From, *l.To, last, earlyTotal)
		}
		break
	}
	if earlyTotal < perLeader+900 {
		t.Fatalf("%d early indexes at the opening; the lost leader's block should have left about 990 phantoms", earlyTotal)
	}
	t.Logf("%d real early arrivals among %d early indexes; the last at position %d", len(buyers), earlyTotal, buyers[len(buyers)-1].pos)

	// Everyone is admitted, in position order, and gets a hold: the stock is
	// exactly theirs, so no admission went to a phantom.
	testkit.WaitFor(t, "every real early arrival admitted", func() bool {
		admitted := true
		// Read from the back: admission only moves forward, so once a
		// later position is seen admitted, every earlier one must be.
		seenAdmitted := false
		for i := len(buyers) - 1; i >= 0; i-- {
			st, err := cl.QueueStatus(ctx, "early", buyers[i].ticket)
			if err != nil {
				return false
			}
			switch st.State {
			case floodgate.QueueAdmitted:
				seenAdmitted = true
			case floodgate.QueueWaiting:
				if seenAdmitted {
					t.Fatalf("position %d is waiting while a later position is admitted", buyers[i].pos)
				}
				admitted = false
			default:
				t.Fatalf("position %d is %q", buyers[i].pos, st.State)
			}
		}
		return admitted
	})
	for _, b := range buyers {
		if _, _, err := cl.Hold(ctx, "early", b.ticket, 1); err != nil {
			t.Fatalf("hold for position %d: %v", b.pos, err)
		}
	}
	d, err := cl.Drop(ctx, "early")
	if err != nil {
		t.Fatal(err)
	}
	if d.Held != total || d.Available != 0 || d.Available+d.Held+d.AwaitingPayment+d.Sold != d.Stock {
		t.Fatalf("after every early arrival's hold: available %d held %d awaiting %d sold %d of %d", d.Available, d.Held, d.AwaitingPayment, d.Sold, d.Stock)
	}
}
