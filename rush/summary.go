package rush

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"runtime"
	"slices"
	"strconv"
	"time"

	"github.com/floodgate/floodgate/internal/kendall"
	"github.com/floodgate/floodgate/internal/sockstat"
	"github.com/floodgate/floodgate/internal/ticker"
)

// Summary is the outcome of a rush. The first twelve fields are the
// contract of `floodgate rush --json`; the others add detail.
type Summary struct {
	Visitors        int     `json:"visitors"`
	Stock           int64   `json:"stock"`
	Sold            int64   `json:"sold"`
	Oversold        int64   `json:"oversold"`
	LostOrders      int64   `json:"lost_orders"`
	DuplicateOrders int64   `json:"duplicate_orders"`
	Errors5xx       int64   `json:"errors_5xx"`
	SelloutSeconds  float64 `json:"sellout_seconds"` // every unit ordered; -1: not sold out
	P50MS           float64 `json:"p50_ms"`
	P99MS           float64 `json:"p99_ms"`
	KendallTau      float64 `json:"kendall_tau"`
	BotsAdmitted    int64   `json:"bots_admitted"`

	AllocatedSeconds  float64 `json:"allocated_seconds"` // nothing left to hold (every unit held or sold), seen by the 250 ms monitor; -1: never
	Drop              string  `json:"drop"`
	Ordered           int64   `json:"ordered"`            // orders visitors got a 2xx for
	ServerOrders      int64   `json:"server_orders"`      // orders the server lists
	CounterMismatch   bool    `json:"counter_mismatch"`   // available+held+awaiting_payment+sold != stock at the end
	DuplicateVouchers int64   `json:"duplicate_vouchers"` // voucher codes given twice
	EarlyKendallTau   float64 `json:"early_kendall_tau"`  // early arrivals: randomized on purpose, expect about 0
	FairnessSample    int     `json:"fairness_sample"`    // visitors in kendall_tau
	Bots              int64   `json:"bots"`               // bots among the visitors
	BotsJoined        int64   `json:"bots_joined"`        // bots that got a ticket
	BotsOrdered       int64   `json:"bots_ordered"`       // bots that bought
	BotJoinsLimited   int64   `json:"bot_joins_limited"`  // 429 answers to bot joins
	VisitorJoinsLimit int64   `json:"visitor_joins_limited"`
	ForgedAccepted    int64   `json:"forged_accepted"`     // forged tickets the server took (must be 0)
	PrematureAccepted int64   `json:"premature_accepted"`  // holds on waiting tickets the server took (must be 0)
	ReuseAccepted     int64   `json:"reuse_accepted"`      // second orders on one ticket (must be 0)
	IdempotencyBroken int64   `json:"idempotency_broken"`  // same key, different order (must be 0)
	Unexpected        int64   `json:"unexpected_answers"`  // answers a client cannot act on
	TransportErrors   int64   `json:"transport_errors"`    // requests that got no answer
	Requests          int64   `json:"requests"`            // requests sent
	RequestsPerSecond float64 `json:"requests_per_second"` // over the rush
	DurationSeconds   float64 `json:"duration_seconds"`    // from the first arrival to the last visitor done
	GeneratorCPUShare float64 `json:"generator_cpu_share"` // of all cores, this process
	// GeneratorQueueP99 is the time visitors' requests of every lane
	// together (joins, status polls, buying) waited for a slot in the
	// generator; the lanes' own figures say which requests waited:
	// GeneratorInLineQueueP99 the requests of visitors holding a ticket
	// (polls and buying: what delays a buyer), GeneratorJoinQueueP99 the
	// joins (the opening burst's arrivals at the door).
	GeneratorQueueP99       float64 `json:"generator_queue_p99_ms"`
	GeneratorJoinQueueP99   float64 `json:"generator_join_queue_p99_ms"`
	GeneratorStatusQueueP99 float64 `json:"generator_status_queue_p99_ms"`
	GeneratorBuyQueueP99    float64 `json:"generator_buy_queue_p99_ms"`
	GeneratorInLineQueueP99 float64 `json:"generator_in_line_queue_p99_ms"`
	BotQueueP99             float64 `json:"bot_queue_p99_ms"` // the same for the bots' requests, in a lane of their own
	BotRequests             int64   `json:"bot_requests"`     // requests of the bots' lane (joins, polls, probes), part of Requests
	// The exchange of a visitor's request, per lane: the time from its
	// worker sending it to having the answer (mean, p50 and p99). While a
	// lane's requests wait for a worker (the queue figures above), its
	// workers are in exchanges: these say how long each took.
	GeneratorJoinExchangeMeanMS   float64 `json:"generator_join_exchange_mean_ms"`
	GeneratorJoinExchangeP50MS    float64 `json:"generator_join_exchange_p50_ms"`
	GeneratorJoinExchangeP99MS    float64 `json:"generator_join_exchange_p99_ms"`
	GeneratorStatusExchangeMeanMS float64 `json:"generator_status_exchange_mean_ms"`
	GeneratorStatusExchangeP50MS  float64 `json:"generator_status_exchange_p50_ms"`
	GeneratorStatusExchangeP99MS  float64 `json:"generator_status_exchange_p99_ms"`
	GeneratorBuyExchangeMeanMS    float64 `json:"generator_buy_exchange_mean_ms"`
	GeneratorBuyExchangeP50MS     float64 `json:"generator_buy_exchange_p50_ms"`
	GeneratorBuyExchangeP99MS     float64 `json:"generator_buy_exchange_p99_ms"`
	// The server's own time for the routes of each lane over the rush, from
	// its /metrics at the start and the end (servertimes.go): the mean time
	// from a request reaching its handler to its answer, and how many
	// requests. They count every client of the route, the bots too, and are
	// read only from the rush's own server (--demo, or --server-pid) with a
	// token that may read /metrics; otherwise they are left out. The join's
	// time includes its wait at the join gate, where joins wait while the
	// node is busy with visitors in line: ServerJoinGateWaited joins waited
	// there, ServerJoinGateWaitMeanMS on average.
	ServerJoinMeanMS         float64 `json:"server_join_mean_ms,omitempty"`
	ServerJoins              int64   `json:"server_joins,omitempty"`
	ServerJoinGateWaitMeanMS float64 `json:"server_join_gate_wait_mean_ms,omitempty"`
	ServerJoinGateWaited     int64   `json:"server_join_gate_waited,omitempty"`
	ServerStatusMeanMS       float64 `json:"server_status_mean_ms,omitempty"`
	ServerStatusRequests     int64   `json:"server_status_requests,omitempty"`
	ServerBuyMeanMS          float64 `json:"server_buy_mean_ms,omitempty"` // holds, sessions and orders
	ServerBuyRequests        int64   `json:"server_buy_requests,omitempty"`
	// The share of a lane's exchange the server accounts for: its mean time
	// over the lane's mean exchange. From 0.8 up, the lane's workers were
	// waiting on the server, and the lane's queue was the server's pace;
	// well below, the exchanges went mostly elsewhere: to the generator,
	// the kernel between them, or the server's reading of a request before
	// its handler runs, which its figures do not time.
	ServerJoinShare   float64 `json:"server_join_share,omitempty"`
	ServerStatusShare float64 `json:"server_status_share,omitempty"`
	ServerBuyShare    float64 `json:"server_buy_share,omitempty"`
	// How long the goroutines of the generator and of the server waited
	// for a core over the rush: the Go runtime's /sched/latencies:seconds,
	// the time from runnable to running, at the start and the end
	// (schedwait.go). SchedRuns is how many times a goroutine went from
	// runnable to running among those the runtime times (one in eight of
	// each goroutine's, gTrackingPeriod); the p50 and p99 are the upper bound of the
	// histogram's bucket the quantile falls in (the server's buckets, from
	// its /metrics, are about ten times apart: ..., 0.08, 0.92, 10.5,
	// 117 ms; the generator's, the runtime's own, are finer: four to a
	// power of two); Over1MSShare is the share of the runs that waited
	// longer than the largest bound at most 1 ms, 0.92 ms in both. The
	// server's are left out as its other figures are.
	GeneratorSchedRuns             int64   `json:"generator_sched_runs"`
	GeneratorSchedWaitP50MS        float64 `json:"generator_sched_wait_p50_ms"`
	GeneratorSchedWaitP99MS        float64 `json:"generator_sched_wait_p99_ms"`
	GeneratorSchedWaitOver1MSShare float64 `json:"generator_sched_wait_over_1ms_share"`
	ServerSchedRuns                int64   `json:"server_sched_runs,omitempty"`
	ServerSchedWaitP50MS           float64 `json:"server_sched_wait_p50_ms,omitempty"`
	ServerSchedWaitP99MS           float64 `json:"server_sched_wait_p99_ms,omitempty"`
	ServerSchedWaitOver1MSShare    float64 `json:"server_sched_wait_over_1ms_share,omitempty"`
	// The generator's CPU time without the bot farm's hashing (which runs at
	// the lowest priority on spare cycles), per visitor and per request.
	GeneratorCPUPerVisitor float64        `json:"generator_cpu_us_per_visitor"`
	GeneratorCPUPerRequest float64        `json:"generator_cpu_us_per_request"`
	GeneratorPeakRSSMB     float64        `json:"generator_peak_rss_mb,omitempty"` // this process (Linux)
	ServerCPUShare         float64        `json:"server_cpu_share,omitempty"`
	ServerPeakRSSMB        float64        `json:"server_peak_rss_mb,omitempty"`
	Outcomes               map[string]int `json:"outcomes"`

	// The payment phase (rush/payment.go), with --payment-seconds.
	PaymentSeconds      int64   `json:"payment_seconds,omitempty"`
	Paid                int64   `json:"paid,omitempty"`                  // orders the buyers paid in time
	PaidLate            int64   `json:"paid_late,omitempty"`             // payments refused as expired
	Unpaid              int64   `json:"unpaid,omitempty"`                // buyers who never paid
	UnitsRecycled       int64   `json:"units_recycled,omitempty"`        // units of expired or cancelled orders, back on sale
	FinalSelloutSeconds float64 `json:"final_sellout_seconds,omitempty"` // every unit paid; -1: never

	// The join challenge: what it cost visitors and bots.
	VisitorChallenges     int64   `json:"visitor_challenges"`       // challenges real visitors solved or tried
	VisitorChallengeP50MS float64 `json:"visitor_challenge_p50_ms"` // median over every real visitor (0 for those asked for none)
	VisitorChallengedP50  float64 `json:"visitor_challenged_p50_ms"`
	VisitorChallengedP99  float64 `json:"visitor_challenged_p99_ms"` // over the challenges visitors solved
	VisitorHashes         int64   `json:"visitor_hashes"`
	VisitorSolveSeconds   float64 `json:"visitor_solve_seconds"` // CPU time (one core) all visitors spent solving
	VisitorMaxBits        int64   `json:"visitor_max_bits"`
	BotChallenges         int64   `json:"bot_challenges"`
	BotChallengesSolved   int64   `json:"bot_challenges_solved"`
	BotChallengesGaveUp   int64   `json:"bot_challenges_gave_up"`
	BotHashes             int64   `json:"bot_hashes"`
	BotSolveSeconds       float64 `json:"bot_solve_seconds"` // time the bot farm's solvers hashed
	BotCPUSeconds         float64 `json:"bot_cpu_seconds"`   // CPU time the bot farm's solvers used
	BotMaxBits            int64   `json:"bot_max_bits"`

	// Timeline is the rush second by second: requests per endpoint,
	// admissions and orders (rush/timeline.go).
	Timeline *Timeline `json:"timeline,omitempty"`
}

