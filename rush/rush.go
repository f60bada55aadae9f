package rush

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/floodgate/floodgate/internal/nice"
)

// visitor is one simulated buyer. Its fields are written only by its own
// goroutine and read after every visitor has finished.
type visitor struct {
	id      int // arrival rank
	bot     bool
	early   bool // arrives before the opening
	sse     bool // waits over SSE instead of polling
	double  bool // sends its order twice with the same key
	arrival time.Duration
	addr    string // X-Forwarded-For

	position   int64
	admitted   bool
	outcome    outcome
	orderID    string
	voucher    string
	orderedAt  time.Duration
	admittedAt time.Duration
	// challengeTime is the time this visitor spent solving join challenges.
	challengeTime time.Duration
}

type outcome int

const (
	outNone     outcome = iota
	outOrdered          // bought
	outSoldOut          // told the stock is gone
	outRejected         // never got a ticket
	outGaveUp           // still waiting at the deadline
	outFailed           // an answer a client cannot act on
	outLimit            // over the per-customer limit
	outClosed           // the drop closed
	numOutcomes
)

var outcomeNames = [numOutcomes]string{"unfinished", "ordered", "told sold out", "never got a ticket", "gave up at the deadline", "failed", "over the customer limit", "drop closed"}

// queueStatus is the answer of the queue endpoints; unknown fields are
// ignored so that the rush keeps working as the API grows.
type queueStatus struct {
	Ticket     string  `json:"ticket"`
	State      string  `json:"state"`
	Position   int64   `json:"position"`
	Ahead      int64   `json:"ahead"`
	EtaSeconds float64 `json:"eta_seconds"`
	// BeyondStock says the stock left will likely not reach this visitor;
	// it keeps waiting in case holds come back, but polls slowly.
	BeyondStock bool `json:"beyond_stock"`
	// Early says the server counted the visitor as arriving before the
	// opening (shuffled at the opening rather than FIFO).
	Early *bool `json:"early"`
}

type dropJSON struct {
	ID             string    `json:"id"`
	Stock          int64     `json:"stock"`
	Available      int64     `json:"available"`
	Held           int64     `json:"held"`
	Sold           int64     `json:"sold"`
	Awaiting       int64     `json:"awaiting_payment"`
	State          string    `json:"state"`
	StartsAt       time.Time `json:"starts_at"`
	AdmitPerSecond int64     `json:"admit_per_second"`
	PerCustomer    int64     `json:"per_customer_limit"`
	Queued         int64     `json:"queued"`
	AdmittedUpTo   int64     `json:"admitted_up_to"`
}

type orderJSON struct {
	ID       string `json:"id"`
	HoldID   string `json:"hold_id"`
	Drop     string `json:"drop"`
	Customer string `json:"customer"`
	Quantity int64  `json:"quantity"`
	Voucher  string `json:"voucher"`
	Status   string `json:"status"`
}

// counters are the live numbers of a rush, read by the progress line and
// the time series.
type counters struct {
	arrived, joined, waiting, admitted, held, ordered, units atomic.Int64
	joinLimited, botJoinLimited, botsJoined, botsAdmitted    atomic.Int64
	botsOrdered, forgedAccepted, prematureAccepted           atomic.Int64
	reuseAccepted, idemMismatch, unexpected, soldOutTold     atomic.Int64
	forgedTried, prematureTried, reuseTried, doubleSent      atomic.Int64
	selloutNanos                                             atomic.Int64 // since the opening; 0 = not yet
	sseStreams                                               atomic.Int64 // event streams asked for
}

type run struct {
	cfg       Config
	c         *client
	drop      string
	dropPath  string
	queuePath string    // dropPath + "/queue", made once: every poll sends it
	origin    time.Time // the opening
	stock     int64
	runID     string
	cnt       counters
	pc        paymentCounters
	lastDrop  atomic.Pointer[dropJSON]
	monSold   atomic.Int64 // nanos since opening when the monitor first saw the drop sold out
	monGone   atomic.Int64 // nanos since opening when the monitor first saw nothing available
	samplesMu sync.Mutex
	samples   []sample
	chal      challengeStats
	bots      *botFarm
	// srvTimes is the server's own time for the lanes' routes over the
	// rush (servertimes.go); nil when it could not be read.
	srvTimes *serverTimes
	// genSched is this process's goroutines' waits for a core over the
	// rush (schedwait.go).
	genSched waits
	// visiting counts the visitors that arrived and have not finished.
	visiting sync.WaitGroup
	// wheel holds the visitors of the state machine (machine.go) between
	// two requests; step is r.step, made once.
	wheel *wheel
	step  func(*job)
}

