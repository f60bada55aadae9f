package rush

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/floodgate/floodgate/internal/handjson"
)

// endpoint names a kind of request, for latency and status accounting.
type endpoint int

const (
	epJoin endpoint = iota
	epStatus
	epSSE
	epHold
	epSession
	epOrder
	epDrop   // the public drop counters, polled by the monitor
	epAdmin  // admin calls: create drop, list orders
	epForged // bots presenting forged or premature tickets
	numEndpoints
)

var endpointNames = [numEndpoints]string{
	epJoin:    "join queue",
	epStatus:  "queue status",
	epSSE:     "queue SSE (time to first event)",
	epHold:    "hold",
	epSession: "session",
	epOrder:   "order",
	epDrop:    "drop counters",
	epAdmin:   "admin",
	epForged:  "forged tickets",
}

// visitorEndpoints are the endpoints a buyer's browser calls; p50_ms and
// p99_ms of the summary are taken over them.
var visitorEndpoints = []endpoint{epJoin, epStatus, epHold, epSession, epOrder}

// endpointStats is the latency histogram and the answer counts of one endpoint.
type endpointStats struct {
	hist      histogram
	byStatus  [600]atomic.Int64 // index 0: transport errors
	transport atomic.Int64
}

// client is the HTTP client shared by every visitor: a bounded number of
// requests in flight (and with it of connections).
//
// Requests are sent by a fixed pool of workers per lane, so the deep stack
// of an HTTP call lives in a few goroutines, not in every waiting visitor.
// Requests wait for a worker in one of three lanes: joins, the polls of
// visitors in line (status), and buying requests (hold, session, order).
// Each real browser has its own connection, so a buyer's order never
// queues behind other people's polls, nor a waiting visitor's poll behind a
// stranger's join; the lanes keep that true of the generator too (in the
// opening burst, a shared lane held an early visitor's first poll seconds
// behind the late arrivals' joins). The drop monitor and admin calls bypass
// the lanes. The time a request waited for a worker is recorded per lane,
// and next to it the time of its exchange (sent to answered): a long wait
// with exchanges that are mostly the server's time (servertimes.go, the
// server's own figures) means the workers were waiting on the server; with
// exchanges much longer than the server's time, that time went to the
// generator or between the two.
//
// Each worker keeps one keep-alive connection and speaks HTTP/1.1 on it by
// hand, with buffers it reuses for every request (wire.go), so a request
// costs no goroutines, channels, header maps or connection pool, and the
// generator's CPU goes to the visitors it simulates. The monitor's and the
// admin calls go through fasthttp's HostClient, the queue's event streams
// (SSE, a long-lived body read line by line) through net/http.
type client struct {
	base     string
	end      wireEnd              // where the lanes' workers connect (wire.go)
	hc       *fasthttp.HostClient // the requests that bypass the lanes
	sse      *http.Client         // the queue's event streams; no timeout: a stream lasts as long as the wait
	joinLane chan *job
	waitLane chan *job
	buyLane  chan *job
	botLane  chan *job
	done     chan struct{}
	direct   sync.Pool // *exchange for the requests that bypass the lanes
	stats    [numEndpoints]endpointStats
	reqs     atomic.Int64
	// The time visitors' requests waited for a slot in the generator, per
	// lane, and the same for the bots' lane.
	joinWait   histogram
	statusWait histogram
	buyWait    histogram
	botWait    histogram
	// The time of the exchange of the requests of each lane: from the
	// worker sending the request to having the answer (answer.latency).
	joinExchange   histogram
	statusExchange histogram
	buyExchange    histogram
	botExchange    histogram
	// tl counts answers over time; set once the opening is known, before
	// the first visitor arrives (nil before: nothing is counted).
	tl *timeline
}

// newClient starts the workers: inFlight in each of the visitors' three
// lanes and a quarter of that for the bots. The connection limit is that many, plus a
// few for the monitor and admin calls, which wait for a free connection
// rather than fail.
func newClient(base string, inFlight int) *client { return newClientFor(base, inFlight, 0) }

