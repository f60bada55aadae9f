package rush

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// BenchConfig describes a measurement of committed reservations
// (BenchOrders) or of memory per waiting visitor (QueueOnly).
type BenchConfig struct {
	Target      string
	AdminToken  string
	Buyers      int // buyers (BenchOrders) or visitors (QueueOnly)
	Concurrency int // requests in flight while measuring
	ServerPid   int // for QueueOnly: the server whose memory is measured
	// Rate > 0 starts that many reservations a second, whether or not the
	// earlier ones are answered (an open loop, up to Concurrency at once):
	// latencies at a given load, rather than at saturation, where they
	// only mirror the throughput.
	Rate float64
}

// BenchOrdersResult is the committed hold+order rate through the HTTP API.
type BenchOrdersResult struct {
	Mode         string  `json:"mode"`
	Buyers       int     `json:"buyers"`
	Concurrency  int     `json:"concurrency"`
	Rate         float64 `json:"rate,omitempty"` // reservations started per second; 0: as fast as answered
	Reservations int64   `json:"reservations"`   // hold+order pairs answered 2xx
	Failed       int64   `json:"failed"`
	Seconds      float64 `json:"seconds"`
	PerSecond    float64 `json:"per_second"`
	HoldP50MS    float64 `json:"hold_p50_ms"`
	HoldP99MS    float64 `json:"hold_p99_ms"`
	OrderP50MS   float64 `json:"order_p50_ms"`
	OrderP99MS   float64 `json:"order_p99_ms"`
	LostOrders   int64   `json:"lost_orders"`
}

type benchBuyer struct {
	addr, ticket, session string
}

// BenchOrders measures how many reservations per second the server commits
// through its public API: each is a hold (POST /holds) followed by an order
// (POST /holds/{id}/order with an Idempotency-Key), both answered only once
// replicated and fsynced. Joining the queue, waiting for admission and
// signing in happen before the clock starts, so the number is comparable to
// a single reservation call of another store.
func BenchOrders(ctx context.Context, bc BenchConfig) (*BenchOrdersResult, error) {
	if bc.Buyers < 1 || bc.Concurrency < 1 || bc.Rate < 0 {
		return nil, fmt.Errorf("--bench-orders needs at least 1 buyer, a concurrency of at least 1 and a rate of at least 0")
	}
	c := newClient(bc.Target, max(bc.Concurrency, 256))
	defer c.close()
	drop, dropPath, err := createBenchDrop(ctx, c, bc.AdminToken, "bench-", map[string]any{
		"name": "Reservation benchmark", "stock": bc.Buyers, "per_customer_limit": 1,
		"hold_seconds": 900, "admit_per_second": max(bc.Buyers, 1000),
	})
	if err != nil {
		return nil, err
	}

	// Untimed: every buyer gets a ticket, a session, and is admitted.
	buyers := make([]benchBuyer, bc.Buyers)
	var prepErr atomic.Value
	// Each measurement is a new crowd: buyers from addresses no earlier
	// run on this server used, so that the join challenge (a source's
	// joins within the last minute) never falls on a run that follows
	// others.
	first := benchAddrBlock(bc.Buyers)
	parallel(bc.Buyers, 256, func(i int) {
		b := &buyers[i]
		b.addr = visitorAddr(first + i)
		if err := prepareBuyer(ctx, c, dropPath, b, i); err != nil {
			prepErr.CompareAndSwap(nil, err)
		}
	})
	if err, _ := prepErr.Load().(error); err != nil {
		return nil, err
	}

	c.stats = [numEndpoints]endpointStats{}
	res := &BenchOrdersResult{Mode: "bench-orders", Buyers: bc.Buyers, Concurrency: bc.Concurrency, Rate: bc.Rate}
	orderIDs := make([]string, bc.Buyers)
	start := time.Now()
	run := parallel
	if bc.Rate > 0 {
		run = func(n, width int, f func(i int)) { paced(ctx, n, width, bc.Rate, f) }
	}
	run(bc.Buyers, bc.Concurrency, func(i int) {
		b := &buyers[i]
		var hold holdJSON
		if !retry(ctx, func() answer {
			return c.do(ctx, call{ep: epHold, method: "POST", path: dropPath + "/holds", body: holdBody, bearer: b.ticket, forward: b.addr})
		}, &hold) || hold.ID == "" {
			atomic.AddInt64(&res.Failed, 1)
			return
		}
		var o orderJSON
		if !retry(ctx, func() answer {
			return c.do(ctx, call{ep: epOrder, method: "POST", path: "/api/v1/holds/" + url.PathEscape(hold.ID) + "/order",
				body: orderBody(b.session), bearer: b.ticket, forward: b.addr, idemKey: "bench-" + drop + "-" + fmt.Sprint(i)})
		}, &o) || o.ID == "" {
			atomic.AddInt64(&res.Failed, 1)
			return
		}
		orderIDs[i] = o.ID
		atomic.AddInt64(&res.Reservations, 1)
	})
	elapsed := time.Since(start)
	res.Seconds = elapsed.Seconds()
	res.PerSecond = float64(res.Reservations) / res.Seconds
	res.HoldP50MS, res.HoldP99MS = c.stats[epHold].hist.quantile(0.5), c.stats[epHold].hist.quantile(0.99)
	res.OrderP50MS, res.OrderP99MS = c.stats[epOrder].hist.quantile(0.5), c.stats[epOrder].hist.quantile(0.99)

	orders, err := listOrders(ctx, c, dropPath, bc.AdminToken, orderIDs)
	if err != nil {
		return nil, fmt.Errorf("read the benchmark's orders: %w", err)
	}
	list := struct{ Orders []orderJSON }{orders}
	listed := make(map[string]bool, len(list.Orders))
	for _, o := range list.Orders {
		listed[o.ID] = true
	}
	for _, id := range orderIDs {
		if id != "" && !listed[id] {
			res.LostOrders++
		}
	}
	return res, nil
}

