package http

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/floodgate/floodgate"
)

// testGates keeps the registry of each gate a test made.
var testGates sync.Map // *joinGate -> *prometheus.Registry

func testGate(t *testing.T, busyAt int, maxWait time.Duration, share, maxWaiting int) *joinGate {
	t.Helper()
	reg := prometheus.NewRegistry()
	g := newJoinGate(busyAt, maxWait, share, maxWaiting, reg)
	if g == nil {
		t.Fatal("no gate")
	}
	testGates.Store(g, reg)
	return g
}

// outcomes reads floodgate_join_gate_joins_total{outcome=o}.
func (g *joinGate) outcomes(o string) int {
	reg, _ := testGates.Load(g)
	mfs, err := reg.(*prometheus.Registry).Gather()
	if err != nil {
		panic(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "floodgate_join_gate_joins_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "outcome" && l.GetValue() == o {
					return int(m.GetCounter().GetValue())
				}
			}
		}
	}
	return -1
}

// queueJoin starts a join that waits at the gate and returns once it is in
// the line; its result comes on the channel.
func queueJoin(t *testing.T, g *joinGate, ctx context.Context) <-chan error {
	t.Helper()
	before := g.waiting.Load()
	done := make(chan error, 1)
	go func() { done <- g.wait(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for g.waiting.Load() == before {
		if time.Now().After(deadline) {
			t.Fatal("the join did not queue")
		}
		time.Sleep(100 * time.Microsecond)
	}
	return done
}

// answered is one request in line answered while the node stays busy.
func (g *joinGate) answered() {
	g.enter()
	g.leave()
}

func mustReturn(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("a join is still waiting")
		return nil
	}
}

func stillWaiting(t *testing.T, done <-chan error) {
	t.Helper()
	select {
	case err := <-done:
		t.Fatalf("a join went in before its turn (err %v)", err)
	case <-time.After(20 * time.Millisecond):
	}
}

// A negative bound turns the gate off.
func TestJoinGateOff(t *testing.T) {
	if g := newJoinGate(0, -1, 0, 0, prometheus.NewRegistry()); g != nil {
		t.Fatal("a negative bound gives a gate")
	}
	g := testGate(t, 0, 0, 0, 0)
	if g.busyAt != DefaultJoinGateBusy || g.maxWait != DefaultJoinGateMaxWait || g.share != DefaultJoinGateShare || g.maxWaiting != DefaultJoinGateMaxWaiting {
		t.Fatalf("defaults: %+v", g)
	}
}

// Below the busy mark a join goes in at once, and nothing waits.
func TestJoinGateIdle(t *testing.T) {
	g := testGate(t, 4, time.Hour, 1, 10)
	for range 3 {
		g.enter()
	}
	for range 100 {
		if err := g.wait(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if g.waiting.Load() != 0 || len(g.line) != 0 || g.outcomes(gateTurn)+g.outcomes(gateOverdue) != 0 {
		t.Fatalf("an idle node made joins wait: %d waiting", g.waiting.Load())
	}
}

// While the node is busy, joins go in one per share of requests in line
// answered, in the order they came.
func TestJoinGateOrderAndShare(t *testing.T) {
	const share, n = 3, 12
	g := testGate(t, 2, time.Hour, share, 100)
	g.enter()
	g.enter() // busy
	var joins []<-chan error
	for range n {
		joins = append(joins, queueJoin(t, g, context.Background()))
	}
	for i := range n {
		for range share - 1 {
			g.answered()
		}
		stillWaiting(t, joins[i])
		g.answered()
		if err := mustReturn(t, joins[i]); err != nil {
			t.Fatalf("join %d: %v", i, err)
		}
		for _, later := range joins[i+1 : min(i+3, n)] {
			stillWaiting(t, later)
		}
		if w := g.waiting.Load(); w != int64(n-i-1) {
			t.Fatalf("after join %d: %d waiting, want %d", i, w, n-i-1)
		}
	}
	if g.outcomes(gateTurn) != n {
		t.Fatalf("%d joins went in on their turn, want %d", g.outcomes(gateTurn), n)
	}
}

// When the node stops being busy, every waiting join goes in.
func TestJoinGateCaughtUp(t *testing.T) {
	g := testGate(t, 2, time.Hour, 100, 100)
	g.enter()
	g.enter()
	a, b := queueJoin(t, g, context.Background()), queueJoin(t, g, context.Background())
	g.leave() // one in line in flight: not busy
	for _, j := range []<-chan error{a, b} {
		if err := mustReturn(t, j); err != nil {
			t.Fatal(err)
		}
	}
	// The line is empty and the node is not busy: the fast path again.
	if err := g.wait(context.Background()); err != nil || g.waiting.Load() != 0 {
		t.Fatalf("after catching up: %v, %d waiting", err, g.waiting.Load())
	}
}

// A join never waits much longer than the bound, however busy the node
// stays, and the joins ahead of it go in with it.
func TestJoinGateBound(t *testing.T) {
	const bound = 50 * time.Millisecond
	g := testGate(t, 1, bound, 1000, 100)
	g.enter()
	start := time.Now()
	var joins []<-chan error
	for range 3 {
		joins = append(joins, queueJoin(t, g, context.Background()))
	}
	for _, j := range joins {
		if err := mustReturn(t, j); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(start); d < bound {
		t.Fatalf("joins went in after %v, before the bound %v, with the node busy", d, bound)
	}
	if g.outcomes(gateOverdue) < 1 || g.outcomes(gateOverdue)+g.outcomes(gateTurn) != 3 || g.waiting.Load() != 0 || len(g.line) != 0 {
		t.Fatalf("overdue %d, turn %d, waiting %d", g.outcomes(gateOverdue), g.outcomes(gateTurn), g.waiting.Load())
	}

	// The bound of the last lets the earlier ones in with it: the line
	// leaves first come first served.
	g2 := testGate(t, 1, time.Hour, 1000, 100)
	g2.enter()
	first, second := queueJoin(t, g2, context.Background()), queueJoin(t, g2, context.Background())
	g2.mu.Lock()
	g2.letInLocked(g2.indexLocked(g2.line[1]) + 1) // what the second's timer does
	g2.mu.Unlock()
	for _, j := range []<-chan error{first, second} {
		if err := mustReturn(t, j); err != nil {
			t.Fatal(err)
		}
	}
}

// A client that goes away leaves the line; the joins behind it keep
// their order and nothing stays counted.
func TestJoinGateClientGone(t *testing.T) {
	g := testGate(t, 1, time.Hour, 1, 100)
	g.enter()
	ctx, cancel := context.WithCancel(context.Background())
	a := queueJoin(t, g, context.Background())
	gone := queueJoin(t, g, ctx)
	c := queueJoin(t, g, context.Background())
	cancel()
	if err := mustReturn(t, gone); floodgate.ErrorCode(err) != floodgate.ERateLimited {
		t.Fatalf("a canceled join: %v", err)
	}
	if g.waiting.Load() != 2 || len(g.line) != 2 || g.outcomes(gateGone) != 1 {
		t.Fatalf("after the cancel: %d waiting, line %d", g.waiting.Load(), len(g.line))
	}
	g.answered()
	if err := mustReturn(t, a); err != nil {
		t.Fatal(err)
	}
	stillWaiting(t, c)
	g.answered()
	if err := mustReturn(t, c); err != nil {
		t.Fatal(err)
	}
	if g.waiting.Load() != 0 || len(g.line) != 0 {
		t.Fatalf("%d still counted as waiting", g.waiting.Load())
	}
}

// Beyond the cap a join is turned away with rate_limited (a 429 with
// Retry-After), never left to pile up.
func TestJoinGateCap(t *testing.T) {
	g := testGate(t, 1, time.Hour, 1, 2)
	g.enter()
	a, b := queueJoin(t, g, context.Background()), queueJoin(t, g, context.Background())
	err := g.wait(context.Background())
	if floodgate.ErrorCode(err) != floodgate.ERateLimited || g.outcomes(gateRefused) != 1 {
		t.Fatalf("a join over the cap: %v", err)
	}
	g.leave() // idle again
	for _, j := range []<-chan error{a, b} {
		if err := mustReturn(t, j); err != nil {
			t.Fatal(err)
		}
	}
}

// Under -race: requests in line and joins from many goroutines, some
// canceled; at the end nothing waits or stays counted.
func TestJoinGateConcurrent(t *testing.T) {
	g := testGate(t, 4, 20*time.Millisecond, 2, 50)
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			for range 500 {
				g.enter()
				if i%3 == 0 {
					time.Sleep(10 * time.Microsecond)
				}
				g.leave()
			}
		})
	}
	var in, refused, gone sync.Map
	for i := range 16 {
		wg.Go(func() {
			for k := range 100 {
				ctx, cancel := context.WithCancel(context.Background())
				if k%7 == 0 {
					go cancel()
				}
				err := g.wait(ctx)
				cancel()
				switch {
				case err == nil:
					in.Store([2]int{i, k}, true)
				case k%7 == 0:
					gone.Store([2]int{i, k}, true)
				default:
					refused.Store([2]int{i, k}, err)
				}
			}
		})
	}
	wg.Wait()
	if g.waiting.Load() != 0 || len(g.line) != 0 || g.inLine.Load() != 0 {
		t.Fatalf("left counted: %d waiting, line %d, %d in line", g.waiting.Load(), len(g.line), g.inLine.Load())
	}
	n := 0
	in.Range(func(any, any) bool { n++; return true })
	if n == 0 {
		t.Fatal("no join went in")
	}
}
