package systemtest

import (
	"context"
	"fmt"
	"math"
	"math/bits"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/floodgate/floodgate"
	"github.com/floodgate/floodgate/internal/testkit"
)

func soak() bool { return os.Getenv("FLOODGATE_SOAK") == "1" }

// debug is set by FLOODGATE_TEST_DEBUG: a rush then writes every retry and
// every buyer's end to stderr as they happen.
var debug = os.Getenv("FLOODGATE_TEST_DEBUG") != ""

// opKind is what a buyer asked for in the history.
type opKind int

const (
	opHold opKind = iota
	opOrder
	opReadSold
)

type opInput struct {
	Kind  opKind
	Buyer int
}

// opOutput is the answer: OK (2xx), Code (a refusal), or Unknown (no
// definite answer before the buyer gave up; it may or may not have
// happened). For opReadSold, Sold is the count read at the end.
type opOutput struct {
	OK      bool
	Code    string
	Unknown bool
	Sold    int
}

// saleState is the model: units still available, and which buyers hold or
// have ordered (a bit per buyer, up to 256).
type saleState struct {
	avail   int
	held    [4]uint64
	ordered [4]uint64
}

func has(b [4]uint64, i int) bool { return b[i/64]&(1<<(i%64)) != 0 }
func set(b [4]uint64, i int) [4]uint64 {
	b[i/64] |= 1 << (i % 64)
	return b
}
func count(b [4]uint64) int {
	n := 0
	for _, w := range b {
		n += bits.OnesCount64(w)
	}
	return n
}

// saleModel is the sequential specification of holds and orders on one
// drop with one unit per buyer: a hold takes a unit while any is left (and
// asking again gives the same hold); an order needs the buyer's hold and
// happens once.
func saleModel(stock int) porcupine.Model {
	return (&porcupine.NondeterministicModel{
		Init: func() []any { return []any{saleState{avail: stock}} },
		Step: func(st, in, out any) []any {
			s, i, o := st.(saleState), in.(opInput), out.(opOutput)
			var done []any // the states if the op took effect
			switch i.Kind {
			case opHold:
				switch {
				case has(s.held, i.Buyer):
					done = []any{s}
				case s.avail > 0:
					n := s
					n.avail--
					n.held = set(n.held, i.Buyer)
					done = []any{n}
				}
			case opOrder:
				switch {
				case has(s.ordered, i.Buyer):
					done = []any{s}
				case has(s.held, i.Buyer):
					n := s
					n.ordered = set(n.ordered, i.Buyer)
					done = []any{n}
				}
			case opReadSold:
				if count(s.ordered) == o.Sold {
					return []any{s}
				}
				return nil
			}
			switch {
			case o.Unknown:
				return append(done, s)
			case o.OK:
				return done
			case o.Code == floodgate.ESoldOut:
				if i.Kind == opHold && s.avail == 0 && !has(s.held, i.Buyer) {
					return []any{s}
				}
				return nil
			default: // any other refusal changes nothing
				return []any{s}
			}
		},
		DescribeOperation: func(in, out any) string {
			i, o := in.(opInput), out.(opOutput)
			return fmt.Sprintf("%v(%d) -> %+v", []string{"hold", "order", "read"}[i.Kind], i.Buyer, o)
		},
	}).ToModel()
}

// rush drives buyers against a set of nodes (or edges): each buyer joins
// the queue, waits to be admitted, holds one unit and orders it, retrying
// on 503s and dead nodes with the same ticket and Idempotency-Key, moving
// to the next address each time.
type rush struct {
	drop    string
	clients []*testkit.Client
	start   time.Time

	mu     sync.Mutex
	ops    []porcupine.Operation
	orders map[string]floodgate.Order // acknowledged, by id
	// tickets[i] is buyer i's ticket, taken before the rush starts.
	tickets []testkit.Ticket
	acked   atomic.Int64
	// kill is when the leader was killed (zero before); firstAfterKill is
	// the first order acknowledged whose last attempt was sent after it.
	kill           time.Time
	firstAfterKill time.Time
	// trail[i] is where buyer i got to, for the account of a rush that
	// did not finish (explain).
	trail []buyerTrail
}