// Clean reports whether the rush kept every promise the CI checks: nothing
// oversold, lost or duplicated, no 5xx, no forged or reused ticket taken.
func (s Summary) Clean() bool {
	return s.Oversold == 0 && s.LostOrders == 0 && s.DuplicateOrders == 0 && s.Errors5xx == 0 &&
		s.DuplicateVouchers == 0 && !s.CounterMismatch && s.ForgedAccepted == 0 &&
		s.PrematureAccepted == 0 && s.ReuseAccepted == 0 && s.IdempotencyBroken == 0
}

// Result is a finished rush: the summary and what the report draws.
type Result struct {
	Config    Config
	Drop      string
	StartedAt time.Time
	Summary   Summary
	Series    []sample
	visitors  []*visitor
	client    *client
	// fairness holds the non-bot visitors with a position: after-start
	// arrivals first, then the earlyCount early ones.
	fairness   []rankPair
	earlyCount int
	timeline   *timeline
}

func numCPU() int { return runtime.NumCPU() }

// monitor samples the counters every 250 ms for the charts, polls the
// drop's public counters for the stock left, and prints a progress line.
func (r *run) monitor(ctx context.Context) {
	lastPrint := time.Now()
	lastReqs := int64(0)
	ticker.Every(ctx, 250*time.Millisecond, func(ctx context.Context) {
		a := r.c.do(ctx, call{ep: epDrop, method: "GET", path: r.dropPath})
		if a.status == http.StatusOK {
			var d dropJSON
			if json.Unmarshal(a.body, &d) == nil {
				r.lastDrop.Store(&d)
				r.c.tl.serverAdmittedUpTo(time.Now(), d.AdmittedUpTo)
				if d.Stock > 0 && d.Available == 0 && r.since() > 0 {
					r.monGone.CompareAndSwap(0, int64(r.since()))
				}
				if d.Stock > 0 && d.Sold >= d.Stock {
					r.monSold.CompareAndSwap(0, int64(r.since()))
				}
			}
		}
		r.takeSample()
		if r.cfg.Progress != nil && time.Since(lastPrint) >= r.cfg.ProgressEvery {
			reqs := r.c.reqs.Load()
			rate := float64(reqs-lastReqs) / time.Since(lastPrint).Seconds()
			lastPrint, lastReqs = time.Now(), reqs
			left := "?"
			if d := r.lastDrop.Load(); d != nil {
				left = fmt.Sprint(d.Available)
			}
			fmt.Fprintf(r.cfg.Progress, "%+7.1fs  arrived %7d  waiting %7d  admitted %6d  ordered %6d  stock left %6s  5xx %d  errors %d  %6.0f req/s\n",
				r.since().Seconds(), r.cnt.arrived.Load(), r.cnt.waiting.Load(), r.cnt.admitted.Load(), r.cnt.ordered.Load(),
				left, r.c.statusCount(500, 599), r.errorCount(), rate)
		}
	})
}