// newClientFor is newClient with room in the joins' and the waiting
// visitors' lanes for backlog requests: a rush's visitors are put there by
// its arrivals and its wheel, which must not wait for a worker.
func newClientFor(base string, inFlight, backlog int) *client {
	c := &client{
		base:     strings.TrimRight(base, "/"),
		joinLane: make(chan *job, backlog),
		waitLane: make(chan *job, backlog),
		buyLane:  make(chan *job),
		botLane:  make(chan *job),
		done:     make(chan struct{}),
	}
	botWorkers := max(1, inFlight/4)
	addr, tls := "", false
	if u, err := url.Parse(c.base); err == nil {
		// The dialer below is ours, so the default port is added here.
		tls = u.Scheme == "https"
		addr = fasthttp.AddMissingPort(u.Host, tls)
		c.end = wireEnd{addr: addr, host: u.Host, prefix: u.EscapedPath(), tls: tls}
	}
	c.hc = &fasthttp.HostClient{
		Addr:                      addr,
		IsTLS:                     tls,
		MaxConns:                  3*inFlight + botWorkers + directConns,
		MaxConnWaitTimeout:        requestTimeout,
		MaxIdleConnDuration:       90 * time.Second,
		MaxResponseBodySize:       maxAnswer,
		ConnPoolStrategy:          fasthttp.LIFO,
		NoDefaultUserAgentHeader:  true,
		DisablePathNormalizing:    true, // paths are escaped already: send them as they are
		RetryIfErr:                retryIfErr,
		MaxIdemponentCallAttempts: 2,
		DialTimeout: func(addr string, timeout time.Duration) (net.Conn, error) {
			d := net.Dialer{Timeout: min(timeout, 5*time.Second), KeepAlive: 30 * time.Second}
			return d.Dial("tcp", addr)
		},
	}
	c.sse = &http.Client{Transport: &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}}
	c.direct.New = func() any { return new(exchange) }
	for range inFlight {
		go c.work(c.joinLane, &c.joinWait, &c.joinExchange, laneJoin)
		go c.work(c.waitLane, &c.statusWait, &c.statusExchange, laneInLine)
		go c.work(c.buyLane, &c.buyWait, &c.buyExchange, laneInLine)
	}
	for range botWorkers {
		go c.work(c.botLane, &c.botWait, &c.botExchange, laneBots)
	}
	return c
}

// directConns are the connections beyond the workers' for the requests
// that bypass the lanes (the drop monitor, admin calls).
const directConns = 16

// maxAnswer bounds the body of one answer (the orders list of a large drop
// is the largest the generator reads).
const maxAnswer = 64 << 20

// retryIfErr sends a request again, once, when the connection was closed
// or reset before any answer came: a keep-alive connection the server
// closed while it was idle, so the request was not taken. Timeouts and
// other failures go back to the visitor, who retries as a browser would.
func retryIfErr(_ *fasthttp.Request, _ int, err error) (resetTimeout, retry bool) {
	return false, errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// requestTimeout bounds one request, as the browser of a visitor would.
const requestTimeout = 30 * time.Second

// job is a request handed to a worker, which puts the answer in ans and
// then says so on done. A visitor keeps one job for all its requests
// (newJob), so what it hands over and gets back is a pointer: the frames of
// a waiting visitor's goroutine stay small, and its stack need not grow.
//
// A visitor that waits in line is not a goroutine but its job (rush.go,
// wheel.go): then is set, and the worker that has the answer calls it
// instead of saying so on done; it decides the visitor's next request and
// puts the job into the wheel until then.
type job struct {
	ctx    context.Context
	cl     call
	queued time.Time
	ans    answer
	done   chan struct{}
	then   func(*job)
	// The visitor a job carries between its requests, where it is in its
	// visit, its ticket and its last join attempt (rush.go).
	v       *visitor
	phase   phase
	attempt int
	ticket  string
	// lane and due are where and when the wheel hands the job over.
	lane chan *job
	due  int64
	// st is the last queue status a visitor was told (join, wait).
	st queueStatus
	// timer paces a visitor's retries and polls (sleep): one per visitor,
	// not one per pause.
	timer *time.Timer
}

// jobs recycles jobs: each is used by one caller at a time, and its done
// channel is always drained before it goes back.
var jobs = sync.Pool{New: func() any { return &job{done: make(chan struct{}, 1)} }}

// newJob returns a job for one caller's requests; give it back with free.
func newJob() *job { return jobs.Get().(*job) }

// free gives j back; nothing of it may be used after.
func (j *job) free() {
	done, timer := j.done, j.timer
	*j = job{done: done, timer: timer}
	jobs.Put(j)
}

// sleep is sleepCtx with j's timer.
func (j *job) sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	if j.timer == nil {
		j.timer = time.NewTimer(d)
	} else {
		j.timer.Reset(d)
	}
	select {
	case <-j.timer.C:
		return true
	case <-ctx.Done():
		j.timer.Stop()
		return false
	}
}