// buyerTrail is where one buyer got to: its last step, the node and error
// of its last failed call, and its hold.
type buyerTrail struct {
	step    string // "", waiting, session, hold, order, ordered, "done: <queue state>" or "gave up …"
	polls   int
	status  testkit.QueueStatus // the last answer to a poll
	node    string
	err     error
	errs    int
	hold    string
	updated time.Duration
}

func newRush(drop string, urls []string) *rush {
	r := &rush{drop: drop, start: time.Now(), orders: map[string]floodgate.Order{}}
	for _, u := range urls {
		r.clients = append(r.clients, testkit.NewClient(u, testkit.DefaultAdminToken))
	}
	return r
}

func (r *rush) now() int64 { return int64(time.Since(r.start)) }

// note writes an event of the test to stderr when debug is set.
func (r *rush) note(format string, args ...any) {
	if debug {
		fmt.Fprintf(os.Stderr, "%8.3fs %s\n", time.Since(r.start).Seconds(), fmt.Sprintf(format, args...))
	}
}

// step records buyer's progress.
func (r *rush) step(buyer int, step string) {
	r.mu.Lock()
	b := &r.trail[buyer]
	if b.step == step {
		r.mu.Unlock()
		return
	}
	b.step, b.updated = step, time.Since(r.start)
	if debug {
		fmt.Fprintf(os.Stderr, "%8.3fs buyer %d (joined at %d, status %+v): %s (hold %q; last error %s: %v)\n",
			b.updated.Seconds(), buyer, r.tickets[buyer].Position, b.status, step, b.hold, b.node, b.err)
	}
	r.mu.Unlock()
}

// failed records a failed call of buyer to node.
func (r *rush) failed(buyer int, node string, err error) {
	r.mu.Lock()
	if buyer >= 0 && buyer < len(r.trail) {
		r.trail[buyer].node, r.trail[buyer].err = node, err
		r.trail[buyer].errs++
	}
	r.mu.Unlock()
}

func (r *rush) record(client int, in opInput, call int64, out opOutput) {
	ret := r.now()
	if out.Unknown {
		ret = math.MaxInt64
	}
	r.mu.Lock()
	r.ops = append(r.ops, porcupine.Operation{ClientId: client, Input: in, Call: call, Output: out, Return: ret})
	r.mu.Unlock()
}

func (r *rush) markKill() {
	r.mu.Lock()
	r.kill = time.Now()
	r.mu.Unlock()
}

// failover returns the time from the kill to the first order committed
// after it (0 if none was).
func (r *rush) failover() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.kill.IsZero() || r.firstAfterKill.IsZero() {
		return 0
	}
	return r.firstAfterKill.Sub(r.kill)
}

// try calls fn on node after node until it succeeds, is refused for good,
// or ctx ends. It returns when the last attempt started and its error.
// Failures are recorded in buyer's trail (-1: none).
func (r *rush) try(ctx context.Context, buyer, first int, fn func(c *testkit.Client) error) (time.Time, error) {
	wait := 20 * time.Millisecond
	for attempt := 0; ; attempt++ {
		sent := time.Now()
		c := r.clients[(first+attempt)%len(r.clients)]
		err := fn(c)
		if err != nil {
			r.failed(buyer, c.BaseURL, err)
		}
		if !testkit.Retryable(err) {
			return sent, err
		}
		if debug {
			fmt.Fprintf(os.Stderr, "%8.3fs retry buyer %d %s: %v\n", time.Since(r.start).Seconds(), buyer, c.BaseURL, err)
		}
		select {
		case <-ctx.Done():
			return sent, err
		case <-time.After(wait):
		}
		wait = min(2*wait, 300*time.Millisecond)
	}
}