// sample is one point of the time series of the report.
type sample struct {
	T         float64 `json:"t"` // seconds since the opening
	Arrived   int64   `json:"arrived"`
	Joined    int64   `json:"joined"`
	Waiting   int64   `json:"waiting"`
	Admitted  int64   `json:"admitted"`
	Ordered   int64   `json:"ordered"`
	StockLeft int64   `json:"stock_left"` // -1: unknown
	Errors    int64   `json:"errors"`
	Requests  int64   `json:"requests"`
	// The highest join challenge difficulty (bits) visitors and bots were
	// asked for since the previous sample.
	VisitorBits int64 `json:"visitor_bits"`
	BotBits     int64 `json:"bot_bits"`
}

// collectLess makes the generator collect garbage less often (GOGC=400)
// unless GOGC or GOMEMLIMIT say otherwise; the returned function restores
// what was set. Every waiting visitor holds its ticket and job for the
// whole rush: a collection scans them all and frees little (measured when
// each was a goroutine: at the end of a default rush ~140 MB of heap and
// ~200 MB of stacks), and at the default GOGC seven or eight collections took 3.6-6 s
// of the generator's CPU, mostly in the opening burst; at 400 one does.
// (Collecting only near a memory limit instead starved the generator once
// the limit was near: the collector then runs all the time.)
func collectLess() (restore func()) {
	if !tuneGC() {
		return func() {}
	}
	percent := debug.SetGCPercent(400)
	return func() { debug.SetGCPercent(percent) }
}

// collectBefore collects once more collectAhead before the opening, unless
// GOGC or GOMEMLIMIT say how to collect; the returned function cancels it.
// The heap then has room (four times what is live) up to the end of a
// default rush, so that no collection falls into the opening burst: there
// the one collection of a rush cost the generator 1.9 s of CPU (1.25 s of
// marking on a busy machine), taken from the server at its busiest, where
// before the opening the machine has CPU to spare.
func collectBefore(opening time.Time) (cancel func()) {
	d := time.Until(opening.Add(-collectAhead))
	if !tuneGC() || d <= 0 {
		return func() {}
	}
	t := time.AfterFunc(d, runtime.GC)
	return func() { t.Stop() }
}

// collectAhead is how long before the opening collectBefore collects: long
// enough for the collection to end before the burst.
const collectAhead = 3 * time.Second

// tuneGC says whether the rush may tune the collector: GOGC and
// GOMEMLIMIT, when set, are the user's word.
func tuneGC() bool { return os.Getenv("GOGC") == "" && os.Getenv("GOMEMLIMIT") == "" }

// Run performs a rush against cfg.Target and checks the result against the
// server's own record.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	cfg.fillDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	defer collectLess()()
	bots, err := startFarm(cfg.FarmBinary, cfg.BotSolvers)
	if err != nil {
		return nil, err
	}
	defer bots.close()
	r := &run{cfg: cfg, c: newClientFor(cfg.Target, cfg.InFlight, cfg.Visitors), runID: randomToken()[:8], bots: bots}
	r.wheel, r.step = newWheel(r.expire), r.advance
	defer r.c.close()
	if err := r.setupDrop(ctx); err != nil {
		return nil, err
	}
	visitors := schedule(cfg)
	// A drop already open (an existing one) cannot have early arrivals any
	// more: they come at once.
	if lead := time.Until(r.origin); lead < cfg.Lead {
		for _, v := range visitors {
			if v.arrival < -lead {
				v.arrival = -lead
			}
		}
	}

	defer collectBefore(r.origin)()
	r.c.tl = newTimeline(r.origin, min(visitors[0].arrival, 0)-time.Second, cfg.Deadline+5*time.Second)

	startWall, startCPU := time.Now(), nice.ProcessCPU()
	var srvStart procStats
	var timesStart serverTimes
	timesOK := false
	schedStart := readGeneratorWaits()
	if cfg.ServerPid > 0 {
		srvStart, _ = readProcStats(cfg.ServerPid)
		timesStart, timesOK = readServerTimes(ctx, r.c, cfg.AdminToken)
	}
	vctx, cancel := context.WithDeadline(ctx, r.origin.Add(cfg.Deadline))
	defer cancel()
	monCtx, stopMon := context.WithCancel(ctx)
	monDone := make(chan struct{})
	go func() { r.monitor(monCtx); close(monDone) }()

	wheelDone := make(chan struct{})
	go func() { r.wheel.run(vctx); close(wheelDone) }()
	arrival := time.NewTimer(time.Hour)
