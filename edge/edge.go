package edge

import (
	"context"
	"crypto/ed25519"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/floodgate/floodgate"
	"github.com/floodgate/floodgate/internal/api"
	"github.com/floodgate/floodgate/internal/client"
	"github.com/floodgate/floodgate/internal/clientaddr"
	"github.com/floodgate/floodgate/internal/defaults"
	"github.com/floodgate/floodgate/internal/procmetrics"
	"github.com/floodgate/floodgate/internal/sse"
	"github.com/floodgate/floodgate/queue"
)

// Config configures an edge.
type Config struct {
	// Upstreams are the base URLs of cluster nodes (any members; more than
	// one so that the edge survives losing one).
	Upstreams []string
	// JWKSRefresh is how often the ticket keys are fetched again (5 min).
	JWKSRefresh time.Duration
	// StreamTimeout drops an admission stream that has been silent this long
	// and tries another node (20 s; the nodes send a keepalive every 15 s).
	StreamTimeout time.Duration
	// FirstEventTimeout bounds how long a request waits for the first state
	// of a drop this edge did not follow yet (5 s).
	FirstEventTimeout time.Duration
	// MaxDrops bounds the drops followed at once (1000).
	MaxDrops int
	// Trusted are the proxies in front of the edge whose X-Forwarded-For
	// and X-Forwarded-Proto it believes; loopback always is.
	Trusted []netip.Prefix
	// StreamsPerIP caps the open queue event streams per client address
	// (IPv6: per /64); 1024 when zero.
	StreamsPerIP int
	// MetricsToken is the bearer token /metrics needs; without one the
	// edge serves no metrics on its public address.
	MetricsToken string
	// Registry holds the edge's metrics; a new one with the Go runtime's
	// and the process's collectors when nil.
	Registry *prometheus.Registry
	Logger   *slog.Logger
	Now      func() time.Time
}

// Edge is a stateless front process. It implements http.Handler.
type Edge struct {
	cfg       Config
	log       *slog.Logger
	upstreams []*url.URL
	preferred atomic.Int64 // index of the upstream that answered last
	ctx       context.Context
	stop      context.CancelFunc

	client *http.Client // short calls (JWKS)
	stream *http.Client // admission streams (no overall timeout)
	proxy  http.Handler

	keys atomic.Pointer[keyset]

	trusted clientaddr.Trusted
	streams *clientaddr.Streams

	mu        sync.Mutex
	followers map[string]*follower
	cancels   map[string]context.CancelFunc

	mux     *http.ServeMux
	metrics *metrics
}

type keyset struct {
	jwks     json.RawMessage
	verifier *queue.Verifier
}

type metrics struct {
	requests         *prometheus.CounterVec
	forwarded        prometheus.Counter
	streamReconnects prometheus.Counter
	sse              prometheus.Gauge
}

// New returns an edge; call Run to start following the cluster. Blank
// entries of Upstreams (from a list such as "a,,b") are skipped.
func New(cfg Config) (*Edge, error) {
	defaults.Positive(&cfg.JWKSRefresh, 5*time.Minute)
	defaults.Positive(&cfg.StreamTimeout, 20*time.Second)
	defaults.Positive(&cfg.FirstEventTimeout, 5*time.Second)
	defaults.Positive(&cfg.MaxDrops, 1000)
	defaults.Positive(&cfg.StreamsPerIP, 1024)
	if cfg.Registry == nil {
		// An edge is a process of its own: its /metrics give the Go
		// runtime's and the process's figures beside the edge's.
		cfg.Registry = prometheus.NewRegistry()
		procmetrics.Register(cfg.Registry)
	}
	defaults.Logging(&cfg.Logger, &cfg.Now)
	e := &Edge{
		cfg:       cfg,
		log:       cfg.Logger.With("component", "edge"),
		followers: map[string]*follower{},
		cancels:   map[string]context.CancelFunc{},
		trusted:   clientaddr.NewTrusted(cfg.Trusted),
		streams:   clientaddr.NewStreams(cfg.StreamsPerIP),
	}
	for _, raw := range cfg.Upstreams {
		if raw = strings.TrimSpace(raw); raw == "" {
			continue
		}
		u, err := url.Parse(strings.TrimRight(raw, "/"))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("cluster node %q must be a base URL such as http://10.0.0.1:8080", raw)
		}
		e.upstreams = append(e.upstreams, u)
	}
	if len(e.upstreams) == 0 {
		return nil, errors.New("an edge needs at least one cluster node: pass --cluster http://node:8080")
	}
	e.ctx, e.stop = context.WithCancel(context.Background())
	tr := &http.Transport{MaxIdleConnsPerHost: 512, IdleConnTimeout: 90 * time.Second, ResponseHeaderTimeout: 30 * time.Second}
	e.client = &http.Client{Transport: tr, Timeout: 5 * time.Second}
	e.stream = &http.Client{Transport: &http.Transport{ResponseHeaderTimeout: 5 * time.Second}}
	f := promauto.With(cfg.Registry)
	e.metrics = &metrics{
		requests: f.NewCounterVec(prometheus.CounterOpts{
			Name: "floodgate_edge_requests_total", Help: "Requests answered by the edge itself, by route and status code.",
		}, []string{"route", "code"}),
		forwarded:        f.NewCounter(prometheus.CounterOpts{Name: "floodgate_edge_forwarded_total", Help: "Requests passed to the cluster."}),
		streamReconnects: f.NewCounter(prometheus.CounterOpts{Name: "floodgate_edge_stream_reconnects_total", Help: "Admission streams that ended and were opened again."}),
		sse:              f.NewGauge(prometheus.GaugeOpts{Name: "floodgate_edge_sse_streams", Help: "Open queue event streams to visitors."}),
	}
	f.NewGaugeFunc(prometheus.GaugeOpts{Name: "floodgate_edge_drops_followed", Help: "Drops whose admission stream this edge follows."}, func() float64 {
		e.mu.Lock()
		defer e.mu.Unlock()
		return float64(len(e.followers))
	})
	e.proxy = e.newProxy(tr)
	e.mux = e.routes()
	return e, nil
}

