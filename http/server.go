package http

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/floodgate/floodgate"
	"github.com/floodgate/floodgate/fairness"
	"github.com/floodgate/floodgate/internal/api"
	"github.com/floodgate/floodgate/internal/clientaddr"
	"github.com/floodgate/floodgate/internal/defaults"
	"github.com/floodgate/floodgate/internal/presign"
	"github.com/floodgate/floodgate/sale"
)

// Store is what the API needs from the replicated store.
type Store interface {
	sale.Replicated
	Changed() <-chan struct{}
	Ready() bool
	Leader() (id, raftAddr string)
}

// Cluster answers GET /api/v1/cluster and tells where the leader's API is.
// It may be nil on a node that does not know its peers.
type Cluster interface {
	ClusterInfo(ctx context.Context) (ClusterInfo, error)
	// LeaderHTTP returns the base URL of the leader's HTTP API ("" if unknown
	// or if this node is the leader).
	LeaderHTTP() string
}

// ClusterInfo is the answer of GET /api/v1/cluster.
type ClusterInfo struct {
	Leader string        `json:"leader"`
	Nodes  []ClusterNode `json:"nodes"`
}

// ClusterNode is one member of the cluster.
type ClusterNode struct {
	ID       string `json:"id"`
	RaftAddr string `json:"raft_addr"`
	HTTPAddr string `json:"http_addr"`
	State    string `json:"state"`
}

// Config configures the API server.
type Config struct {
	Store      Store
	Queue      Queue
	Sessions   Sessions
	Cluster    Cluster
	AdminToken string
	Dev        bool
	// PaymentKey signs the token in buyers' payment links; the admin token
	// when empty.
	PaymentKey []byte
	// Status and Web, when set, are mounted for their paths.
	Status http.Handler
	// Incidents lists the status page's incidents for the sale report; may
	// be nil.
	Incidents func() []floodgate.IncidentSummary
	Web       http.Handler
	// StatusPaths are the path prefixes Status serves.
	StatusPaths []string

	// TrustedProxies are the proxies whose X-Forwarded-For names the
	// client; loopback (127.0.0.0/8, ::1) is always trusted.
	TrustedProxies []netip.Prefix
	// The per-address limits are ceilings against floods, high enough for
	// a carrier NAT or an office full of buyers (IPv6 counts per /64).
	JoinRate     float64 // queue joins per second per client address
	JoinBurst    int
	RequestRate  float64 // API requests per second per ticket; an address gets IPFactor times this
	RequestBurst int
	StreamsPerIP int // open event streams per client address
	// The join gate (joingate.go): under overload, joins wait for the
	// requests of visitors already in line. JoinGateMaxWait bounds a join's
	// wait (0: DefaultJoinGateMaxWait; negative: no gate); the node is busy
	// while JoinGateBusy requests in line are in flight (0:
	// DefaultJoinGateBusy), and then one waiting join goes in per
	// JoinGateShare requests in line answered (0: DefaultJoinGateShare); at
	// most JoinGateMaxWaiting joins wait (0: DefaultJoinGateMaxWaiting).
	JoinGateMaxWait    time.Duration
	JoinGateBusy       int
	JoinGateShare      int
	JoinGateMaxWaiting int

	Registry *prometheus.Registry
	Logger   *slog.Logger
	Now      func() time.Time
}

// Server is the HTTP API of one node.
type Server struct {
	cfg     Config
	log     *slog.Logger
	handler http.Handler
	metrics *metrics
	joins   *limiter
	reqs    *limiter // per ticket (or per address for calls without one)
	ipReqs  *limiter // per address, for every API call
	streams *clientaddr.Streams
	trusted clientaddr.Trusted
	gate    *joinGate // nil: joins never wait
	forward *forwarder
	// leaderStreams counts the forward streams open on this node as the
	// leader (for tests).
	leaderStreams atomic.Int64
	nodeKey       []byte // signs calls between the nodes (NodeKey)
	// receipts signs orders' receipts with the current ticket key.
	receipts     atomic.Pointer[fairness.ReceiptSigner]
	receiptSigns presign.Counts // how receipts were signed (fairness.go)
	keyUses      keyUses
	// patterns are the routes registered (router.go).
	patterns []string
	logs     *fairness.Logs
	ready    atomic.Bool

	recent   recentWindow // the last seconds of API answers, for the console
	console  atomic.Pointer[http.Handler]
	answered atomic.Uint64 // API answers, for the error-rate health signal
	failed   atomic.Uint64 // of which 5xx
}