func (r *run) errorCount() int64 {
	return r.c.statusCount(500, 599) + r.c.transportErrors() + r.cnt.unexpected.Load()
}

func (r *run) takeSample() {
	s := sample{
		T:         r.since().Seconds(),
		Arrived:   r.cnt.arrived.Load(),
		Joined:    r.cnt.joined.Load(),
		Waiting:   r.cnt.waiting.Load(),
		Admitted:  r.cnt.admitted.Load(),
		Ordered:   r.cnt.ordered.Load(),
		StockLeft: -1,
		Errors:    r.errorCount(),
		Requests:  r.c.reqs.Load(),

		VisitorBits: r.chal.visitorTop.Swap(0),
		BotBits:     r.chal.botTop.Swap(0),
	}
	if d := r.lastDrop.Load(); d != nil {
		s.StockLeft = d.Available
	}
	r.samplesMu.Lock()
	r.samples = append(r.samples, s)
	r.samplesMu.Unlock()
}

// getAgain sends a GET and, as a browser would, sends it again on a fresh
// connection (up to three times in all) when the connection broke before
// any answer came: a kept-alive connection can close under a request, and
// the other idle ones in the pool may have closed with it. It is called
// once the visitors are done, so only idle connections are let go.
func getAgain(ctx context.Context, c *client, cl call) answer {
	a := c.do(ctx, cl)
	for try := 1; a.status == 0 && try < 3 && sleepCtx(ctx, 200*time.Millisecond); try++ {
		c.hc.CloseIdleConnections()
		a = c.do(ctx, cl)
	}
	return a
}