// upstream returns the base URL to try on the given attempt: the one that
// answered last first, then the others in turn.
func (e *Edge) upstream(attempt int) string {
	i := (int(e.preferred.Load()) + attempt) % len(e.upstreams)
	return e.upstreams[i].String()
}

// Run fetches the ticket keys and keeps them fresh until ctx ends; it also
// stops following drops nobody asks about.
func (e *Edge) Run(ctx context.Context) {
	defer e.stop()
	refresh := time.NewTimer(0)
	defer refresh.Stop()
	sweep := time.NewTicker(time.Minute)
	defer sweep.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-refresh.C:
			if err := e.fetchKeys(ctx); err != nil {
				e.log.Warn("fetching the ticket keys from the cluster failed; retrying", "err", err)
				refresh.Reset(time.Second)
			} else {
				refresh.Reset(e.cfg.JWKSRefresh)
			}
		case <-sweep.C:
			e.sweep(10 * time.Minute)
		}
	}
}

// Close stops every admission stream.
func (e *Edge) Close() { e.stop() }

// Ready reports whether the edge has the ticket keys.
func (e *Edge) Ready() bool { return e.keys.Load() != nil }

// fetchKeys reads the cluster's JWKS, from any node that answers.
func (e *Edge) fetchKeys(ctx context.Context) error {
	var last error
	for attempt := range e.upstreams {
		base := e.upstream(attempt)
		ks, err := e.fetchKeysFrom(ctx, base)
		if err == nil {
			e.keys.Store(ks)
			return nil
		}
		last = fmt.Errorf("%s: %w", base, err)
	}
	return last
}

func (e *Edge) fetchKeysFrom(ctx context.Context, base string) (*keyset, error) {
	c := &client.Client{BaseURL: base, HTTP: e.client}
	resp, err := c.Do(ctx, http.MethodGet, "/.well-known/jwks.json", nil, nil)
	if err != nil {
		return nil, err
	}
	if resp.Status != http.StatusOK {
		return nil, fmt.Errorf("JWKS: %w", client.ParseError(resp))
	}
	buf := resp.Body
	var set queue.JWKS
	if err := json.Unmarshal(buf, &set); err != nil {
		return nil, fmt.Errorf("JWKS is not valid JSON: %w", err)
	}
	for _, k := range set.Keys {
		pub, ok := k.PublicKey()
		if !ok {
			continue
		}
		if old := e.keys.Load(); old != nil && string(old.jwks) == string(buf) {
			return old, nil // same keys: keep the cache of verified tickets
		}
		return &keyset{jwks: buf, verifier: queue.NewVerifier(ed25519.PublicKey(pub))}, nil
	}
	return nil, errors.New("the JWKS holds no Ed25519 key")
}

// ServeHTTP implements http.Handler.
func (e *Edge) ServeHTTP(w http.ResponseWriter, r *http.Request) { e.mux.ServeHTTP(w, r) }

func (e *Edge) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", e.healthz)
	mux.HandleFunc("GET /metrics", e.metricsHandler(promhttp.HandlerFor(e.cfg.Registry, promhttp.HandlerOpts{})))
	mux.HandleFunc("GET /.well-known/jwks.json", e.jwks)
	mux.HandleFunc("GET /api/v1/drops/{drop}", e.getDrop)
	mux.HandleFunc("GET /api/v1/drops/{drop}/queue", e.queueStatus)
	mux.Handle("/", e.proxy)
	return mux
}

// metricsHandler serves the metrics to holders of the metrics token only:
// they tell an attacker how the sale is doing and where it hurts.
func (e *Edge) metricsHandler(h http.Handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if e.cfg.MetricsToken == "" {
			api.WriteError(w, floodgate.Errorf(floodgate.ENotFound, "This edge serves no metrics: start it with the admin token (FLOODGATE_ADMIN_TOKEN) to read them."))
			return
		}
		tok := api.BearerToken(r)
		if tok == "" || subtle.ConstantTimeCompare([]byte(tok), []byte(e.cfg.MetricsToken)) != 1 {
			api.WriteError(w, floodgate.Errorf(floodgate.EUnauthenticated, "The metrics need \"Authorization: Bearer <admin token>\"."))
			return
		}
		h.ServeHTTP(w, r)
	}
}