arrivals:
	for _, v := range visitors {
		at := r.origin.Add(v.arrival)
		if d := time.Until(at); d > 0 {
			arrival.Reset(d)
			select {
			case <-arrival.C:
			case <-vctx.Done():
				break arrivals
			}
		}
		r.cnt.arrived.Add(1)
		r.arrive(vctx, v)
	}
	arrival.Stop()
	r.visiting.Wait()
	cancel()
	<-wheelDone
	r.bots.close()
	wall := time.Since(startWall)
	genCPU := nice.ProcessCPU() - startCPU
	stopMon()
	<-monDone
	r.takeSample()
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}

	res := &Result{Config: cfg, Drop: r.drop, StartedAt: r.origin, visitors: visitors, client: r.c, timeline: r.c.tl}
	res.Summary.Timeline = r.c.tl.summary()
	res.Summary.GeneratorCPUShare = genCPU.Seconds() / wall.Seconds() / float64(numCPU())
	res.Summary.BotCPUSeconds = r.bots.cpu().Seconds()
	sim := genCPU
	if cfg.FarmBinary == "" {
		sim -= r.bots.cpu() // the farm ran in this process
	}
	if sim > 0 {
		res.Summary.GeneratorCPUPerVisitor = float64(sim.Microseconds()) / float64(len(visitors))
		if n := r.c.reqs.Load(); n > 0 {
			res.Summary.GeneratorCPUPerRequest = float64(sim.Microseconds()) / float64(n)
		}
	}
	if ps, ok := readProcStats(os.Getpid()); ok {
		res.Summary.GeneratorPeakRSSMB = float64(ps.peakRSS) / (1 << 20)
	}
	r.genSched = readGeneratorWaits().sub(schedStart)
	if timesOK {
		if end, ok := readServerTimes(ctx, r.c, cfg.AdminToken); ok {
			t := end.sub(timesStart)
			if r.cnt.sseStreams.Load() > 0 {
				// The event streams are the status route's too, each as
				// long as its visitor's wait: the polls' own time cannot
				// be told from theirs.
				t.status = spent{}
			}
			r.srvTimes = &t
		}
	}
	if cfg.ServerPid > 0 {
		if ps, ok := readProcStats(cfg.ServerPid); ok {
			res.Summary.ServerCPUShare = (ps.cpu - srvStart.cpu).Seconds() / wall.Seconds() / float64(numCPU())
			res.Summary.ServerPeakRSSMB = float64(ps.peakRSS) / (1 << 20)
		}
	}
	if err := r.verify(ctx, res); err != nil {
		return nil, err
	}
	r.samplesMu.Lock()
	res.Series = r.samples
	r.samplesMu.Unlock()
	return res, nil
}

func (r *run) setupDrop(ctx context.Context) error {
	if r.cfg.Drop != "" {
		r.drop = r.cfg.Drop
		r.dropPath = "/api/v1/drops/" + url.PathEscape(r.drop)
		r.queuePath = r.dropPath + "/queue"
		a := r.c.do(ctx, call{ep: epAdmin, method: "GET", path: r.dropPath})
		if a.status != http.StatusOK {
			return fmt.Errorf("read drop %q: %s", r.drop, describe(a))
		}
		var d dropJSON
		if err := json.Unmarshal(a.body, &d); err != nil {
			return fmt.Errorf("read drop %q: %w", r.drop, err)
		}
		r.origin, r.stock = d.StartsAt, d.Stock
		return nil
	}
	r.drop = "rush-" + time.Now().UTC().Format("20060102-150405") + "-" + r.runID[:4]
	r.dropPath = "/api/v1/drops/" + url.PathEscape(r.drop)
	r.queuePath = r.dropPath + "/queue"
	startsAt := time.Now().Add(r.cfg.Lead).UTC().Truncate(time.Second).Add(time.Second)
	body := map[string]any{
		"id":                 r.drop,
		"name":               "Half-price AI speaker (rush)",
		"price":              59000,
		"currency":           "KRW",
		"stock":              r.cfg.Stock,
		"per_customer_limit": r.cfg.PerCustomerLimit,
		"starts_at":          startsAt.Format(time.RFC3339),
		"hold_seconds":       r.cfg.HoldSeconds,
		"admit_per_second":   r.cfg.AdmitPerSecond,
	}
	if r.cfg.PaymentSeconds > 0 {
		body["payment_seconds"] = r.cfg.PaymentSeconds
	}
	if c := r.cfg.ChallengeDifficulty; c != "" {
		if n, err := strconv.Atoi(c); err == nil {
			body["challenge_difficulty"] = n
		} else {
			body["challenge_difficulty"] = c
		}
	}
	if r.cfg.Vouchers {
		codes := make([]string, r.cfg.Stock)
		for i := range codes {
			codes[i] = fmt.Sprintf("RUSH-%s-%06d", r.runID[:4], i+1)
		}
		body["vouchers"] = codes
	}
	a := r.c.do(ctx, call{ep: epAdmin, method: "POST", path: "/api/v1/drops", body: body, bearer: r.cfg.AdminToken})
	if a.status != http.StatusCreated && a.status != http.StatusOK {
		return fmt.Errorf("create the drop: %s", describe(a))
	}
	var d dropJSON
	if err := json.Unmarshal(a.body, &d); err != nil || d.StartsAt.IsZero() {
		d.StartsAt, d.Stock = startsAt, r.cfg.Stock
	}
	r.origin, r.stock = d.StartsAt, d.Stock
	if r.stock == 0 {
		r.stock = r.cfg.Stock
	}
	return nil
}