// Answers returns how many API requests were answered, and how many of them
// with a 5xx status, since the start.
func (s *Server) Answers() (total, failed uint64) { return s.answered.Load(), s.failed.Load() }

// New returns the API server.
func New(cfg Config) *Server {
	defaults.Logging(&cfg.Logger, &cfg.Now)
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}
	if len(cfg.PaymentKey) == 0 {
		cfg.PaymentKey = []byte(cfg.AdminToken)
	}
	defaults.Positive(&cfg.JoinRate, DefaultJoinRate)
	defaults.Positive(&cfg.JoinBurst, DefaultJoinBurst)
	defaults.Positive(&cfg.RequestRate, 50)
	defaults.Positive(&cfg.RequestBurst, 100)
	defaults.Positive(&cfg.StreamsPerIP, DefaultStreamsPerIP)

	s := &Server{
		cfg:   cfg,
		log:   cfg.Logger.With("component", "http"),
		joins: newLimiter(cfg.JoinRate, cfg.JoinBurst),
		reqs:  newLimiter(cfg.RequestRate, cfg.RequestBurst),
		// Many buyers can share one address (mobile carriers' NAT, an
		// office): the address gets IPFactor tickets' worth.
		ipReqs: newLimiter(IPFactor*cfg.RequestRate, IPFactor*cfg.RequestBurst),
		// Hundreds of buyers behind one address are fine; tens of
		// thousands of streams from one address are not.
		streams: clientaddr.NewStreams(cfg.StreamsPerIP),
		trusted: clientaddr.NewTrusted(cfg.TrustedProxies),
		nodeKey: NodeKey(cfg.AdminToken),
	}
	s.forward = newForwarder(cfg.Cluster, cfg.AdminToken)
	s.logs = fairness.NewLogs(cfg.Store.Read)
	s.metrics = newMetrics(cfg.Registry, cfg.Store, cfg.Now)
	cfg.Registry.MustRegister(newDropCollector(cfg.Store))
	registerChallengeMetrics(cfg.Registry, cfg.Queue)
	s.registerReceiptMetrics(cfg.Registry)
	s.gate = newJoinGate(cfg.JoinGateBusy, cfg.JoinGateMaxWait, cfg.JoinGateShare, cfg.JoinGateMaxWaiting, cfg.Registry)
	s.handler = s.middleware(s.routes())
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

