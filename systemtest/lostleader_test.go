package systemtest

// Positions a lost leader handed out: the late ones no tick reported (a gap
// the counter passes) and the early block it reserved (phantom indexes among
// the real early arrivals). Admission must neither promise more units than
// the drop has nor give a unit to a position nobody holds.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/floodgate/floodgate"
	"github.com/floodgate/floodgate/internal/testkit"
)

// TestLostLeaderGapAdmitsNoMoreThanStock: visitors join the first leader in
// a burst and the leader is killed at once, most likely before a tick
// reports their positions as handed out; more visitors than there are units
// then join the next leader. The first leader's positions fall in the late
// gap the counter passes over without counting, but they are held by real
// visitors. Every visitor told "admitted" must then get a unit: admission
// may not promise more units than the drop has, however many visitors hold
// positions of a gap.
func TestLostLeaderGapAdmitsNoMoreThanStock(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 3-node cluster")
	}
	c := testkit.StartCluster(t, 3, testkit.ClusterOptions{})
	first := c.WaitLeader(t, nil, 30*time.Second)
	ctx := testkit.Context(t, 2*time.Minute)
	const stock, burst, later = 10, 8, 30
	c.Nodes[first].MustCreateDrop(t, testkit.DropRequest{ID: "gap", Name: "Gap", Stock: stock, PerCustomerLimit: 1,
		HoldSeconds: 600, AdmitPerSecond: 1000, AdmitWindowSeconds: 3600})
	// The drop is open and the first leader has its first block.
	cl := c.Nodes[first].Client
	var warm testkit.Ticket
	if err := testkit.Retry(ctx, func() (err error) { warm, err = cl.Join(ctx, "gap"); return err }); err != nil {
		t.Fatalf("join: %v", err)
	}
	time.Sleep(300 * time.Millisecond) // a tick reports it

	tickets := []testkit.Ticket{warm}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range burst {
		wg.Go(func() {
			tk, err := cl.Join(ctx, "gap")
			if err != nil {
				return // its visitor joins the next leader
			}
			mu.Lock()
			tickets = append(tickets, tk)
			mu.Unlock()
		})
	}
	wg.Wait()
	c.Nodes[first].Kill()
	onFirst := len(tickets)
	second := c.WaitLeader(t, c.Others(first), 30*time.Second)
	cl = c.Nodes[second].Client
	for range later + burst + 1 - onFirst {
		var tk testkit.Ticket
		if err := testkit.Retry(ctx, func() (err error) { tk, err = cl.Join(ctx, "gap"); return err }); err != nil {
			t.Fatalf("join on the second leader: %v", err)
		}
		tickets = append(tickets, tk)
	}
	sort.Slice(tickets, func(i, j int) bool { return tickets[i].Position < tickets[j].Position })
	// Let ticks report the second leader's positions and admission move.
	testkit.WaitFor(t, "admission up to the stock", func() bool {
		d, err := cl.Drop(ctx, "gap")
		return err == nil && d.AdmittedUpTo > 1000
	})
	time.Sleep(time.Second)

	// Every visitor asks for its place; those admitted ask for a hold.
	var admitted, held, refused int
	var refusals []string
	var admittedAt []int64
	for _, tk := range tickets {
		var st testkit.QueueStatus
		if err := testkit.Retry(ctx, func() (err error) { st, err = cl.QueueStatus(ctx, "gap", tk.Ticket); return err }); err != nil {
			t.Fatalf("status of position %d: %v", tk.Position, err)
		}
		if st.State != floodgate.QueueAdmitted {
			continue
		}
		admitted++
		admittedAt = append(admittedAt, st.Position)
		var err error
		if err = testkit.Retry(ctx, func() (err error) { _, _, err = cl.Hold(ctx, "gap", tk.Ticket, 1); return err }); err != nil {
			refused++
			refusals = append(refusals, testkit.Code(err))
			t.Logf("position %d: admitted, then its hold was refused: %v", tk.Position, err)
			continue
		}
		held++
	}
	d, err := cl.Drop(ctx, "gap")
	if err != nil {
		t.Fatal(err)
	}
	var positions []int64
	for _, tk := range tickets {
		positions = append(positions, tk.Position)
	}
	// (Positions are 1-based, as the queue status gives them; an early
	// arrival's is 0 at its join.)
	t.Logf("%d visitors (%d joined the first leader) at positions %v; admitted_up_to %d; %d admitted %v, %d held, %d refused at the hold %v; available %d held %d",
		len(tickets), onFirst, positions, d.AdmittedUpTo, admitted, admittedAt, held, refused, refusals, d.Available, d.Held)
	t.Logf("the log's moves of the counter: %s", admitLeaves(t, cl, "gap"))
	if refused > 0 {
		t.Errorf("%d visitors were told they were admitted and then refused a hold (%d units, %d admitted)", refused, stock, admitted)
	}
	if held != stock || d.Available != 0 || d.Held != stock {
		t.Errorf("%d holds, drop available %d held %d; want every one of the %d units held", held, d.Available, d.Held, stock)
	}
}

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

// logLeaf is what the system tests read of a leaf of a drop's transparency
// log: the opening's count of early arrivals and the counter's moves.
type logLeaf struct {
	Type       string `json:"type"`
	EarlyTotal *int64 `json:"early_total"`
	From, To   *int64
	Gap        bool `json:"gap"`
}

// logLeaves reads the leaves of drop's transparency log through cl.
func logLeaves(ctx context.Context, cl *testkit.Client, drop string) ([]logLeaf, error) {
	var out struct {
		Entries []struct {
			Data string `json:"data"`
		} `json:"entries"`
	}
	if _, err := cl.Call(ctx, http.MethodGet, "/api/v1/drops/"+drop+"/log/entries", nil, nil, &out); err != nil {
		return nil, err
	}
	leaves := make([]logLeaf, 0, len(out.Entries))
	for _, e := range out.Entries {
		raw, err := base64.StdEncoding.DecodeString(e.Data)
		if err != nil {
			return nil, fmt.Errorf("log leaf %q: %w", e.Data, err)
		}
		var l logLeaf
		if err := json.Unmarshal(raw, &l); err != nil {
			return nil, fmt.Errorf("log leaf %s: %w", raw, err)
		}
		leaves = append(leaves, l)
	}
	return leaves, nil
}

// admitLeaves describes the start and admit leaves of drop's transparency
// log: where the early arrivals ended and each move of the counter.
func admitLeaves(t *testing.T, cl *testkit.Client, drop string) string {
	t.Helper()
	leaves, err := logLeaves(testkit.Context(t, 10*time.Second), cl, drop)
	if err != nil {
		return err.Error()
	}
	var b strings.Builder
	for _, l := range leaves {
		switch {
		case l.Type == "start" && l.EarlyTotal != nil:
			fmt.Fprintf(&b, " start(early_total %d)", *l.EarlyTotal)
		case l.Type == "admit" && l.From != nil && l.To != nil:
			fmt.Fprintf(&b, " [%d,%d)", *l.From, *l.To)
			if l.Gap {
				b.WriteString("gap")
			}
		}
	}
	return b.String()
}