// buy takes one turn of a buyer: it asks for the buyer's place in the
// queue and, once admitted, signs in, holds one unit and orders it. It
// reports whether the buyer is still waiting, to be asked again on its next
// turn. worker is the porcupine client id: a worker's operations never
// overlap.
func (r *rush) buy(ctx context.Context, worker, buyer int) (waiting bool) {
	home := buyer % len(r.clients)
	tk := r.tickets[buyer]
	if tk.Ticket == "" {
		return false
	}
	r.step(buyer, "waiting")
	var st testkit.QueueStatus
	_, err := r.try(ctx, buyer, home, func(c *testkit.Client) (err error) { st, err = c.QueueStatus(ctx, r.drop, tk.Ticket); return err })
	r.mu.Lock()
	r.trail[buyer].polls++
	if err == nil {
		r.trail[buyer].status = st
	}
	r.mu.Unlock()
	switch {
	case err != nil:
		r.step(buyer, "gave up waiting")
		return false
	case st.State == floodgate.QueueWaiting:
		return ctx.Err() == nil
	case st.State != floodgate.QueueAdmitted:
		r.step(buyer, "done: "+st.State)
		return false // sold out or closed: nothing to buy
	}
	r.step(buyer, "session")
	var session string
	if _, err := r.try(ctx, buyer, home, func(c *testkit.Client) (err error) {
		session, err = c.Session(ctx, fmt.Sprintf("buyer%d@example.com", buyer))
		return err
	}); err != nil {
		r.step(buyer, "gave up at the session")
		return false
	}
	r.step(buyer, "hold")
	var hold floodgate.Hold
	call := r.now()
	_, err = r.try(ctx, buyer, home, func(c *testkit.Client) (err error) { hold, _, err = c.Hold(ctx, r.drop, tk.Ticket, 1); return err })
	r.record(worker, opInput{Kind: opHold, Buyer: buyer}, call, outcome(err))
	if err != nil {
		r.step(buyer, "gave up at the hold")
		return false
	}
	r.mu.Lock()
	r.trail[buyer].hold = hold.ID
	r.mu.Unlock()
	r.step(buyer, "order")
	var order floodgate.Order
	call = r.now()
	key := fmt.Sprintf("order-%d", buyer)
	sent, err := r.try(ctx, buyer, home, func(c *testkit.Client) (err error) {
		order, _, err = c.Order(ctx, hold.ID, tk.Ticket, session, key)
		return err
	})
	r.record(worker, opInput{Kind: opOrder, Buyer: buyer}, call, outcome(err))
	if err != nil {
		r.step(buyer, "gave up at the order")
		return false
	}
	r.step(buyer, "ordered")
	now := time.Now()
	r.mu.Lock()
	r.orders[order.ID] = order
	if !r.kill.IsZero() && sent.After(r.kill) && (r.firstAfterKill.IsZero() || now.Before(r.firstAfterKill)) {
		r.firstAfterKill = now
	}
	r.mu.Unlock()
	r.acked.Add(1)
	return false
}

// watch writes, when debug is set, each node's view of the drop and of the
// leader to stderr every half second until ctx ends.
func (r *rush) watch(ctx context.Context, nodes []*testkit.Node) {
	if !debug {
		return
	}
	go func() {
		for n := 0; ctx.Err() == nil; {
			line := ""
			for _, n := range nodes {
				cctx, cancel := context.WithTimeout(ctx, time.Second)
				d, err := n.Drop(cctx, r.drop)
				info, _ := n.ClusterInfo(cctx)
				cancel()
				if err != nil {
					line += fmt.Sprintf(" | %s: %v", n.HTTPAddr, err)
					continue
				}
				line += fmt.Sprintf(" | %s leader %q: a%d h%d s%d up_to %d", n.HTTPAddr, info.Leader, d.Available, d.Held, d.Sold, d.AdmittedUpTo)
			}
			r.note("views%s", line)
			if n++; n%10 == 0 {
				r.buyers(r.note)
			}
			select {
			case <-ctx.Done():
			case <-time.After(500 * time.Millisecond):
			}
		}
	}()
}