// describe puts an answer into words for an error message.
func describe(a answer) string {
	if a.status == 0 {
		return fmt.Sprintf("no answer (%v); is the server running at that address?", a.err)
	}
	body := strings.TrimSpace(string(a.body))
	if len(body) > 300 {
		body = body[:300] + "…"
	}
	return fmt.Sprintf("HTTP %d %s", a.status, body)
}

func (r *run) since() time.Duration { return time.Since(r.origin) }

// visit is the life of one visitor in a goroutine of its own.
func (r *run) visit(ctx context.Context, v *visitor) {
	j := newJob()
	defer j.free()
	r.visitFrom(ctx, v, j, 1, false)
}

// visitFrom is the life of a visitor from its attempt-th join on;
// answered says that j.ans holds the answer to that join already.
func (r *run) visitFrom(ctx context.Context, v *visitor, j *job, attempt int, answered bool) {
	ticket := r.join(ctx, v, j, attempt, answered)
	if ticket == "" {
		return
	}
	r.enterLine(v)
	state := r.wait(ctx, v, j, ticket)
	r.cnt.waiting.Add(-1)
	if r.afterWait(v, state) {
		r.buy(ctx, v, ticket)
	}
}

// enterLine counts a visitor that got its ticket.
func (r *run) enterLine(v *visitor) {
	r.cnt.joined.Add(1)
	if v.bot {
		r.cnt.botsJoined.Add(1)
	}
	r.cnt.waiting.Add(1)
}

// afterWait records how a visitor's wait ended (state, "" when it gave
// up) and reports whether it was admitted: only then does it go on to buy.
func (r *run) afterWait(v *visitor, state string) bool {
	switch state {
	case "admitted":
	case "sold_out":
		v.outcome = outSoldOut
		r.cnt.soldOutTold.Add(1)
		return false
	case "closed":
		v.outcome = outClosed
		return false
	default:
		if v.outcome == outNone {
			v.outcome = outGaveUp
		}
		return false
	}
	v.admitted, v.admittedAt = true, r.since()
	r.cnt.admitted.Add(1)
	r.c.tl.admit(time.Now())
	if v.bot {
		r.cnt.botsAdmitted.Add(1)
	}
	return true
}

// retryPause is how long a real client waits before trying again: the
// server's Retry-After (at least 200 ms), with up to half of it again as
// jitter so that retries do not come back as one wave.
func retryPause(a *answer) time.Duration {
	d := max(a.retryAfter, 200*time.Millisecond)
	return d + rand.N(d/2+1)
}

// botPause is how long a bot waits: it ignores Retry-After.
func botPause() time.Duration { return 250*time.Millisecond + rand.N(500*time.Millisecond) }