// request sets the request of j: the fields one at a time, so that the
// caller's frame holds no copy of a call.
//
//go:noinline
func (j *job) request(ep endpoint, method, path, bearer, forward string, bot bool, body any) {
	j.cl = call{}
	j.cl.ep, j.cl.method, j.cl.path, j.cl.bearer, j.cl.forward, j.cl.bot, j.cl.body = ep, method, path, bearer, forward, bot, body
}

// exchange is the request and response a worker reuses for every request
// it sends.
type exchange struct {
	req  fasthttp.Request
	resp fasthttp.Response
	uri  []byte
	auth []byte
	// onWire says the requests go over wire, the worker's own connection.
	onWire bool
	wire   wire
}

// laneKind is what the timeline counts a lane's waits as.
type laneKind int

const (
	laneInLine laneKind = iota // visitors with a ticket: status polls, buying
	laneJoin                   // visitors' joins
	laneBots                   // not in the timeline
)

// work sends the requests of lane, recording how long each waited for a
// worker in wait and how long its exchange took in exchanges (the latency
// send measured anyway: no clock read of its own). Every request is in
// both, a request that failed or was given up with its exchange's time so
// far (0 if it was never sent).
func (c *client) work(lane chan *job, wait, exchanges *histogram, kind laneKind) {
	x := &exchange{onWire: true}
	defer x.wire.close()
	for {
		select {
		case j := <-lane:
			now := time.Now()
			waited := now.Sub(j.queued)
			wait.record(waited)
			if kind != laneBots {
				c.tl.waited(now, waited, kind == laneJoin)
			}
			j.ans = c.send(j.ctx, x, &j.cl)
			exchanges.record(j.ans.latency)
			if j.then != nil {
				j.then(j) // j is not ours after this
			} else {
				j.done <- struct{}{}
			}
		case <-c.done:
			return
		}
	}
}

func (c *client) close() {
	close(c.done)
	c.hc.CloseIdleConnections()
	c.sse.CloseIdleConnections()
}

// call is one request: the headers a visitor sends.
type call struct {
	ep      endpoint
	method  string
	path    string
	body    any // a []byte is sent as it is; anything else as JSON
	bearer  string
	forward string // X-Forwarded-For: the visitor's own address
	idemKey string
	bot     bool // sent by a bot: the bots' lane
}

// answer is what came back. status 0 means the request failed in transport.
type answer struct {
	status int
	body   []byte // nil for a queue answer read into queue
	// queue is a 200 or 201 answer of the queue (join, status) as read
	// by parseQueueStatus, and queueErr its error.
	queue      queueStatus
	queueErr   error
	retryAfter time.Duration
	err        error
	latency    time.Duration
}

// code returns the error code of an API error answer, or "".
func (a *answer) code() string {
	if a.status < 300 || len(a.body) == 0 {
		return ""
	}
	return errorCode(a.body)
}

