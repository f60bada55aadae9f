package rush

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
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
// Requests wait for a worker in one of two lanes: waiting-room requests (join,
// status, bot probes) and buying requests (hold, session, order). Each real
// browser has its own connection, so a buyer's order never queues behind
// other people's polls; the lanes keep that true of the generator too. The
// drop monitor and admin calls bypass both. The time spent waiting for a
// slot is recorded: when it grows, the generator is the bottleneck.
//
// Against a plain http:// target each worker owns one keep-alive
// connection and speaks HTTP/1.1 on it itself (rawconn.go): no goroutines,
// channels or header maps per request, which is most of what net/http's
// client costs, so the generator's CPU goes to the visitors it simulates.
// Other targets (https) go through net/http.
type client struct {
	base      string
	host      string // host:port of a plain http:// base; "" sends through hc
	hc        *http.Client
	waitLane  chan job
	buyLane   chan job
	botLane   chan job
	done      chan struct{}
	stats     [numEndpoints]endpointStats
	reqs      atomic.Int64
	queueWait histogram // time visitors' requests waited for a slot in the generator
	botWait   histogram // the same for bots
}

func newClient(base string, inFlight int) *client {
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        inFlight*2 + 16,
		MaxIdleConnsPerHost: inFlight*2 + 16,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}
	c := &client{
		base:     strings.TrimRight(base, "/"),
		hc:       &http.Client{Transport: tr, Timeout: requestTimeout},
		waitLane: make(chan job),
		buyLane:  make(chan job),
		botLane:  make(chan job),
		done:     make(chan struct{}),
	}
	if u, err := url.Parse(c.base); err == nil && u.Scheme == "http" && u.Host != "" && (u.Path == "" || u.Path == "/") {
		c.host = u.Host
	}
	for range inFlight {
		go c.work(c.waitLane, &c.queueWait)
		go c.work(c.buyLane, &c.queueWait)
	}
	for range max(1, inFlight/4) {
		go c.work(c.botLane, &c.botWait)
	}
	return c
}

// requestTimeout bounds one request, as the browser of a visitor would.
const requestTimeout = 30 * time.Second

// job is a request handed to a worker; the answer comes back on reply.
type job struct {
	ctx    context.Context
	cl     call
	queued time.Time
	reply  chan answer
}

// replies recycles the answer channels of jobs: each is used by one
// request at a time and always drained before it goes back.
var replies = sync.Pool{New: func() any { return make(chan answer, 1) }}

func (c *client) work(lane chan job, wait *histogram) {
	var rc *rawConn
	defer func() {
		if rc != nil {
			rc.close()
		}
	}()
	for {
		select {
		case j := <-lane:
			wait.record(time.Since(j.queued))
			if c.host == "" {
				j.reply <- c.send(j.ctx, j.cl)
				continue
			}
			if rc == nil {
				rc = &rawConn{host: c.host}
			}
			j.reply <- c.sendRaw(j.ctx, rc, j.cl)
		case <-c.done:
			return
		}
	}
}

func (c *client) close() {
	close(c.done)
	c.hc.CloseIdleConnections()
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
	status     int
	body       []byte
	retryAfter time.Duration
	err        error
	latency    time.Duration
}

// code returns the error code of an API error answer, or "".
func (a answer) code() string {
	if a.status < 300 || len(a.body) == 0 {
		return ""
	}
	var e struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	if json.Unmarshal(a.body, &e) != nil {
		return ""
	}
	return e.Error.Code
}

// retryable reports whether a real client would try again: transport
// errors, 429, and every 5xx.
func (a answer) retryable() bool {
	return a.status == 0 || a.status == http.StatusTooManyRequests || a.status >= 500
}

// laneOf is the lane of a visitor's request: the waiting room's or the
// buyer's; nil for the monitor and admin calls, which bypass both.
func (c *client) laneOf(ep endpoint) chan job {
	switch ep {
	case epJoin, epStatus, epForged:
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
	lane := c.laneOf(cl.ep)
	if cl.bot && lane != nil {
		lane = c.botLane
	}
	if lane == nil {
		return c.send(ctx, cl)
	}
	reply := replies.Get().(chan answer)
	j := job{ctx: ctx, cl: cl, queued: time.Now(), reply: reply}
	select {
	case lane <- j:
	case <-ctx.Done():
		replies.Put(reply)
		return answer{err: ctx.Err()}
	}
	a := <-reply
	replies.Put(reply)
	return a
}

// send performs one request on the calling goroutine.
func (c *client) send(ctx context.Context, cl call) answer {
	var body io.Reader
	if cl.body != nil {
		buf, err := cl.bodyBytes()
		if err != nil {
			return answer{err: err}
		}
		body = bytes.NewReader(buf)
	}
	req, err := http.NewRequestWithContext(ctx, cl.method, c.base+cl.path, body)
	if err != nil {
		return answer{err: err}
	}
	if cl.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if cl.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+cl.bearer)
	}
	if cl.forward != "" {
		req.Header.Set("X-Forwarded-For", cl.forward)
	}
	if cl.idemKey != "" {
		req.Header.Set("Idempotency-Key", cl.idemKey)
	}
	start := time.Now()
	resp, err := c.hc.Do(req)
	var a answer
	if err == nil {
		a.body, err = io.ReadAll(io.LimitReader(resp.Body, 64<<20))
		resp.Body.Close()
		a.status = resp.StatusCode
		a.retryAfter = parseRetryAfter(resp.Header.Get("Retry-After"))
	}
	a.latency = time.Since(start)
	return c.account(ctx, cl, a, err)
}

// account records an answer in the endpoint's statistics.
func (c *client) account(ctx context.Context, cl call, a answer, err error) answer {
	c.reqs.Add(1)
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
