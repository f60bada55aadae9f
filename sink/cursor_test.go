package sink

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/internal/testkit/localstore"
	"github.com/floodgate/floodgate/sale"
	"github.com/floodgate/floodgate/store"
)

// gatedStore is a real store whose sink cursor commits wait for a gate, as
// they do when the log is busy with a rush.
type gatedStore struct {
	*store.Store
	gate    chan struct{}
	pending atomic.Int64
}

func (g *gatedStore) Apply(ctx context.Context, c *sale.Command) (sale.Result, error) {
	if c.Kind == sale.KindSinkProgress {
		g.pending.Add(1)
		defer g.pending.Add(-1)
		select {
		case <-g.gate:
		case <-ctx.Done():
			return sale.Result{}, ctx.Err()
		}
	}
	return g.Store.Apply(ctx, c)
}

// TestDeliveryDoesNotWaitForTheCursor: while the cursor's commit is held up,
// a webhook sink keeps delivering the batches after it, in order; once the
// commit goes through, the committed cursor catches up with delivery.
func TestDeliveryDoesNotWaitForTheCursor(t *testing.T) {
	st := localstore.Leader(t)
	quiet := slog.New(slog.DiscardHandler)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	now := time.Now().UnixMilli()
	apply := applier(t, ctx, st)
	const orders = 60 // three webhook batches
	sellOrders(apply, now, orders)
	recv := testkit.StartWebhookReceiver(t, "shop-secret-0123456789", 0)
	sk := apply(sale.Command{Kind: sale.KindAddSink, Now: now, Sink: &sale.SinkSpec{Kind: sale.SinkWebhook, URL: recv.URL, Secret: "shop-secret-0123456789"}}).Sink
	committed := func() (seq uint64) {
		st.Read(func(s *sale.State) { seq = s.Sinks[sk.ID].DeliveredSeq })
		return
	}

	gs := &gatedStore{Store: st, gate: make(chan struct{})}
	r := New(Config{Store: gs, Dev: true, Logger: quiet})
	testkit.Background(t, r.Run)

	testkit.WaitFor(t, "every event at the shop with the cursor commit held up",
		func() bool { return len(recv.Accepted()) >= orders })
	if problem := recv.CheckInOrder(uint64(orders)); problem != "" {
		t.Fatal(problem)
	}
	if c := committed(); c != 0 || gs.pending.Load() == 0 {
		t.Fatalf("committed cursor %d with %d commits waiting; want 0 committed and a commit waiting", c, gs.pending.Load())
	}
	close(gs.gate)
	testkit.WaitFor(t, "the committed cursor at the last event", func() bool { return committed() == orders })
	if got := len(recv.Accepted()); got != orders {
		t.Fatalf("the shop got %d events, want %d (none repeated on one leader)", got, orders)
	}
}
