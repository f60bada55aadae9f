package sink

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/floodgate/floodgate/internal/testkit/localstore"
	"github.com/floodgate/floodgate/sale"
)

// TestPruneOnlyWhatEverySinkHas runs the leader's pruning against a real
// in-process store: events a sink has not taken stay; once it has them and
// the retention has passed, they go, and an idle store gets no command.
func TestPruneOnlyWhatEverySinkHas(t *testing.T) {
	st := localstore.Leader(t)
	quiet := slog.New(slog.DiscardHandler)
	ctx := context.Background()
	now := time.Now().UnixMilli()
	apply := applier(t, ctx, st)
	sellOrders(apply, now, 1)
	sk := apply(sale.Command{Kind: sale.KindAddSink, Now: now, Sink: &sale.SinkSpec{Kind: sale.SinkWebhook, URL: "https://shop.example/h", Secret: "shop-secret-0123456789"}}).Sink

	r := New(Config{Store: st, Logger: quiet, Now: func() time.Time { return time.UnixMilli(now + 10_000) }})
	events := func() (n int, applied uint64) {
		st.Read(func(s *sale.State) { n, applied = s.Events.Len(), s.Applied })
		return
	}
	r.prune(ctx)
	if n, _ := events(); n != 1 {
		t.Fatalf("%d events after pruning with a sink behind, want 1", n)
	}
	apply(sale.Command{Kind: sale.KindSinkProgress, Now: now, SinkID: sk.ID, Delivered: 1})
	r.prune(ctx)
	n, applied := events()
	if n != 0 {
		t.Fatalf("%d events after the sink took them and the retention passed, want 0", n)
	}
	r.prune(ctx)
	if _, again := events(); again != applied {
		t.Fatal("pruning with nothing to prune wrote a command")
	}
}
