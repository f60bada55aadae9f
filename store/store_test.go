package store

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/floodgate/floodgate"
	"github.com/floodgate/floodgate/internal/nice"
	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/sale"
)

const benchNow = int64(1_800_000_000_000)

func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// open opens a single-node store in dir and waits until it leads and has
// applied everything committed before.
func open(tb testing.TB, dir string, reg prometheus.Registerer) *Store {
	tb.Helper()
	st, err := Open(Config{Dir: dir, Bootstrap: true, Logger: quietLogger(), Registerer: reg})
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for !st.IsLeader() {
		if ctx.Err() != nil {
			st.Close()
			tb.Fatal("no leadership within 15s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := st.Barrier(10 * time.Second); err != nil {
		tb.Fatal(err)
	}
	return st
}

func mustApply(tb testing.TB, st *Store, c *sale.Command) sale.Result {
	tb.Helper()
	res, err := st.Apply(context.Background(), c)
	if err != nil {
		tb.Fatalf("apply %v: %v", c.Kind, err)
	}
	return res
}

// openSale creates a drop big enough for buyers and admits them, as the
// leader's ticks would.
func openSale(tb testing.TB, st *Store, buyers int64) {
	tb.Helper()
	sp := &sale.DropSpec{ID: "bench", Name: "Bench", Stock: sale.MaxStock, PerCustomerLimit: 1, StartsAt: benchNow,
		HoldSeconds: 3600, AdmitPerSecond: sale.MaxAdmitPerSecond, AdmitWindow: 3600, Fingerprint: "bench"}
	mustApply(tb, st, &sale.Command{Kind: sale.KindCreateDrop, Now: benchNow, Drop: "bench", Spec: sp})
	mustApply(tb, st, &sale.Command{Kind: sale.KindTick, Now: benchNow})
	for reserved := int64(0); reserved < buyers; reserved += sale.MaxBlockSize {
		mustApply(tb, st, &sale.Command{Kind: sale.KindReserveBlock, Now: benchNow, Drop: "bench", Size: sale.MaxBlockSize})
	}
	for now := benchNow + 1000; ; now += 1000 {
		mustApply(tb, st, &sale.Command{Kind: sale.KindTick, Now: now, Issued: []sale.Issued{{Drop: "bench", Late: buyers}}})
		var admitted int64
		st.Read(func(s *sale.State) { admitted = s.Drops["bench"].AdmittedUpTo })
		if admitted >= buyers {
			return
		}
	}
}

// buyOne holds and orders one unit for buyer i through st.Apply. Each
// command is wiped as soon as its Apply returns, as the HTTP layer reuses
// its copy of a command then: a store keeps nothing of it.
func buyOne(ctx context.Context, st *Store, i int64) (sale.Result, sale.Result, error) {
	v := fmt.Sprintf("visitor-%08d", i)
	c := &sale.Command{Kind: sale.KindHold, Now: benchNow + 10_000, Drop: "bench", Visitor: v, Seq: i, Quantity: 1}
	h, err := st.Apply(ctx, c)
	*c = sale.Command{}
	if err != nil {
		return h, sale.Result{}, fmt.Errorf("hold for %s: %v", v, err)
	}
	*c = sale.Command{Kind: sale.KindOrder, Now: benchNow + 10_000, HoldID: h.Hold.ID, Visitor: v, Customer: v, IdemKey: "key-" + v}
	o, err := st.Apply(ctx, c)
	*c = sale.Command{}
	if err != nil {
		return h, o, fmt.Errorf("order for %s: %v", v, err)
	}
	return h, o, nil
}

// TestConcurrentApplyGetsOwnResults applies holds and orders from many
// goroutines at once, so group commit puts many in one log entry, and checks
// that every caller gets the result of its own command, and that the state
// keeps each buyer's own visitor, customer and Idempotency-Key (the state
// machine reads a buyer's text in place from the log entry; each command
// is wiped once applied).
func TestConcurrentApplyGetsOwnResults(t *testing.T) {
	reg := prometheus.NewRegistry()
	st := open(t, t.TempDir(), reg)
	defer st.Close()
	const buyers = 400
	openSale(t, st, buyers)
	var wg sync.WaitGroup
	errs := make(chan error, buyers)
	for i := range int64(buyers) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h, o, err := buyOne(context.Background(), st, i)
			if err != nil {
				errs <- err
				return
			}
			v := fmt.Sprintf("visitor-%08d", i)
			if !strings.HasSuffix(h.Hold.ID, "_"+v[:8]) || o.Order.HoldID != h.Hold.ID || o.Order.Customer != v || !o.Created {
				errs <- fmt.Errorf("buyer %d got hold %+v and order %+v", i, h.Hold, o.Order)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	st.Read(func(s *sale.State) {
		if err := s.Check(); err != nil {
			t.Fatal(err)
		}
		if d := s.Drops["bench"]; d.Sold != buyers {
			t.Fatalf("sold %d, want %d", d.Sold, buyers)
		}
		for i := range int64(buyers) {
			v := fmt.Sprintf("visitor-%08d", i)
			h := s.Tickets.Get("bench", v)
			if h == nil || h.Visitor != v || h.Seq != i {
				t.Fatalf("the ticket of %s leads to hold %+v", v, h)
			}
			if o := s.Orders.Get(h.OrderID); o == nil || o.HoldID != h.ID || o.Customer != v || o.IdemKey != "key-"+v {
				t.Fatalf("hold %s of %s was ordered as %+v", h.ID, v, o)
			}
		}
	})
	count, sum := histogram(t, reg, "floodgate_raft_batch_commands")
	t.Logf("%d commands in %d log entries (%.1f per entry)", int(sum), int(count), sum/count)
	// Every entry the FSM applied is timed: the buyers' entries and those
	// before them (the drop's creation, its ticks).
	if applied, seconds := histogram(t, reg, "floodgate_fsm_apply_seconds"); applied < count || seconds <= 0 {
		t.Fatalf("the FSM timed %v entries (%v s) of at least %v", applied, seconds, count)
	}
}

// TestReopenReplaysToTheSameState closes the store and opens it again on
// the same dir, with and without a snapshot in between: the state is
// byte-identical, so nothing committed is lost or applied twice.
func TestReopenReplaysToTheSameState(t *testing.T) {
	dir := t.TempDir()
	st := open(t, dir, nil)
	openSale(t, st, 200)
	buy := func(from, to int64) {
		var wg sync.WaitGroup
		for i := from; i < to; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, _, err := buyOne(context.Background(), st, i); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
	}
	buy(0, 50)
	if err := st.Snapshot(); err != nil {
		t.Fatal(err)
	}
	buy(50, 100)
	want := marshal(t, st)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Apply(context.Background(), &sale.Command{Kind: sale.KindTick, Now: benchNow}); floodgate.ErrorCode(err) != floodgate.EUnavailable {
		t.Fatalf("apply on a closed store: %v, want unavailable", err)
	}

	st = open(t, dir, nil)
	if got := marshal(t, st); !bytes.Equal(got, want) {
		t.Fatalf("after reopening the state differs:\n got %s\nwant %s", got, want)
	}
	buy(100, 150)
	want = marshal(t, st)
	st.Close()
	st = open(t, dir, nil)
	defer st.Close()
	if got := marshal(t, st); !bytes.Equal(got, want) {
		t.Fatal("after the second reopen the state differs")
	}
	st.Read(func(s *sale.State) {
		if d := s.Drops["bench"]; d.Sold != 150 || s.Orders.Len() != 150 {
			t.Fatalf("sold %d with %d orders, want 150", d.Sold, s.Orders.Len())
		}
	})
}

func marshal(tb testing.TB, st *Store) []byte {
	tb.Helper()
	var b []byte
	var err error
	st.Read(func(s *sale.State) { b, err = s.Marshal() })
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// histogram returns the count and sum of the store's histogram name:
// floodgate_raft_batch_commands gives the log entries proposed and the
// commands they carried, floodgate_raft_append_seconds the log's appends
// (each a write and an fsync) and the seconds they took.
func histogram(tb testing.TB, reg *prometheus.Registry, name string) (count, sum float64) {
	tb.Helper()
	h := testkit.Metric(tb, reg, name).GetHistogram()
	return float64(h.GetSampleCount()), h.GetSampleSum()
}

// BenchmarkApply measures the engine alone, without HTTP: many goroutines
// (64 per CPU) hold and order through Store.Apply, every log entry fsynced
// by raft-wal. One op is one buyer: a hold and an order, two commands. It
// reports commands/s and the average number of commands per log entry
// (group commit at work), and what the log's appends took: their average
// time (write and fsync) and the share of the run the log spent in them,
// and where an entry's turn goes: cycle-us is the run's time per entry,
// entry-us an entry's time from its proposal to its apply, fsm-us the state
// machine's time applying it and answering its callers (what is left of a
// cycle after the append and the FSM is the hand-offs between them).
// With one entry in flight, an entry's callers wait for its append and then
// for the FSM, so a share near 1 means the disk set the pace (on a machine
// others share, its fsyncs often take milliseconds), a small one that the
// FSM and the hand-offs did: compare runs of the same share.
func BenchmarkApply(b *testing.B) {
	reg := prometheus.NewRegistry()
	st := open(b, b.TempDir(), reg)
	defer st.Close()
	openSale(b, st, int64(b.N)+1)
	before := readCycle(b, reg)
	var next atomic.Int64
	b.ReportAllocs()
	cpu0 := nice.ProcessCPU()
	elapsed := callers(b, func() error {
		_, _, err := buyOne(context.Background(), st, next.Add(1)-1)
		return err
	})
	cpu := nice.ProcessCPU() - cpu0
	b.ReportMetric(float64(2*b.N)/elapsed.Seconds(), "commands/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(2*b.N), "cpu-ns/command")
	before.report(b, reg, elapsed)
}

// callers runs op b.N times in all on 64 goroutines per CPU (128 callers
// here, each with one command in flight), times the run and fails b with
// the first error op returns.
func callers(b *testing.B, op func() error) time.Duration {
	var failed atomic.Pointer[error] // the first; errors of any type
	b.SetParallelism(64)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := op(); err != nil {
				failed.CompareAndSwap(nil, &err)
				return
			}
		}
	})
	elapsed := time.Since(start)
	b.StopTimer()
	if err := failed.Load(); err != nil {
		b.Fatal(*err)
	}
	return elapsed
}

// cycle is what the store's histograms had counted at one moment: log
// entries and their commands, appends, FSM applies and entries' times from
// proposal to apply.
type cycle struct {
	entries, commands, appends, appendSeconds, applied, applySeconds, entrySeconds float64
}

func readCycle(b *testing.B, reg *prometheus.Registry) cycle {
	var c cycle
	c.entries, c.commands = histogram(b, reg, "floodgate_raft_batch_commands")
	c.appends, c.appendSeconds = histogram(b, reg, "floodgate_raft_append_seconds")
	c.applied, c.applySeconds = histogram(b, reg, "floodgate_fsm_apply_seconds")
	_, c.entrySeconds = histogram(b, reg, "floodgate_raft_apply_seconds")
	return c
}

// report reports, for the run of elapsed since c was read, the commands
// per entry and where an entry's turn went (BenchmarkApply).
func (c cycle) report(b *testing.B, reg *prometheus.Registry, elapsed time.Duration) {
	d := readCycle(b, reg)
	if entries := d.entries - c.entries; entries > 0 {
		b.ReportMetric((d.commands-c.commands)/entries, "commands/entry")
		b.ReportMetric(1e6*elapsed.Seconds()/entries, "cycle-us")
		if d.entrySeconds > c.entrySeconds {
			b.ReportMetric(1e6*(d.entrySeconds-c.entrySeconds)/entries, "entry-us")
		}
	}
	if applied := d.applied - c.applied; applied > 0 {
		b.ReportMetric(1e6*(d.applySeconds-c.applySeconds)/applied, "fsm-us")
	}
	if appends := d.appends - c.appends; appends > 0 {
		b.ReportMetric(1e6*(d.appendSeconds-c.appendSeconds)/appends, "append-us")
		b.ReportMetric((d.appendSeconds-c.appendSeconds)/elapsed.Seconds(), "append-share")
	}
}

// TestApplyOnANodeThatDoesNotLeadAnswersEveryCaller sends many commands at
// once to a node that is in no cluster yet: every log entry fails, and each
// caller must still get its answer (unavailable, retry elsewhere), batch
// after batch, without a slot for entries in flight being lost.
func TestApplyOnANodeThatDoesNotLeadAnswersEveryCaller(t *testing.T) {
	st, err := Open(Config{Dir: t.TempDir(), Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	const callers = 300
	errs := make(chan error, callers)
	for round := range 3 {
		var wg sync.WaitGroup
		for i := range callers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := st.Apply(context.Background(), &sale.Command{Kind: sale.KindTick, Now: benchNow + int64(round*callers+i)})
				errs <- err
			}()
		}
		wg.Wait()
		for range callers {
			if err := <-errs; floodgate.ErrorCode(err) != floodgate.EUnavailable || !strings.Contains(err.Error(), "not the leader") {
				t.Fatalf("round %d: apply on a node that does not lead: %v, want unavailable (not the leader)", round, err)
			}
		}
	}
}