// retryable reports whether a real client would try again: transport
// errors, 429, and every 5xx.
func (a *answer) retryable() bool {
	return a.status == 0 || a.status == http.StatusTooManyRequests || a.status >= 500
}

// laneOf is the lane of a visitor's request: the joins', the waiting
// visitors' polls' or the buyers'; nil for the monitor and admin calls,
// which bypass them.
func (c *client) laneOf(ep endpoint) chan *job {
	switch ep {
	case epJoin:
		return c.joinLane
	case epStatus, epForged:
		return c.waitLane
	case epHold, epSession, epOrder:
		return c.buyLane
	}
	return nil
}

// do sends a request through its lane and waits for the answer. Bots have
// a lane of their own with a quarter of the workers: they run on their own
// machines, so their requests do not queue in front of the visitors' (and
// the farm's connections are few).
func (c *client) do(ctx context.Context, cl call) answer {
	j := newJob()
	j.cl = cl
	a := *c.doJob(ctx, j)
	j.free()
	return a
}

// doJob is do for the request in j.cl: the answer it returns is j.ans,
// valid until j is used again.
func (c *client) doJob(ctx context.Context, j *job) *answer {
	lane := c.laneOf(j.cl.ep)
	if j.cl.bot && lane != nil {
		lane = c.botLane
	}
	if lane == nil {
		c.sendDirect(ctx, j)
		return &j.ans
	}
	j.ctx, j.queued = ctx, time.Now()
	select {
	case lane <- j:
		<-j.done
	case <-ctx.Done():
		j.ans = answer{}
		j.ans.err = ctx.Err()
	}
	return &j.ans
}

// sendDirect sends j.cl without a lane (a frame of its own, so that the
// lanes' callers keep small ones).
//
//go:noinline
func (c *client) sendDirect(ctx context.Context, j *job) {
	x := c.direct.Get().(*exchange)
	j.ans = c.send(ctx, x, &j.cl)
	c.direct.Put(x)
}

// send performs one request with the request and response of x.
func (c *client) send(ctx context.Context, x *exchange, cl *call) answer {
	if err := ctx.Err(); err != nil {
		return answer{err: err}
	}
	if x.onWire {
		return c.sendWire(ctx, x, cl)
	}
	req, resp := &x.req, &x.resp
	req.Reset()
	x.uri = append(append(x.uri[:0], c.base...), cl.path...)
	req.SetRequestURIBytes(x.uri)
	req.Header.SetMethod(cl.method)
	req.Header.SetNoDefaultContentType(true)
	req.Header.Set("Accept", "application/json")
	if cl.bearer != "" {
		x.auth = append(append(x.auth[:0], "Bearer "...), cl.bearer...)
		req.Header.SetBytesV("Authorization", x.auth)
	}
	if cl.forward != "" {
		req.Header.Set("X-Forwarded-For", cl.forward)
	}
	if cl.idemKey != "" {
		req.Header.Set("Idempotency-Key", cl.idemKey)
	}
	if cl.body != nil {
		body, err := cl.bodyBytes()
		if err != nil {
			return answer{err: err}
		}
		req.Header.SetContentType("application/json")
		req.SetBodyRaw(body)
	}
	deadline := time.Now().Add(requestTimeout)
	ctxDeadline, hasDeadline := ctx.Deadline()
	if hasDeadline && ctxDeadline.Before(deadline) {
		deadline = ctxDeadline
	}
	start := time.Now()
	err := c.hc.DoDeadline(req, resp, deadline)
	end := time.Now()
	a := answer{latency: end.Sub(start)}
	switch {
	case err == nil:
		a.status = resp.StatusCode()
		if isQueueAnswer(cl.ep, a.status) {
			// Most answers are the queue's: read here, from the
			// worker's response, they need no copy of the body.
			a.queue, a.queueErr = parseQueueStatus(resp.Body())
		} else {
			// resp is the worker's: the body is copied before the next request.
			a.body = append([]byte(nil), resp.Body()...)
		}
		if v := resp.Header.Peek("Retry-After"); len(v) > 0 {
			a.retryAfter = parseRetryAfter(string(v))
		}
	case hasDeadline && errors.Is(err, fasthttp.ErrTimeout) && !time.Now().Before(ctxDeadline):
		// The request's deadline was the context's: the visitor gave up
		// (the rush ended), the request did not fail.
		return answer{err: context.DeadlineExceeded, latency: a.latency}
	}
	return c.account(ctx, cl, a, err, end)
}