// afterAcked runs fault in its own goroutine once n orders are acknowledged
// (or ctx ends), so that a fault strikes a rush in full swing; the channel
// closes when fault has returned.
func (r *rush) afterAcked(ctx context.Context, n int64, fault func()) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		for r.acked.Load() < n && ctx.Err() == nil {
			time.Sleep(5 * time.Millisecond)
		}
		fault()
	}()
	return done
}

// mustFinish fails t when the rush ran out of time (ctx ended), after
// explaining why; with FLOODGATE_TEST_DEBUG=1 it explains every rush.
func (r *rush) mustFinish(ctx context.Context, t *testing.T, nodes []*testkit.Node) {
	t.Helper()
	if debug || ctx.Err() != nil {
		r.explain(t, nodes)
	}
	if ctx.Err() != nil {
		t.Fatalf("the rush did not finish in time: %d orders acknowledged", r.acked.Load())
	}
}

// explain logs why a rush did not finish: each node's view of the drop and
// of the cluster, and every buyer that did not end with an order or a
// final queue state, with its last step and last error.
func (r *rush) explain(t *testing.T, nodes []*testkit.Node) {
	t.Helper()
	for _, n := range nodes {
		if !n.Running() {
			t.Logf("explain: %s: not running", n.URL)
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		d, err := n.Drop(ctx, r.drop)
		info, ierr := n.ClusterInfo(ctx)
		cancel()
		if err != nil {
			t.Logf("explain: %s: drop: %v", n.URL, err)
			continue
		}
		t.Logf("explain: %s (leader %q, %v): available %d held %d sold %d of %d; queued %d admitted_up_to %d",
			n.URL, info.Leader, ierr, d.Available, d.Held, d.Sold, d.Stock, d.Queued, d.AdmittedUpTo)
	}
	r.buyers(t.Logf)
}

// buyers writes with logf every buyer that did not end with an order or a
// final queue state, with its last step, poll and error.
func (r *rush) buyers(logf func(format string, args ...any)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	steps := map[string]int{}
	for i, b := range r.trail {
		steps[b.step]++
		if b.step == "ordered" || strings.HasPrefix(b.step, "done") {
			continue
		}
		logf("explain: buyer %d (joined at position %d): %q at %v after %d polls (last %+v), hold %q, %d failed calls, last %s: %v",
			i, r.tickets[i].Position, b.step, b.updated.Round(time.Millisecond), b.polls, b.status, b.hold, b.errs, b.node, b.err)
	}
	logf("explain: buyers by last step: %v", steps)
}

func outcome(err error) opOutput {
	switch {
	case err == nil:
		return opOutput{OK: true}
	case testkit.Retryable(err):
		return opOutput{Unknown: true}
	default:
		return opOutput{Code: testkit.Code(err)}
	}
}

// joinAll puts n buyers in the queue before the rush starts.
//
// Buyers join before any fault on purpose: a new leader hands out positions
// from a fresh block, and the admission counter does not yet skip the
// unissued rest of the old leader's block, so visitors who join right after
// a failover wait behind that gap. The faults here hit holds and orders,
// the writes that decide stock.
func (r *rush) joinAll(ctx context.Context, t *testing.T, n int) {
	t.Helper()
	r.tickets = make([]testkit.Ticket, n)
	r.trail = make([]buyerTrail, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for b := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			_, err := r.try(ctx, -1, b%len(r.clients), func(c *testkit.Client) (err error) { r.tickets[b], err = c.Join(ctx, r.drop); return err })
			if err != nil {
				t.Errorf("buyer %d could not join the queue: %v", b, err)
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	time.Sleep(300 * time.Millisecond) // a few ticks report the positions handed out
}

// pollEvery is how often a waiting buyer asks for its place.
const pollEvery = 100 * time.Millisecond

// run runs buyers 0..n-1 on workers goroutines until all are done or ctx
// ends. The buyers take turns, as a crowd of pages polling at once would:
// a buyer still waiting goes to the back of the line and its worker takes
// the next one, so that every buyer asks for its place every pollEvery
// however few the workers are. (Workers that stayed each with one waiting
// buyer would leave an admitted buyer behind them unasked; the drop rightly
// takes that buyer for gone, and the line moves on only when its admission
// lapses, admit_window_seconds later.)
func (r *rush) run(ctx context.Context, n, workers int) {
	if n == 0 {
		return
	}
	line := make(chan int, n) // room for every buyer: a turn never blocks
	due := make([]time.Time, n)
	for b := range n {
		line <- b
	}
	var left atomic.Int64
	left.Store(int64(n))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for b := range line {
				if d := time.Until(due[b]); d > 0 {
					select {
					case <-ctx.Done():
					case <-time.After(d):
					}
				}
				if r.buy(ctx, w, b) {
					due[b] = time.Now().Add(pollEvery)
					line <- b
					continue
				}
				if left.Add(-1) == 0 {
					close(line)
				}
			}
		})
	}
	wg.Wait()
}