func (s *Server) routes() http.Handler {
	mux := api.NewRouter()
	defer func() { s.patterns = mux.Patterns }()
	mux.HandleFunc("GET /healthz", s.healthz)
	// Metrics tell an attacker how the sale is doing and where it hurts:
	// they need the admin token (Prometheus: authorization.credentials).
	mux.HandleFunc("GET /metrics", s.admin(floodgate.AccessRoot, promhttp.HandlerFor(s.cfg.Registry, promhttp.HandlerOpts{}).ServeHTTP))
	mux.HandleFunc("GET /.well-known/jwks.json", s.jwks)

	mux.HandleFunc("POST /api/v1/drops", s.admin(floodgate.AccessOperate, s.leaderOnly(s.createDrop)))
	mux.HandleFunc("GET /api/v1/drops", s.listDrops)
	mux.HandleFunc("GET /api/v1/drops/{drop}", s.getDrop)
	mux.HandleFunc("GET /api/v1/drops/{drop}/orders", s.admin(floodgate.AccessRead, s.listOrders))
	mux.HandleFunc("POST /api/v1/drops/{drop}/close", s.admin(floodgate.AccessOperate, s.leaderOnly(s.closeDrop)))
	mux.HandleFunc("POST /api/v1/drops/{drop}/pause", s.admin(floodgate.AccessOperate, s.leaderOnly(s.pauseDrop)))
	mux.HandleFunc("POST /api/v1/drops/{drop}/resume", s.admin(floodgate.AccessOperate, s.leaderOnly(s.resumeDrop)))
	mux.HandleFunc("PATCH /api/v1/drops/{drop}", s.admin(floodgate.AccessOperate, s.leaderOnly(s.patchDrop)))
	mux.HandleFunc("GET /api/v1/audit", s.admin(floodgate.AccessRead, s.listAudit))
	mux.HandleFunc("GET /api/v1/drops/{drop}/report", s.admin(floodgate.AccessRead, s.getReport))
	mux.HandleFunc("GET /api/v1/drops/{drop}/orders.csv", s.admin(floodgate.AccessRead, s.ordersCSV))
	// The operator console (package console) checks its own session.
	mux.Handle("/admin/", http.HandlerFunc(s.serveConsole))

	mux.HandleFunc("POST /api/v1/drops/{drop}/queue", s.gateJoin(s.leaderOnly(s.join)))
	mux.HandleFunc("GET /api/v1/drops/{drop}/queue", s.inLine(s.queueStatus))
	mux.HandleFunc("GET /api/v1/drops/{drop}/me", s.inLine(s.me))
	mux.HandleFunc("GET /api/v1/drops/{drop}/admission", s.admissionStream)

	mux.HandleFunc("POST /api/v1/session", s.inLine(s.createSession))
	mux.HandleFunc("POST /logout", s.leaderOnly(s.logout))

	mux.HandleFunc("GET /api/v1/drops/{drop}/fairness", s.fairness)
	mux.HandleFunc("GET /api/v1/drops/{drop}/log/head", s.logHead)
	mux.HandleFunc("GET /api/v1/drops/{drop}/log/heads", s.logHeads)
	mux.HandleFunc("GET /api/v1/drops/{drop}/log/entries", s.logEntries)
	mux.HandleFunc("GET /api/v1/drops/{drop}/log/proof", s.logProof)
	mux.HandleFunc("GET /api/v1/drops/{drop}/log/consistency", s.logConsistency)
	mux.HandleFunc("POST /api/v1/drops/{drop}/entries", s.gateJoin(s.leaderOnly(s.createEntry)))
	mux.HandleFunc("GET /api/v1/drops/{drop}/entries/me", s.myEntry)
	mux.HandleFunc("GET /openapi.yaml", s.openAPI)

	mux.HandleFunc("POST /api/v1/drops/{drop}/holds", s.inLine(s.leaderOnly(s.createHold)))
	mux.HandleFunc("GET /api/v1/holds/{hold}", s.inLine(s.getHold))
	mux.HandleFunc("DELETE /api/v1/holds/{hold}", s.inLine(s.leaderOnly(s.releaseHold)))
	mux.HandleFunc("POST /api/v1/holds/{hold}/order", s.inLine(s.leaderOnly(s.createOrder)))

	mux.HandleFunc("GET /api/v1/cluster", s.admin(floodgate.AccessRoot, s.clusterInfo))
	mux.HandleFunc("POST /api/v1/cluster/join", s.admin(floodgate.AccessRoot, s.leaderOnly(s.clusterJoin)))
	mux.HandleFunc("PUT /api/v1/cluster/nodes/{id}", s.admin(floodgate.AccessRoot, s.leaderOnly(s.clusterRegister)))
	mux.HandleFunc("DELETE /api/v1/cluster/nodes/{id}", s.admin(floodgate.AccessRoot, s.leaderOnly(s.clusterRemove)))

	mux.HandleFunc("POST /api/v1/tenants", s.admin(floodgate.AccessRoot, s.leaderOnly(s.createTenant)))
	mux.HandleFunc("GET /api/v1/tenants", s.admin(floodgate.AccessRead, s.listTenants))
	mux.HandleFunc("PATCH /api/v1/tenants/{id}", s.admin(floodgate.AccessRoot, s.leaderOnly(s.patchTenant)))
	mux.HandleFunc("POST /api/v1/tenants/{id}/keys", s.admin(floodgate.AccessOwn, s.leaderOnly(s.createKey)))
	mux.HandleFunc("GET /api/v1/tenants/{id}/keys", s.admin(floodgate.AccessOwn, s.listKeys))
	mux.HandleFunc("DELETE /api/v1/keys/{key_id}", s.admin(floodgate.AccessOwn, s.leaderOnly(s.revokeKey)))

	mux.HandleFunc("POST /api/v1/orders/{id}/paid", s.inLine(s.admin(floodgate.AccessOperate, s.leaderOnly(s.orderPaid))))
	mux.HandleFunc("POST /api/v1/orders/{id}/cancel", s.admin(floodgate.AccessOperate, s.leaderOnly(s.orderCancel)))
	mux.HandleFunc("GET /api/v1/events", s.admin(floodgate.AccessRead, s.listEvents))
	mux.HandleFunc("POST /api/v1/sinks", s.admin(floodgate.AccessOwn, s.leaderOnly(s.createSink)))
	mux.HandleFunc("GET /api/v1/sinks", s.admin(floodgate.AccessRead, s.listSinks))
	mux.HandleFunc("GET /api/v1/sinks/{id}", s.admin(floodgate.AccessRead, s.getSink))
	mux.HandleFunc("DELETE /api/v1/sinks/{id}", s.admin(floodgate.AccessOwn, s.leaderOnly(s.deleteSink)))
	mux.HandleFunc("POST /api/v1/sinks/{id}/retry", s.admin(floodgate.AccessOwn, s.leaderOnly(s.retrySink)))

	if s.cfg.Status != nil {
		status := s.statusWrites(s.cfg.Status)
		for _, p := range s.cfg.StatusPaths {
			mux.Handle(p, status)
		}
	}
	mux.HandleFunc("/api/", api.Unrouted(mux.ServeMux, "/api/"))
	if s.cfg.Web != nil {
		mux.Handle("/", s.cfg.Web)
	} else {
		mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
			api.WriteError(w, floodgate.Errorf(floodgate.ENotFound, "Nothing is served at %s.", r.URL.Path))
		})
	}
	return mux
}