// sendWire is send over the worker's own connection. The deadline of a
// request is the rush's end or 29 to 30 s from now (a whole second, so
// that the connection's deadline moves once a second, not per request).
func (c *client) sendWire(ctx context.Context, x *exchange, cl *call) answer {
	start := time.Now()
	deadline := start.Add(requestTimeout).Truncate(time.Second)
	ctxDeadline, hasDeadline := ctx.Deadline()
	if hasDeadline && ctxDeadline.Before(deadline) {
		deadline = ctxDeadline
	}
	status, retryAfter, body, err := x.wire.roundTrip(&c.end, cl, deadline)
	end := time.Now()
	a := answer{latency: end.Sub(start)}
	switch {
	case err == nil:
		a.status, a.retryAfter = status, retryAfter
		if isQueueAnswer(cl.ep, a.status) {
			a.queue, a.queueErr = parseQueueStatus(body)
		} else {
			a.body = append([]byte(nil), body...)
		}
	case hasDeadline && isTimeout(err) && !end.Before(ctxDeadline):
		return answer{err: context.DeadlineExceeded, latency: a.latency}
	}
	return c.account(ctx, cl, a, err, end)
}

// isQueueAnswer reports whether an answer is a queue status (of a join or
// a poll), which send reads into answer.queue.
func isQueueAnswer(ep endpoint, status int) bool {
	return (ep == epJoin || ep == epStatus) && (status == http.StatusOK || status == http.StatusCreated)
}

// account records an answer that came at end in the endpoint's statistics.
func (c *client) account(ctx context.Context, cl *call, a answer, err error, end time.Time) answer {
	c.reqs.Add(1)
	c.tl.request(cl.ep, end)
	st := &c.stats[cl.ep]
	if err != nil {
		a.status = 0
		a.err = err
		if ctx.Err() == nil {
			st.transport.Add(1)
		}
		return a
	}
	st.hist.record(a.latency)
	st.byStatus[a.status%600].Add(1)
	return a
}

func parseRetryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return time.Until(t)
	}
	return 0
}

// statusCount sums the answers with a status in [lo, hi] over every endpoint.
func (c *client) statusCount(lo, hi int) int64 {
	var n int64
	for ep := range c.stats {
		for s := lo; s <= hi && s < 600; s++ {
			n += c.stats[ep].byStatus[s].Load()
		}
	}
	return n
}

func (c *client) transportErrors() int64 {
	var n int64
	for ep := range c.stats {
		n += c.stats[ep].transport.Load()
	}
	return n
}

// sleepCtx sleeps for d or until ctx is done; it reports whether the full
// time passed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// bodyBytes is the request body: a []byte as it is, anything else as JSON.
func (cl *call) bodyBytes() ([]byte, error) {
	if b, ok := cl.body.([]byte); ok {
		return b, nil
	}
	return json.Marshal(cl.body)
}

// The bodies visitors send most, encoded without reflection.
var holdBody = []byte(`{"quantity":1}`)

func orderBody(session string) []byte { return jsonObject("session", session) }

func sessionBody(email string) []byte { return jsonObject("email", email) }

// jsonObject encodes {"key":"value"}; value is escaped as JSON requires.
func jsonObject(key, value string) []byte {
	b := make([]byte, 0, len(key)+len(value)+8)
	b = append(b, `{"`...)
	b = append(b, key...)
	b = append(b, `":`...)
	b = handjson.AppendString(b, value)
	return append(b, '}')
}
