package fairness

import (
	"bytes"
	"context"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/floodgate/floodgate/sale"
	"github.com/floodgate/floodgate/status"
)

// stateStore applies commands to a real state machine, as the store does
// after a commit.
type stateStore struct{ st *sale.State }

func (s *stateStore) Read(fn func(*sale.State)) { fn(s.st) }
func (s *stateStore) IsLeader() bool            { return true }
func (s *stateStore) Apply(_ context.Context, c *sale.Command) (sale.Result, error) {
	res := s.st.Apply(c)
	if res.Err != nil {
		return res, res.Err
	}
	return res, nil
}

type outbox struct{ sent []string }

func (o *outbox) NotifyBuyers(msgs []status.BuyerMessage) error {
	for _, m := range msgs {
		o.sent = append(o.sent, m.Email+" "+strings.SplitN(m.Subject, " · ", 2)[1])
	}
	return nil
}

func (o *outbox) take() []string {
	out := o.sent
	o.sent = nil
	sort.Strings(out)
	return out
}

// TestNotifierTellsEachResultOnce: after the draw the winner hears that it
// won and the others that they are backups; asking again sends nothing; at
// the close the backups hear they were not drawn and the winner who did not
// claim that the claim time is over.
func TestNotifierTellsEachResultOnce(t *testing.T) {
	const t0 = int64(1_700_000_000_000)
	st := sale.NewState()
	s := &stateStore{st: st}
	ctx := context.Background()
	must := func(c sale.Command) {
		t.Helper()
		if _, err := s.Apply(ctx, &c); err != nil {
			t.Fatalf("%v: %v", c.Kind, err)
		}
	}
	sp := &sale.DropSpec{ID: "r", Name: "Raffle", Stock: 1, PerCustomerLimit: 1, StartsAt: t0, HoldSeconds: 60,
		AdmitPerSecond: 10, AdmitWindow: 60, Fingerprint: "f"}
	sp.Mode, sp.EntryEndsAt, sp.ClaimSeconds = sale.ModeDraw, t0+1000, 60
	must(sale.Command{Kind: sale.KindCreateDropV2, Now: t0, Drop: "r", Spec: sp, ShuffleSeed: bytes.Repeat([]byte{4}, 32)})
	for _, c := range []string{"a@x", "b@x", "c@x"} {
		must(sale.Command{Kind: sale.KindEnter, Now: t0 + 1, Drop: "r", Customer: c})
	}
	must(sale.Command{Kind: sale.KindTick, Now: t0 + 1000, Issued: []sale.Issued{{Drop: "r"}}})
	must(sale.Command{Kind: sale.KindTick, Now: t0 + 1100, Issued: []sale.Issued{{Drop: "r"}}})
	winner := []string{"a@x", "b@x", "c@x"}[sale.Ranking(bytes.Repeat([]byte{4}, 32), 3)[0]]

	mb := &outbox{}
	now := t0 + 1200
	n := &Notifier{Store: s, Mailer: mb, Now: func() time.Time { return sale.Time(now) }}
	if err := n.Once(ctx); err != nil {
		t.Fatal(err)
	}
	got := mb.take()
	if len(got) != 3 || !slices.Contains(got, winner+" You won: Raffle") {
		t.Fatalf("after the draw: %v (winner %s)", got, winner)
	}
	if err := n.Once(ctx); err != nil || len(mb.take()) != 0 {
		t.Fatalf("results told twice (%v)", err)
	}
	must(sale.Command{Kind: sale.KindCloseDrop, Now: now, Drop: "r"})
	if err := n.Once(ctx); err != nil {
		t.Fatal(err)
	}
	got = mb.take()
	if len(got) != 3 || !slices.Contains(got, winner+" Claim time over: Raffle") {
		t.Fatalf("after the close: %v", got)
	}
	if err := n.Once(ctx); err != nil || len(mb.take()) != 0 || !n.done["r"] {
		t.Fatalf("a closed draw is scanned on (%v)", err)
	}
}