// join joins the queue, from the attempt-th try on, and returns the
// visitor's ticket ("" when it got none), with the status of the answer in
// j.st. answered says j.ans holds the answer to the first try already.
func (r *run) join(ctx context.Context, v *visitor, j *job, attempt int, answered bool) string {
	var solution any // the answer to the last join challenge
	for ; ; attempt++ {
		var a *answer
		if answered {
			a, answered = &j.ans, false
		} else {
			j.request(epJoin, "POST", r.queuePath, "", v.addr, v.bot, solution)
			a = r.c.doJob(ctx, j)
		}
		solution = nil
		if a.status == http.StatusPreconditionRequired {
			// Solve and join again at once: the work is the wait.
			if ch, ok := parseChallenge(a.body); ok {
				if solution = r.answer(ctx, v, ch); solution != nil {
					attempt--
					continue
				}
				v.outcome = outRejected
				return ""
			}
		}
		if a.status == http.StatusCreated || a.status == http.StatusOK {
			return r.takeTicket(v, j)
		}
		if a.status == http.StatusTooManyRequests {
			if v.bot {
				r.cnt.botJoinLimited.Add(1)
			} else {
				r.cnt.joinLimited.Add(1)
			}
		}
		if ctx.Err() != nil {
			v.outcome = outRejected
			return ""
		}
		if !a.retryable() {
			r.joinRefused(v, a)
			return ""
		}
		pause := retryPause(a)
		if v.bot {
			if attempt >= r.cfg.BotAttempts {
				v.outcome = outRejected
				return ""
			}
			pause = botPause()
		}
		if !j.sleep(ctx, pause) {
			v.outcome = outRejected
			return ""
		}
	}
}

// takeTicket reads the ticket of a successful join's answer in j.ans into
// j.st; "" (and the visitor failed) when the answer has none.
func (r *run) takeTicket(v *visitor, j *job) string {
	a := &j.ans
	if a.queueErr != nil || a.queue.Ticket == "" {
		r.cnt.unexpected.Add(1)
		v.outcome = outFailed
		return ""
	}
	st := &j.st
	*st = a.queue
	if st.Position > 0 {
		v.position = st.Position
	}
	if st.Early != nil {
		// The server's word decides, not the schedule: a join sent
		// just before the opening may arrive just after it.
		v.early = *st.Early
	}
	return st.Ticket
}

// joinRefused records a join answered with an error no client retries.
func (r *run) joinRefused(v *visitor, a *answer) {
	if a.code() == "sold_out" {
		v.outcome = outSoldOut
		r.cnt.soldOutTold.Add(1)
	} else {
		r.cnt.unexpected.Add(1)
		v.outcome = outFailed
	}
}

func final(state string) bool {
	return state == "admitted" || state == "sold_out" || state == "closed"
}

// wait returns the final queue state of the visitor, or "" when it gave up.
// It starts from the status join left in j.st.
func (r *run) wait(ctx context.Context, v *visitor, j *job, ticket string) string {
	st := &j.st
	if final(st.State) {
		return st.State
	}
	if v.sse {
		if state, ok := r.waitSSE(ctx, v, ticket); ok {
			return state
		}
		// The stream broke or is not offered: poll like everyone else.
	}
	var retryAfter time.Duration
	probes := 0
	for {
		pause := r.pollPause(v, st)
		if retryAfter > pause {
			pause = retryAfter
		}
		if !j.sleep(ctx, pause) {
			return ""
		}
		if v.bot && probes < 2 {
			probes++
			r.botProbe(ctx, v, ticket, st)
		}
		j.request(epStatus, "GET", r.queuePath, ticket, v.addr, v.bot, nil)
		state, done, ra := r.pollAnswer(ctx, v, j, r.c.doJob(ctx, j))
		if done {
			return state
		}
		retryAfter = ra
	}
}

// pollAnswer takes the answer a to a poll of v's place into j.st: done
// says the wait is over, in state ("" when the visitor gave up or failed);
// otherwise the next poll waits at least retryAfter. Both ways of waiting
// (wait, and the machine's advance) read a poll's answer through it.
func (r *run) pollAnswer(ctx context.Context, v *visitor, j *job, a *answer) (state string, done bool, retryAfter time.Duration) {
	switch {
	case a.status == http.StatusOK:
		if a.queueErr != nil {
			r.cnt.unexpected.Add(1)
			return "", false, 0
		}
		st := &j.st
		*st = a.queue
		if st.Position > 0 {
			v.position = st.Position
		}
		if final(st.State) {
			return st.State, true, 0
		}
		return "", false, 0
	case a.retryable():
		if ctx.Err() != nil {
			return "", true, 0
		}
		return "", false, retryPause(a)
	default:
		r.cnt.unexpected.Add(1)
		v.outcome = outFailed
		return "", true, 0
	}
}

// pagePoll is how often the buyer page asks for its queue status when it
// polls (web/static/app.js startPolling: every 3 s, whatever the answer).
const pagePoll = 3 * time.Second