func (e *Edge) healthz(w http.ResponseWriter, r *http.Request) {
	if !e.Ready() {
		api.WriteErrorRetry(w, floodgate.Errorf(floodgate.EUnavailable, "This edge has not reached the cluster yet."), 1)
		return
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"status": "ok", "edge": true})
}

func (e *Edge) jwks(w http.ResponseWriter, r *http.Request) {
	ks := e.keys.Load()
	if ks == nil {
		e.count("jwks", http.StatusServiceUnavailable)
		api.WriteError(w, floodgate.Errorf(floodgate.EUnavailable, "This edge has not reached the cluster yet; retry in a moment."))
		return
	}
	e.count("jwks", http.StatusOK)
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(ks.jwks)
}

func (e *Edge) count(route string, status int) {
	e.metrics.requests.WithLabelValues(route, fmt.Sprint(status)).Inc()
}

func (e *Edge) writeErr(w http.ResponseWriter, route string, err error) {
	e.count(route, api.Status(floodgate.ErrorCode(err)))
	api.WriteError(w, err)
}

func (e *Edge) getDrop(w http.ResponseWriter, r *http.Request) {
	f, err := e.follow(r.Context(), r.PathValue("drop"))
	if err != nil {
		e.writeErr(w, "drop", err)
		return
	}
	ev, _ := f.state()
	d := ev.Public
	// The state of a drop that has not started depends on the clock.
	q := ev.Queue
	d.State = q.DropState(e.cfg.Now().UnixMilli())
	e.count("drop", http.StatusOK)
	api.WriteJSON(w, http.StatusOK, d)
}

// ticket verifies the ticket of a request with the cluster's public key.
func (e *Edge) ticket(r *http.Request, drop string) (*queue.Claims, error) {
	tok, err := api.Ticket(r)
	if err != nil {
		return nil, err
	}
	ks := e.keys.Load()
	if ks == nil {
		return nil, floodgate.Errorf(floodgate.EUnavailable, "This edge has not reached the cluster yet; retry in a moment.")
	}
	return ks.verifier.Verify(tok, drop, e.cfg.Now())
}

func (e *Edge) status(f *follower, c *queue.Claims) (queue.Status, <-chan struct{}) {
	ev, changed := f.state()
	q := ev.Queue
	return queue.StatusOf(&q, c.Early, c.Seq, e.cfg.Now().UnixMilli()), changed
}

func (e *Edge) queueStatus(w http.ResponseWriter, r *http.Request) {
	drop := r.PathValue("drop")
	c, err := e.ticket(r, drop)
	if err != nil {
		e.writeErr(w, "queue", err)
		return
	}
	f, err := e.follow(r.Context(), drop)
	if floodgate.ErrorCode(err) == floodgate.ENotFound {
		// The cluster signed this ticket, so the drop exists: the node the
		// edge asked has not applied it yet. Ask again, not "no such drop",
		// which would make a page throw a valid ticket away.
		err = floodgate.Errorf(floodgate.EUnavailable, "The cluster has not caught up with this drop yet; retry in a moment.")
	}
	if err != nil {
		e.writeErr(w, "queue", err)
		return
	}
	if strings.Contains(r.Header.Get("Accept"), "text/event-stream") {
		e.queueEvents(w, r, f, c)
		return
	}
	st, _ := e.status(f, c)
	e.count("queue", http.StatusOK)
	api.WriteJSON(w, http.StatusOK, st)
}

// sseInterval is the shortest time between two events to one visitor, as
// on the nodes.
const sseInterval = 500 * time.Millisecond

func final(state string) bool {
	return state == floodgate.QueueAdmitted || state == floodgate.QueueSoldOut || state == floodgate.QueueClosed
}

// queueEvents streams a ticket's status as server-sent events until its
// state is final, like the nodes do, from the followed counters.
func (e *Edge) queueEvents(w http.ResponseWriter, r *http.Request, f *follower, c *queue.Claims) {
	release, ok := e.streams.Acquire(e.trusted.Of(r))
	if !ok {
		e.writeErr(w, "queue_events", floodgate.Errorf(floodgate.ERateLimited, "Too many open queue streams from your address; close some tabs, or poll GET /queue without text/event-stream."))
		return
	}
	defer release()
	e.metrics.sse.Inc()
	defer e.metrics.sse.Dec()
	opts := sse.Options{Retry: 2 * time.Second, MinInterval: sseInterval, Done: e.ctx.Done()}
	err := sse.Stream(w, r, opts, func() ([]byte, bool, <-chan struct{}) {
		st, changed := e.status(f, c)
		return st.AppendJSON(nil), final(st.State), changed
	})
	if err != nil {
		e.writeErr(w, "queue_events", floodgate.Errorf(floodgate.EInternal, "streaming is not supported"))
		return
	}
	e.count("queue_events", http.StatusOK)
}
