package systemtest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
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
		wg.Add(1)
		go func() {
			defer wg.Done()
			tk, err := cl.Join(ctx, "gap")
			if err != nil {
				return // its visitor joins the next leader
			}
			mu.Lock()
			tickets = append(tickets, tk)
			mu.Unlock()
		}()
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