// pollPause follows the server's ETA the way a waiting-room page would: ask
// again after half the ETA, within [MinPoll, MaxPoll], with jitter, and
// after MaxPoll when the server says the stock will likely not reach it.
// Before the opening an early visitor has no place yet (it is drawn at the
// opening): nothing the page shows changes until then, so it asks every
// pagePoll, as the page does, and comes back right after the opening, which
// the server's answer gives (eta_seconds, starts_at) and of which a page on
// SSE hears at once: a first poll later in the opening burst would queue
// behind the late arrivals' joins. Bots poll as fast as they dare.
func (r *run) pollPause(v *visitor, st *queueStatus) time.Duration {
	if v.bot {
		return 200*time.Millisecond + rand.N(100*time.Millisecond)
	}
	if until := time.Until(r.origin); st.Position == 0 && until > 0 {
		return min(pagePoll*9/10+rand.N(pagePoll/5+1), until+rand.N(time.Second))
	}
	d := time.Second
	if st.EtaSeconds > 0 {
		d = time.Duration(st.EtaSeconds * float64(time.Second) / 2)
	}
	if st.BeyondStock && st.Ahead > r.cfg.AdmitPerSecond/2 {
		// Only the front of the line needs to notice quickly when a
		// released hold gives it a chance after all.
		d = r.cfg.MaxPoll
	}
	d = min(max(d, r.cfg.MinPoll), r.cfg.MaxPoll)
	d = d*4/5 + rand.N(d*2/5+1)
	if until := time.Until(r.origin); until > 0 {
		d = min(d, until+rand.N(time.Second))
	}
	return d
}

// waitSSE listens to the queue over server-sent events. ok is false when
// the stream is not offered or broke before a final state.
func (r *run) waitSSE(ctx context.Context, v *visitor, ticket string) (string, bool) {
	req, err := http.NewRequestWithContext(ctx, "GET", r.c.base+r.queuePath, nil)
	if err != nil {
		return "", false
	}
	req.Header.Set("Accept", "text/event-stream")
	r.cnt.sseStreams.Add(1)
	req.Header.Set("Authorization", "Bearer "+ticket)
	req.Header.Set("X-Forwarded-For", v.addr)
	start := time.Now()
	resp, err := r.c.sse.Do(req)
	stats := &r.c.stats[epSSE]
	if err != nil {
		if ctx.Err() == nil {
			stats.transport.Add(1)
		}
		return "", false
	}
	defer resp.Body.Close()
	stats.byStatus[resp.StatusCode%600].Add(1)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		return "", false
	}
	sc := bufio.NewScanner(resp.Body)
	first := true
	for sc.Scan() {
		line := sc.Text()
		data, ok := strings.CutPrefix(line, "data:")
		if !ok {
			continue
		}
		if first {
			stats.hist.record(time.Since(start))
			first = false
		}
		st, err := parseQueueStatus([]byte(data))
		if err != nil {
			continue
		}
		if st.Position > 0 {
			v.position = st.Position
		}
		if final(st.State) {
			return st.State, true
		}
	}
	if ctx.Err() != nil {
		return "", true
	}
	return "", false
}

// botProbe is what a bot tries while it waits: a hold with a ticket whose
// payload it edited to claim position 1, and a hold with its own ticket
// before it is admitted. Both must fail.
func (r *run) botProbe(ctx context.Context, v *visitor, ticket string, st *queueStatus) {
	r.cnt.forgedTried.Add(1)
	a := r.c.do(ctx, call{ep: epForged, method: "POST", path: r.dropPath + "/holds", body: holdBody, bearer: forgeTicket(ticket), forward: v.addr, bot: v.bot})
	if a.status >= 200 && a.status < 300 {
		r.cnt.forgedAccepted.Add(1)
	}
	// Only when clearly far from admission, so that an honest admission in
	// between is not mistaken for a breach.
	if st.State == "waiting" && st.Ahead > 2*r.cfg.AdmitPerSecond {
		r.cnt.prematureTried.Add(1)
		a := r.c.do(ctx, call{ep: epForged, method: "POST", path: r.dropPath + "/holds", body: holdBody, bearer: ticket, forward: v.addr, bot: v.bot})
		if a.status >= 200 && a.status < 300 {
			r.cnt.prematureAccepted.Add(1)
		}
	}
}

