package rush

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
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

// client is the HTTP client shared by every visitor: one Transport, so
// connections are reused, and a bounded number of requests in flight (and
// with it of connections).
//
// Requests are sent by a fixed pool of workers per lane, so the deep stack
// of an HTTP call lives in a few goroutines, not in every waiting visitor.
// Requests wait for a worker in one of two lanes: waiting-room requests (join,
// status, bot probes) and buying requests (hold, session, order). Each real
// browser has its own connection, so a buyer's order never queues behind
// other people's polls; the lanes keep that true of the generator too. The
// drop monitor and admin calls bypass both. The time spent waiting for a
// slot is recorded: when it grows, the generator is the bottleneck.
type client struct {
	base      string
	hc        *http.Client
	waitLane  chan job
	buyLane   chan job
	done      chan struct{}
	stats     [numEndpoints]endpointStats
	reqs      atomic.Int64
	queueWait histogram // time requests waited for a slot in the generator
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
		hc:       &http.Client{Transport: tr, Timeout: 30 * time.Second},
		waitLane: make(chan job),
		buyLane:  make(chan job),
		done:     make(chan struct{}),
	}
	for range inFlight {
		go c.work(c.waitLane)
		go c.work(c.buyLane)
	}
	return c
}

// job is a request handed to a worker; the answer comes back on reply.
type job struct {
	ctx    context.Context
	cl     call
	queued time.Time
	reply  chan answer
}

func (c *client) work(lane chan job) {
	for {
		select {
		case j := <-lane:
			c.queueWait.record(time.Since(j.queued))
			j.reply <- c.send(j.ctx, j.cl)
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
	body    any
	bearer  string
	forward string // X-Forwarded-For: the visitor's own address
	idemKey string
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

// do sends a request through its lane and waits for the answer.
func (c *client) do(ctx context.Context, cl call) answer {
	var lane chan job
	switch cl.ep {
	case epJoin, epStatus, epForged:
		lane = c.waitLane
	case epHold, epSession, epOrder:
		lane = c.buyLane
	default:
		return c.send(ctx, cl)
	}
	j := job{ctx: ctx, cl: cl, queued: time.Now(), reply: make(chan answer, 1)}
	select {
	case lane <- j:
	case <-ctx.Done():
		return answer{err: ctx.Err()}
	}
	return <-j.reply
}

// send performs one request on the calling goroutine.
func (c *client) send(ctx context.Context, cl call) answer {
	var body io.Reader
	if cl.body != nil {
		buf, err := json.Marshal(cl.body)
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