// noAnswer describes an answer to one of the rush's own requests and, when
// none came and the server is on this machine (a loopback target, or
// ServerPid given), what the kernel shows of the server's port: whether
// anything still listens on it, the connections to it, and whether the
// server process still runs and holds the listener.
func (r *run) noAnswer(a answer) string {
	s := describe(a)
	if a.status != 0 {
		return s
	}
	host, p, err := net.SplitHostPort(r.c.hc.Addr)
	if err != nil {
		return s
	}
	port, err := strconv.ParseUint(p, 10, 16)
	if err != nil {
		return s
	}
	if ip, err := netip.ParseAddr(host); (err != nil || !ip.IsLoopback()) && host != "localhost" && r.cfg.ServerPid == 0 {
		return s
	}
	return s + "; " + sockstat.Describe(uint16(port), r.cfg.ServerPid)
}

// verify reads the server's own record and fills in the summary.
func (r *run) verify(ctx context.Context, res *Result) error {
	s := &res.Summary
	s.Visitors, s.Stock, s.Drop = len(res.visitors), r.stock, r.drop

	a := getAgain(ctx, r.c, call{ep: epAdmin, method: "GET", path: r.dropPath})
	if a.status != http.StatusOK {
		return fmt.Errorf("read the drop after the rush: %s", r.noAnswer(a))
	}
	var d dropJSON
	if err := json.Unmarshal(a.body, &d); err != nil {
		return fmt.Errorf("read the drop after the rush: %w", err)
	}
	var confirmed []string
	for _, v := range res.visitors {
		confirmed = append(confirmed, v.orderID)
	}
	orders, err := listOrders(ctx, r.c, r.dropPath, r.cfg.AdminToken, confirmed)
	if err != nil {
		return fmt.Errorf("after the rush: %w", err)
	}
	list := struct{ Orders []orderJSON }{orders}

	listed := make(map[string]bool, len(list.Orders))
	perHold := map[string]int{}
	perCustomer := map[string]int64{}
	vouchers := map[string]int{}
	limit := d.PerCustomer
	if limit == 0 {
		limit = r.cfg.PerCustomerLimit
	}
	for _, o := range list.Orders {
		if o.Drop != "" && o.Drop != r.drop {
			continue
		}
		q := max(o.Quantity, 1)
		s.ServerOrders++
		if o.Status == "expired" || o.Status == "cancelled" {
			// Its units went back on sale: not sold, and not the
			// customer's any more.
			s.UnitsRecycled += q
			q = 0
		}
		s.Sold += q
		if listed[o.ID] {
			s.DuplicateOrders++ // the same order listed twice
		}
		listed[o.ID] = true
		perHold[o.HoldID]++
		if o.HoldID != "" && perHold[o.HoldID] > 1 {
			s.DuplicateOrders++
		}
		if o.Customer != "" {
			perCustomer[o.Customer] += q
		}
		if o.Voucher != "" {
			vouchers[o.Voucher]++
			if vouchers[o.Voucher] > 1 {
				s.DuplicateVouchers++
			}
		}
	}
	for _, bought := range perCustomer {
		if bought > limit {
			s.DuplicateOrders += bought - limit
		}
	}
	r.paymentSummary(s)
	s.Oversold = max(0, max(s.Sold, d.Sold)-r.stock)
	s.CounterMismatch = d.Available+d.Held+d.Awaiting+d.Sold != d.Stock

	outcomes := map[string]int{}
	var fair, early []rankPair
	for _, v := range res.visitors {
		outcomes[outcomeNames[v.outcome]]++
		if v.bot {
			s.Bots++
		}
		if v.orderID != "" {
			s.Ordered++
			if !listed[v.orderID] {
				s.LostOrders++
			}
		}
		if !v.bot && v.position > 0 {
			if v.early {
				early = append(early, rankPair{v.id, v.position})
			} else {
				fair = append(fair, rankPair{v.id, v.position})
			}
		}
	}
	s.Outcomes = outcomes
	s.DuplicateOrders += r.cnt.idemMismatch.Load() + r.cnt.reuseAccepted.Load()
	s.KendallTau = kendallTau(fair)
	s.EarlyKendallTau = kendallTau(early)
	s.FairnessSample = len(fair)

	s.Errors5xx = r.c.statusCount(500, 599)
	s.SelloutSeconds = -1
	if ns := r.cnt.selloutNanos.Load(); ns > 0 {
		s.SelloutSeconds = time.Duration(ns).Seconds()
	} else if ns := r.monSold.Load(); ns > 0 {
		s.SelloutSeconds = time.Duration(ns).Seconds()
	}
	s.AllocatedSeconds = -1
	if ns := r.monGone.Load(); ns > 0 {
		s.AllocatedSeconds = time.Duration(ns).Seconds()
	}
	var all histogram
	for _, ep := range visitorEndpoints {
		all.merge(&r.c.stats[ep].hist)
	}
	s.P50MS, s.P99MS = all.quantile(0.50), all.quantile(0.99)
	var lanes, inLine histogram
	inLine.merge(&r.c.statusWait)
	inLine.merge(&r.c.buyWait)
	lanes.merge(&inLine)
	lanes.merge(&r.c.joinWait)
	s.GeneratorQueueP99 = lanes.quantile(0.99)
	s.GeneratorInLineQueueP99 = inLine.quantile(0.99)
	s.GeneratorJoinQueueP99 = r.c.joinWait.quantile(0.99)
	s.GeneratorStatusQueueP99 = r.c.statusWait.quantile(0.99)
	s.GeneratorBuyQueueP99 = r.c.buyWait.quantile(0.99)
	s.BotQueueP99 = r.c.botWait.quantile(0.99)
	exchange := func(h *histogram) (mean, p50, p99 float64) { return h.meanMS(), h.quantile(0.50), h.quantile(0.99) }
	s.GeneratorJoinExchangeMeanMS, s.GeneratorJoinExchangeP50MS, s.GeneratorJoinExchangeP99MS = exchange(&r.c.joinExchange)
	s.GeneratorStatusExchangeMeanMS, s.GeneratorStatusExchangeP50MS, s.GeneratorStatusExchangeP99MS = exchange(&r.c.statusExchange)
	s.GeneratorBuyExchangeMeanMS, s.GeneratorBuyExchangeP50MS, s.GeneratorBuyExchangeP99MS = exchange(&r.c.buyExchange)
	if r.srvTimes != nil {
		s.setServerTimes(*r.srvTimes)
	}
	s.GeneratorSchedRuns, s.GeneratorSchedWaitP50MS, s.GeneratorSchedWaitP99MS, s.GeneratorSchedWaitOver1MSShare = r.genSched.figures()
	s.BotRequests = r.c.botWait.n.Load()
	s.BotsAdmitted = r.cnt.botsAdmitted.Load()
	s.BotsJoined = r.cnt.botsJoined.Load()
	s.BotsOrdered = r.cnt.botsOrdered.Load()
	s.BotJoinsLimited = r.cnt.botJoinLimited.Load()
	ch := &r.chal
	s.VisitorChallenges = ch.visitorChallenges.Load()
	s.VisitorChallengeP50MS = visitorChallengeP50(res.visitors)
	s.VisitorChallengedP50, s.VisitorChallengedP99 = ch.visitorTime.quantile(0.5), ch.visitorTime.quantile(0.99)
	s.VisitorHashes = ch.visitorHashes.Load()
	s.VisitorSolveSeconds = time.Duration(ch.visitorNanos.Load()).Seconds()
	s.VisitorMaxBits = ch.visitorMax.Load()
	s.BotChallenges = ch.botChallenges.Load()
	s.BotChallengesSolved = ch.botSolved.Load()
	s.BotChallengesGaveUp = ch.botGaveUp.Load()
	s.BotHashes = ch.botHashes.Load()
	s.BotSolveSeconds = time.Duration(ch.botNanos.Load()).Seconds()
	s.BotMaxBits = ch.botMax.Load()
	s.VisitorJoinsLimit = r.cnt.joinLimited.Load()
	s.ForgedAccepted = r.cnt.forgedAccepted.Load()
	s.PrematureAccepted = r.cnt.prematureAccepted.Load()
	s.ReuseAccepted = r.cnt.reuseAccepted.Load()
	s.IdempotencyBroken = r.cnt.idemMismatch.Load()
	s.Unexpected = r.cnt.unexpected.Load()
	s.TransportErrors = r.c.transportErrors()
	s.Requests = r.c.reqs.Load()
	first := res.visitors[0].arrival
	s.DurationSeconds = (r.since() - first).Seconds()
	if s.DurationSeconds > 0 {
		s.RequestsPerSecond = float64(s.Requests) / s.DurationSeconds
	}
	res.fairness = append(fair, early...)
	res.earlyCount = len(early)
	return nil
}

// rankPair is a visitor's arrival rank and its queue position.
type rankPair struct {
	arrival  int
	position int64
}

// kendallTau is Kendall's tau-a between arrival rank and queue position:
// 1 when the queue keeps the arrival order exactly, 0 when it is unrelated,
// -1 when reversed. Fewer than two visitors give 1.
func kendallTau(pairs []rankPair) float64 {
	n := len(pairs)
	if n < 2 {
		return 1
	}
	ps := slices.Clone(pairs)
	slices.SortFunc(ps, func(a, b rankPair) int { return a.arrival - b.arrival })
	pos := make([]int64, n)
	for i, p := range ps {
		pos[i] = p.position
	}
	return kendall.Tau(pos)
}