// forgeTicket edits the payload of a compact JWS to claim the front of the
// queue, keeping the original signature.
func forgeTicket(ticket string) string {
	parts := strings.Split(ticket, ".")
	if len(parts) != 3 {
		return ticket + "x"
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	var claims map[string]any
	if err != nil || json.Unmarshal(payload, &claims) != nil {
		return parts[0] + "." + parts[1] + "A." + parts[2]
	}
	changed := false
	for k, val := range claims {
		if _, isNum := val.(float64); isNum && (strings.Contains(strings.ToLower(k), "pos") || k == "p" || k == "n") {
			claims[k] = 1
			changed = true
		}
	}
	if !changed {
		claims["position"] = 1
	}
	buf, _ := json.Marshal(claims)
	return parts[0] + "." + base64.RawURLEncoding.EncodeToString(buf) + "." + parts[2]
}

type holdJSON struct {
	ID string `json:"id"`
}

// buy takes a hold, signs in and orders, as an admitted buyer does.
func (r *run) buy(ctx context.Context, v *visitor, ticket string) {
	for holdTries := 0; holdTries < 3; holdTries++ {
		holdID, ok := r.hold(ctx, v, ticket)
		if !ok {
			return
		}
		r.cnt.held.Add(1)
		session, ok := r.session(ctx, v, fmt.Sprintf("%s-%d@rush.floodgate.test", kind(v), v.id))
		if !ok {
			return
		}
		key := fmt.Sprintf("rush-%s-%d-%d", r.runID, v.id, holdTries)
		o, code := r.order(ctx, v, ticket, holdID, session, key)
		if code == "hold_expired" {
			continue
		}
		if o == nil {
			return
		}
		v.orderID, v.voucher, v.outcome, v.orderedAt = o.ID, o.Voucher, outOrdered, r.since()
		r.cnt.ordered.Add(1)
		r.c.tl.order(time.Now())
		q := o.Quantity
		if q == 0 {
			q = 1
		}
		if units := r.cnt.units.Add(q); units >= r.stock {
			r.cnt.selloutNanos.CompareAndSwap(0, int64(r.since()))
		}
		if v.double {
			r.cnt.doubleSent.Add(1)
			again, _ := r.order(ctx, v, ticket, holdID, session, key)
			if again != nil && again.ID != o.ID {
				r.cnt.idemMismatch.Add(1)
			}
		}
		if v.bot {
			r.cnt.botsOrdered.Add(1)
			r.reuseTicket(ctx, v, ticket)
		}
		r.pay(ctx, v, o.ID)
		return
	}
}

func kind(v *visitor) string {
	if v.bot {
		return "bot"
	}
	return "visitor"
}

func (r *run) hold(ctx context.Context, v *visitor, ticket string) (string, bool) {
	for notAdmitted := 0; ; {
		a := r.c.do(ctx, call{ep: epHold, method: "POST", path: r.dropPath + "/holds", body: holdBody, bearer: ticket, forward: v.addr, bot: v.bot})
		switch {
		case a.status == http.StatusCreated || a.status == http.StatusOK:
			var h holdJSON
			if json.Unmarshal(a.body, &h) != nil || h.ID == "" {
				r.cnt.unexpected.Add(1)
				v.outcome = outFailed
				return "", false
			}
			return h.ID, true
		case a.retryable():
			if ctx.Err() != nil || !sleepCtx(ctx, retryPause(&a)) {
				v.outcome = outGaveUp
				return "", false
			}
		case a.code() == "not_admitted" && notAdmitted < 5:
			// The admission the status showed may not have reached the
			// node answering yet: ask again shortly.
			notAdmitted++
			if !sleepCtx(ctx, retryPause(&a)) {
				v.outcome = outGaveUp
				return "", false
			}
		default:
			r.settle(v, a)
			return "", false
		}
	}
}

// settle records why a visitor stops after a final error answer.
func (r *run) settle(v *visitor, a answer) {
	switch a.code() {
	case "sold_out":
		v.outcome = outSoldOut
		r.cnt.soldOutTold.Add(1)
	case "limit_exceeded":
		v.outcome = outLimit
	default:
		r.cnt.unexpected.Add(1)
		v.outcome = outFailed
	}
}

func (r *run) session(ctx context.Context, v *visitor, email string) (string, bool) {
	for {
		a := r.c.do(ctx, call{ep: epSession, method: "POST", path: "/api/v1/session", body: sessionBody(email), forward: v.addr, bot: v.bot})
		switch {
		case a.status == http.StatusCreated || a.status == http.StatusOK:
			var s struct {
				Session string `json:"session"`
			}
			if json.Unmarshal(a.body, &s) != nil || s.Session == "" {
				r.cnt.unexpected.Add(1)
				v.outcome = outFailed
				return "", false
			}
			return s.Session, true
		case a.retryable():
			if ctx.Err() != nil || !sleepCtx(ctx, retryPause(&a)) {
				v.outcome = outGaveUp
				return "", false
			}
		default:
			r.settle(v, a)
			return "", false
		}
	}
}

// order places the order, retrying with the same Idempotency-Key as a real
// client must: a retry can never buy twice. It returns the order, or the
// error code that ended the attempt.
func (r *run) order(ctx context.Context, v *visitor, ticket, holdID, session, key string) (*orderJSON, string) {
	for {
		a := r.c.do(ctx, call{ep: epOrder, method: "POST", path: "/api/v1/holds/" + url.PathEscape(holdID) + "/order",
			body: orderBody(session), bearer: ticket, forward: v.addr, bot: v.bot, idemKey: key})
		switch {
		case a.status == http.StatusCreated || a.status == http.StatusOK:
			var o orderJSON
			if json.Unmarshal(a.body, &o) != nil || o.ID == "" {
				r.cnt.unexpected.Add(1)
				v.outcome = outFailed
				return nil, ""
			}
			return &o, ""
		case a.retryable():
			// The order may or may not have been committed: only the same
			// key again can tell, so keep asking until the deadline.
			if ctx.Err() != nil || !sleepCtx(ctx, retryPause(&a)) {
				v.outcome = outGaveUp
				return nil, ""
			}
		default:
			code := a.code()
			if code != "hold_expired" {
				r.settle(v, a)
			}
			return nil, code
		}
	}
}

// reuseTicket is a bot that has bought trying to buy again with the same
// ticket under another account and a fresh key. It must not get a second
// order.
func (r *run) reuseTicket(ctx context.Context, v *visitor, ticket string) {
	r.cnt.reuseTried.Add(1)
	a := r.c.do(ctx, call{ep: epForged, method: "POST", path: r.dropPath + "/holds", body: holdBody, bearer: ticket, forward: v.addr, bot: v.bot})
	if a.status != http.StatusCreated && a.status != http.StatusOK {
		return
	}
	var h holdJSON
	if json.Unmarshal(a.body, &h) != nil || h.ID == "" {
		return
	}
	sa := r.c.do(ctx, call{ep: epForged, method: "POST", path: "/api/v1/session", body: sessionBody(fmt.Sprintf("bot-%d-second@rush.floodgate.test", v.id)), forward: v.addr, bot: v.bot})
	var s struct {
		Session string `json:"session"`
	}
	if json.Unmarshal(sa.body, &s) != nil || s.Session == "" {
		return
	}
	oa := r.c.do(ctx, call{ep: epForged, method: "POST", path: "/api/v1/holds/" + url.PathEscape(h.ID) + "/order",
		body: orderBody(s.Session), bearer: ticket, forward: v.addr, bot: v.bot, idemKey: fmt.Sprintf("rush-%s-%d-reuse", r.runID, v.id)})
	if oa.status >= 200 && oa.status < 300 {
		var o orderJSON
		if json.Unmarshal(oa.body, &o) == nil && o.ID != "" && o.ID != v.orderID {
			r.cnt.reuseAccepted.Add(1)
		}
	}
}

// listOrders reads a drop's orders list. When the target is a follower its
// list can trail the leader by a moment, so while an order a visitor was
// told about is missing it asks again, for up to five seconds; what is still
// missing then is lost.
func listOrders(ctx context.Context, c *client, dropPath, token string, confirmed []string) ([]orderJSON, error) {
	deadline := time.Now().Add(5 * time.Second)
	for {
		a := c.do(ctx, call{ep: epAdmin, method: "GET", path: dropPath + "/orders", bearer: token})
		if a.status != http.StatusOK {
			return nil, fmt.Errorf("read the orders list (GET %s/orders): %s", dropPath, describe(a))
		}
		var list struct {
			Orders []orderJSON `json:"orders"`
		}
		if err := json.Unmarshal(a.body, &list); err != nil {
			return nil, fmt.Errorf("read the orders list: %w", err)
		}
		listed := make(map[string]bool, len(list.Orders))
		for _, o := range list.Orders {
			listed[o.ID] = true
		}
		missing := 0
		for _, id := range confirmed {
			if id != "" && !listed[id] {
				missing++
			}
		}
		if missing == 0 || time.Now().After(deadline) {
			return list.Orders, nil
		}
		select {
		case <-ctx.Done():
			return list.Orders, nil
		case <-time.After(250 * time.Millisecond):
		}
	}
}