// check runs the porcupine check on the history plus a final read of the
// sold count, made when every operation had returned.
func (r *rush) check(t *testing.T, stock, sold int) {
	t.Helper()
	r.mu.Lock()
	ops := append([]porcupine.Operation(nil), r.ops...)
	r.mu.Unlock()
	at := r.now()
	ops = append(ops, porcupine.Operation{ClientId: 1 << 20, Input: opInput{Kind: opReadSold}, Call: at, Output: opOutput{Sold: sold}, Return: at + 1})
	res := porcupine.CheckOperationsTimeout(saleModel(stock), ops, time.Minute)
	switch res {
	case porcupine.Ok:
		t.Logf("porcupine: %d operations are linearizable", len(ops))
	case porcupine.Unknown:
		t.Logf("porcupine: the check of %d operations timed out without finding a violation", len(ops))
	default:
		t.Fatalf("porcupine: the history of %d holds and orders is not linearizable", len(ops))
	}
}

// waitConverged waits until every node in nodes lists every acknowledged
// order and they all agree on the counters, then returns the sold count.
func (r *rush) waitConverged(t *testing.T, nodes []*testkit.Node, stock int64) int {
	t.Helper()
	r.mu.Lock()
	acked := make(map[string]floodgate.Order, len(r.orders))
	for k, v := range r.orders {
		acked[k] = v
	}
	r.mu.Unlock()
	deadline := time.Now().Add(30 * time.Second)
	for {
		problem := ""
		var sold int64 = -1
		for _, n := range nodes {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			orders, err := n.Orders(ctx, r.drop)
			d, derr := n.Drop(ctx, r.drop)
			cancel()
			if err != nil || derr != nil {
				problem = fmt.Sprintf("%s: %v %v", n.URL, err, derr)
				break
			}
			have := map[string]floodgate.Order{}
			for _, o := range orders {
				have[o.ID] = o
			}
			for id, o := range acked {
				if h, ok := have[id]; !ok || h.HoldID != o.HoldID || h.Customer != o.Customer {
					problem = fmt.Sprintf("%s lacks acknowledged order %s (%+v)", n.URL, id, o)
					break
				}
			}
			if problem != "" {
				break
			}
			if d.Available+d.Held+d.Sold != d.Stock || d.Stock != stock || d.Sold != int64(len(orders)) {
				t.Fatalf("%s: counters do not add up: %+v with %d orders", n.URL, d, len(orders))
			}
			if d.Sold > stock {
				t.Fatalf("%s: oversold: %d of %d", n.URL, d.Sold, stock)
			}
			if sold >= 0 && d.Sold != sold {
				problem = fmt.Sprintf("nodes disagree on sold: %d and %d", sold, d.Sold)
				break
			}
			sold = d.Sold
		}
		if problem == "" {
			return int(sold)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the nodes did not converge: %s", problem)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