// SetReady marks the node ready (leader known, keys committed); /healthz
// answers 200 only then.
func (s *Server) SetReady(v bool) { s.ready.Store(v) }

type ctxKey int

const ctxRequest ctxKey = iota

// requestInfo is what the middleware learns about a request once, for the
// handlers and the log.
type requestInfo struct {
	id string
	ip netip.Addr
	// forwarded: another node forwarded the request with a good
	// signature; ip is the address it vouched for.
	forwarded bool
	// admin: the admin token was checked by the node that forwarded the
	// request, or the request is a signed call from another node.
	admin bool
	// srv resolves the caller for handlers mounted on the server
	// (ResolveCaller).
	srv *Server
}

// newRequestInfo finds the client's address, believing a forwarding node's
// signed marker over the address it came from.
func (s *Server) newRequestInfo(r *http.Request, rid string) *requestInfo {
	info := &requestInfo{}
	s.initRequestInfo(info, r, rid)
	return info
}

// initRequestInfo fills info (newRequestInfo), which the middleware
// allocates with the rest of what a request needs.
func (s *Server) initRequestInfo(info *requestInfo, r *http.Request, rid string) {
	*info = requestInfo{id: rid, ip: s.clientIP(r), srv: s}
	if m, ok := r.Context().Value(ctxForwardedBy).(forwardMarker); ok {
		// A write of a forward batch (forwardbatch.go): the batch's node
		// signature vouches for its marker.
		info.forwarded, info.ip, info.admin = true, m.ip, m.admin
		return
	}
	if r.Header.Get(ForwardedHeader) != "" {
		if m, ok := checkForward(s.nodeKey, r, s.cfg.Now()); ok {
			info.forwarded, info.ip, info.admin = true, m.ip, m.admin
		} else {
			// Set by a client, or stale: worth nothing.
			r.Header.Del(ForwardedHeader)
		}
	}
	if r.Header.Get(NodeAuthHeader) != "" {
		info.admin = checkNodeAuth(s.nodeKey, r, s.cfg.Now())
	}
}

// requestIDs are a per-process random prefix and a counter: unique, and far
// cheaper than reading random bytes for every request.
var (
	requestPrefix  = newRequestPrefix()
	requestCounter atomic.Uint64
)