// benchAddrBlock picks, at random, the first of n consecutive visitor
// addresses (visitorAddr) for one measurement.
func benchAddrBlock(n int) int {
	const addrs = 1<<17 - 2 + 1<<22 - 2 // visitorAddr's two ranges
	return rand.N(max(1, addrs/max(n, 1))) * n
}

func prepareBuyer(ctx context.Context, c *client, dropPath string, b *benchBuyer, i int) error {
	var st queueStatus
	if !retry(ctx, func() answer {
		return c.do(ctx, call{ep: epJoin, method: "POST", path: dropPath + "/queue", forward: b.addr})
	}, &st) || st.Ticket == "" {
		return fmt.Errorf("buyer %d could not join the benchmark queue", i)
	}
	b.ticket = st.Ticket
	var s struct {
		Session string `json:"session"`
	}
	if !retry(ctx, func() answer {
		return c.do(ctx, call{ep: epSession, method: "POST", path: "/api/v1/session", body: sessionBody(fmt.Sprintf("bench-%d@rush.floodgate.test", i)), forward: b.addr})
	}, &s) || s.Session == "" {
		return fmt.Errorf("buyer %d could not sign in (is the server running with --dev?)", i)
	}
	b.session = s.Session
	for deadline := time.Now().Add(2 * time.Minute); st.State != "admitted"; {
		if final(st.State) || time.Now().After(deadline) {
			return fmt.Errorf("buyer %d was not admitted (queue state %q)", i, st.State)
		}
		pause := min(max(time.Duration(st.EtaSeconds*float64(time.Second)/2), 100*time.Millisecond), 2*time.Second)
		if !sleepCtx(ctx, pause) {
			return ctx.Err()
		}
		if !retry(ctx, func() answer {
			return c.do(ctx, call{ep: epStatus, method: "GET", path: dropPath + "/queue", bearer: b.ticket, forward: b.addr})
		}, &st) {
			return fmt.Errorf("buyer %d could not read its queue status", i)
		}
	}
	return nil
}

// retry sends a request until it gets a 2xx (decoded into out) or an
// answer a client cannot retry; it honors Retry-After.
func retry(ctx context.Context, send func() answer, out any) bool {
	for i := 0; i < 50; i++ {
		a := send()
		if a.status >= 200 && a.status < 300 {
			if st, ok := out.(*queueStatus); ok && a.body == nil {
				*st = a.queue // read by send already
				return a.queueErr == nil
			}
			return json.Unmarshal(a.body, out) == nil
		}
		if !a.retryable() || !sleepCtx(ctx, retryPause(&a)) {
			return false
		}
	}
	return false
}

// parallel runs f(0..n-1) on at most width goroutines.
func parallel(n, width int, f func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(width, n) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				f(i)
			}
		})
	}
	wg.Wait()
}

// paced starts f(0..n-1) at rate calls a second, each on its own
// goroutine, at most width at once: a call waits for a free slot only when
// width are still unanswered.
func paced(ctx context.Context, n, width int, rate float64, f func(i int)) {
	slots := make(chan struct{}, width)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range n {
		if !sleepCtx(ctx, time.Until(start.Add(time.Duration(float64(i)/rate*float64(time.Second))))) {
			break
		}
		slots <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-slots; wg.Done() }()
			f(i)
		}()
	}
	wg.Wait()
}