// requestState is what the middleware allocates for each request.
type requestState struct {
	info     requestInfo
	rw       responseWriter
	ctx      requestContext
	ridValue [1]string
	rid      [requestIDLen]byte // the bytes of a request id made here
}

// requestIDLen bounds a request id made here: the prefix (8 hex digits and
// a dash) and a counter in base 36 (at most 13 digits).
const requestIDLen = 9 + 13

// newRequestID returns the next request id, written into buf: the string
// shares buf's bytes, which are never written again. It is the string of
// what was appended, wherever that is: an id longer than buf would be
// appended into a new array, never read past buf's end.
func newRequestID(buf *[requestIDLen]byte) string {
	b := append(buf[:0], requestPrefix...)
	b = strconv.AppendUint(b, requestCounter.Add(1), 36)
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// requestContext is the request's context with its info as the value of
// ctxRequest: context.WithValue's, without an allocation of its own.
type requestContext struct {
	context.Context
	info *requestInfo
}

func (c *requestContext) Value(key any) any {
	if key == any(ctxRequest) {
		return c.info
	}
	return c.Context.Value(key)
}

func (c *requestContext) String() string {
	return fmt.Sprintf("%v.WithValue(request info)", c.Context)
}

func newRequestPrefix() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:]) + "-"
}

// middleware adds, from the outside in: panic recovery, request ids and
// logs, metrics, and the per-IP request limit for the API.
func (s *Server) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		// One allocation for what every request needs: its info, the
		// writer that records its status, its X-Request-Id value.
		rs := &requestState{}
		rid := r.Header.Get("X-Request-Id")
		if rid == "" || len(rid) > 64 {
			rid = newRequestID(&rs.rid)
		}
		rs.ridValue[0] = rid
		w.Header()["X-Request-Id"] = rs.ridValue[:]
		info := &rs.info
		s.initRequestInfo(info, r, rid)
		rs.ctx = requestContext{Context: r.Context(), info: info}
		r = r.WithContext(&rs.ctx)
		rs.rw = responseWriter{ResponseWriter: w, status: 200, log: s.log, requestID: rid}
		rw := &rs.rw
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				if !rw.wrote {
					api.WriteError(rw, fmt.Errorf("panic: %v\n%s", p, debug.Stack()))
				} else {
					s.log.Error("panic", "request_id", rid, "panic", p, "stack", string(debug.Stack()))
				}
			}
			d := time.Since(start)
			s.metrics.observe(r.Pattern, rw.status, d)
			if strings.HasPrefix(r.URL.Path, "/api/") {
				s.recent.record(start, d, rw.status >= 500 && r.Context().Err() == nil)
				s.answered.Add(1)
				// Only failures on our side move the error-rate signal:
				// a refused input is a 4xx, and a client that went away
				// before its answer (its context canceled) failed
				// nothing of ours.
				if rw.status >= 500 && r.Context().Err() == nil {
					s.failed.Add(1)
				}
			}
			lvl := slog.LevelDebug
			if rw.status >= 500 && r.Pattern != "GET /healthz" {
				// A starting node answers /healthz 503 on purpose.
				lvl = slog.LevelWarn
			}
			if s.log.Enabled(r.Context(), lvl) {
				s.log.Log(r.Context(), lvl, "request", "request_id", rid, "method", r.Method, "path", r.URL.Path,
					"status", rw.status, "ms", float64(d.Microseconds())/1000, "ip", info.ip.String())
			}
		}()
		if r.URL.Path == ForwardBatchPath {
			s.forwardBatch(rw, r, info)
			return
		}
		// A forwarded request was limited by the node that took it.
		if strings.HasPrefix(r.URL.Path, "/api/") && !info.forwarded && !s.allowRequest(r, info.ip) {
			api.WriteErrorRetry(rw, floodgate.Errorf(floodgate.ERateLimited, "Too many requests with your ticket or from your address; wait a moment and retry."), 1)
			return
		}
		next.ServeHTTP(rw, r)
	})
}

// allowRequest applies the request limits: a call that carries a token (a
// ticket, or the admin token) is limited per token, so that buyers behind
// one address do not share one budget and a bot that hammers with its
// ticket slows only itself; every call counts against its address's much
// larger budget, a ceiling against floods that a NAT of people stays under.
func (s *Server) allowRequest(r *http.Request, ip netip.Addr) bool {
	if !s.ipReqs.allow(ip) {
		return false
	}
	if tok := api.TicketToken(r); tok != "" {
		return s.reqs.allowKey(tok)
	}
	return true
}

type responseWriter struct {
	http.ResponseWriter
	status    int
	wrote     bool
	log       *slog.Logger
	requestID string
}

var _ api.ErrorLogger = (*responseWriter)(nil)

// LogError logs an unexpected error with the request it answers.
func (w *responseWriter) LogError(err error) {
	w.log.Error("unexpected error", "request_id", w.requestID, "err", err)
}

func (w *responseWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status = code
		w.wrote = true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

func (w *responseWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		w.wrote = true
		f.Flush()
	}
}

func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// clientIP is the peer address, or the address a trusted proxy forwarded
// for (the rightmost untrusted address of X-Forwarded-For).
func (s *Server) clientIP(r *http.Request) netip.Addr { return s.trusted.Of(r) }

func clientIPOf(r *http.Request) netip.Addr {
	if info, ok := r.Context().Value(ctxRequest).(*requestInfo); ok {
		return info.ip
	}
	return netip.Addr{}
}

// leaderOnly sends writes to the leader: on a follower the request is
// forwarded to the leader's API when it is known, else answered 503.
func (s *Server) leaderOnly(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.cfg.Store.IsLeader() {
			h(w, r)
			return
		}
		if s.toLeader(w, r) {
			return
		}
		api.WriteErrorRetry(w, floodgate.Errorf(floodgate.EUnavailable, "No leader is available to take writes right now; retry in a moment."), 1)
	}
}

// toLeader forwards r to the leader and reports whether it did: not for a
// request already forwarded once, nor when no leader is known.
func (s *Server) toLeader(w http.ResponseWriter, r *http.Request) bool {
	info, ok := r.Context().Value(ctxRequest).(*requestInfo)
	return ok && s.forward.forward(w, r, info)
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	if diskFull(w, s.cfg.Store) {
		return
	}
	id, _ := s.cfg.Store.Leader()
	_, _, keyErr := s.cfg.Queue.Keys()
	if id == "" || keyErr != nil || !s.ready.Load() || !s.cfg.Store.Ready() {
		api.WriteErrorRetry(w, floodgate.Errorf(floodgate.EUnavailable, "This node cannot take writes yet: no leader or not ready."), 1)
		return
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"status": "ok", "leader": id, "is_leader": s.cfg.Store.IsLeader()})
}

func (s *Server) jwks(w http.ResponseWriter, r *http.Request) {
	keys, _, err := s.cfg.Queue.Keys()
	if err != nil {
		api.WriteError(w, err)
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=300")
	api.WriteJSON(w, http.StatusOK, keys.JWKS())
}

func (s *Server) clusterInfo(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Cluster == nil {
		id, addr := s.cfg.Store.Leader()
		api.WriteJSON(w, http.StatusOK, ClusterInfo{Leader: id, Nodes: []ClusterNode{{ID: id, RaftAddr: addr, HTTPAddr: r.Host, State: "leader"}}})
		return
	}
	info, err := s.cfg.Cluster.ClusterInfo(r.Context())
	if err != nil {
		api.WriteError(w, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, info)
}

// apply stamps one command with the time and sends it. It sends a copy
// from a pool, so that the caller's command does not move to the heap: a
// Store keeps nothing of a command once its Apply has returned (the store
// encodes it before it queues it).
func (s *Server) apply(ctx context.Context, c *sale.Command) (sale.Result, error) {
	c.Now = s.cfg.Now().UnixMilli()
	p := commands.Get().(*sale.Command)
	*p = *c
	res, err := s.cfg.Store.Apply(ctx, p)
	*p = sale.Command{}
	commands.Put(p)
	return res, err
}

// commands are apply's copies.
var commands = sync.Pool{New: func() any { return new(sale.Command) }}