// QueueOnlyResult is the server's memory with many visitors waiting.
type QueueOnlyResult struct {
	Mode            string  `json:"mode"`
	Visitors        int     `json:"visitors"`
	Joined          int64   `json:"joined"`
	Seconds         float64 `json:"seconds"`
	JoinsPerSecond  float64 `json:"joins_per_second"`
	RSSBeforeMB     float64 `json:"rss_before_mb"`
	RSSAfterMB      float64 `json:"rss_after_mb"`
	PeakRSSMB       float64 `json:"peak_rss_mb"`
	BytesPerVisitor float64 `json:"bytes_per_visitor"` // (after - before) / joined: an upper bound
	// The same after a warm-up of the first 2% of the visitors (at least
	// 1,000): what each further waiting visitor costs, without what the
	// node spends once whatever the crowd (the signing pool and its
	// thread, the per-address limiter's table as its pages are first
	// touched, the heap the collector lets grow, connection buffers).
	WarmupVisitors          int64   `json:"warmup_visitors"`
	RSSWarmMB               float64 `json:"rss_warm_mb"`
	MarginalBytesPerVisitor float64 `json:"marginal_bytes_per_visitor"`
}

// QueueOnly has Buyers visitors join one drop that admits nobody yet, and
// measures the server's resident memory before, halfway and after. Tickets
// are self-contained, so the server should keep close to nothing per
// visitor; the difference also holds garbage the runtime has not returned,
// so it is an upper bound. The difference after a warm-up leaves out what
// the node spends once, whatever the crowd.
func QueueOnly(ctx context.Context, bc BenchConfig) (*QueueOnlyResult, error) {
	if bc.ServerPid == 0 {
		return nil, fmt.Errorf("measuring memory needs the server on this machine: use --demo, or give --server-pid")
	}
	c := newClient(bc.Target, max(bc.Concurrency, 1))
	defer c.close()
	_, dropPath, err := createBenchDrop(ctx, c, bc.AdminToken, "queue-", map[string]any{
		"name": "Memory per waiting visitor", "stock": 3000, "per_customer_limit": 1,
		"starts_at": time.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339), "admit_per_second": 1,
	})
	if err != nil {
		return nil, err
	}
	before, ok := readProcStats(bc.ServerPid)
	if !ok {
		return nil, fmt.Errorf("cannot read /proc/%d: is the server running on this machine?", bc.ServerPid)
	}
	res := &QueueOnlyResult{Mode: "queue-only", Visitors: bc.Buyers, RSSBeforeMB: mb(before.rss)}
	start := time.Now()
	warm := int64(max(bc.Buyers/50, min(1000, bc.Buyers/2)))
	var warmJoined atomic.Int64
	var warmRSS int64
	parallel(bc.Buyers, max(bc.Concurrency, 1), func(i int) {
		var st queueStatus
		if retry(ctx, func() answer {
			return c.do(ctx, call{ep: epJoin, method: "POST", path: dropPath + "/queue", forward: visitorAddr(i)})
		}, &st) && st.Ticket != "" {
			if atomic.AddInt64(&res.Joined, 1) == warm {
				// One visitor reads it; the joins in flight meanwhile
				// are counted on the side they land.
				if mid, ok := readProcStats(bc.ServerPid); ok {
					warmRSS = mid.rss
					warmJoined.Store(atomic.LoadInt64(&res.Joined))
				}
			}
		}
	})
	res.Seconds = time.Since(start).Seconds()
	res.JoinsPerSecond = float64(res.Joined) / res.Seconds
	after, _ := readProcStats(bc.ServerPid)
	res.RSSAfterMB, res.PeakRSSMB = mb(after.rss), mb(after.peakRSS)
	if res.Joined > 0 {
		res.BytesPerVisitor = float64(after.rss-before.rss) / float64(res.Joined)
	}
	if n := res.Joined - warmJoined.Load(); warmRSS > 0 && n > 0 {
		res.WarmupVisitors = warmJoined.Load()
		res.RSSWarmMB = mb(warmRSS)
		res.MarginalBytesPerVisitor = float64(after.rss-warmRSS) / float64(n)
	}
	return res, nil
}

// createBenchDrop creates a drop of its own for one measurement, with a
// fresh id that starts with prefix and the given fields, and returns the id
// and its API path.
func createBenchDrop(ctx context.Context, c *client, adminToken, prefix string, fields map[string]any) (drop, dropPath string, err error) {
	drop = prefix + randomToken()[:10]
	fields["id"] = drop
	a := c.do(ctx, call{ep: epAdmin, method: "POST", path: "/api/v1/drops", bearer: adminToken, body: fields})
	if a.status != http.StatusCreated && a.status != http.StatusOK {
		return "", "", fmt.Errorf("create the drop %q for the measurement: %s", fields["name"], describe(a))
	}
	return drop, "/api/v1/drops/" + url.PathEscape(drop), nil
}

func mb(b int64) float64 { return float64(b) / (1 << 20) }
