package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	_ "net/http/pprof" // on http.DefaultServeMux, served at --debug-addr
	"os"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/floodgate/floodgate/cluster"
	"github.com/floodgate/floodgate/console"
	"github.com/floodgate/floodgate/fairness"
	fhttp "github.com/floodgate/floodgate/http"
	"github.com/floodgate/floodgate/identity"
	"github.com/floodgate/floodgate/internal/clientaddr"
	"github.com/floodgate/floodgate/internal/demo"
	"github.com/floodgate/floodgate/internal/procmetrics"
	"github.com/floodgate/floodgate/queue"
	"github.com/floodgate/floodgate/sink"
	"github.com/floodgate/floodgate/status"
	"github.com/floodgate/floodgate/store"
	"github.com/floodgate/floodgate/web"
)

// serveConfig holds the flags of floodgate serve. A flag that configures
// one package is bound straight into that package's Config; the fields
// here are the node's own or shared by several packages.
type serveConfig struct {
	httpAddr, adminToken, adminTokenFile, publicURL string
	join, debugAddr, trusted, paymentSecret         string
	dev, demo                                       bool
	connsPerIP                                      int
	bodyTimeout                                     time.Duration

	store    store.Config
	api      fhttp.Config
	queue    queue.Config
	identity identity.Config
	status   status.Config
	sinks    sink.Config
}

func (c *serveConfig) flags(fs *flag.FlagSet) {
	fs.StringVar(&c.store.Dir, "data-dir", "./data", "directory for the Raft log and snapshots")
	fs.StringVar(&c.httpAddr, "http-addr", "127.0.0.1:8080", "address of the HTTP API and pages")
	fs.StringVar(&c.adminToken, "admin-token", "", "bearer token for admin calls, 16+ characters (prefer FLOODGATE_ADMIN_TOKEN or --admin-token-file: a flag shows in ps)")
	fs.StringVar(&c.adminTokenFile, "admin-token-file", "", "file whose first line is the admin token")
	fs.IntVar(&c.connsPerIP, "conns-per-ip", fhttp.DefaultConnsPerIP, "open connections per client address (IPv6: per /64; trusted proxies are not capped)")
	fs.DurationVar(&c.bodyTimeout, "body-timeout", clientaddr.DefaultBodyTimeout, "how long a client has to send a request body (event streams have no body and no limit)")
	fs.BoolVar(&c.store.InsecurePlaintext, "insecure-raft-plaintext", false, "allow Raft in plain TCP on a non-loopback address (anyone reaching it can read the cluster secret and inject entries)")
	fs.BoolVar(&c.dev, "dev", false, "turn on the dev identity provider (trusts any email; tests and demos only)")
	fs.BoolVar(&c.demo, "demo", false, "create the demo drop mini-speaker (3,000 units, 1 per customer, music-pass vouchers)")
	fs.StringVar(&c.store.NodeID, "node-id", "node1", "unique id of this node in the cluster")
	fs.StringVar(&c.store.RaftAddr, "raft-addr", "127.0.0.1:0", "address of the Raft transport (port 0: any free port, single node only)")
	fs.StringVar(&c.store.AdvertiseAddr, "raft-advertise", "", "Raft address other nodes reach this one at (default: --raft-addr)")
	fs.BoolVar(&c.store.Bootstrap, "bootstrap", false, "start a new cluster with this node as its first member (implied when --join is not given)")
	fs.StringVar(&c.join, "join", "", "HTTP URL of a cluster member to join (e.g. http://10.0.0.1:8080); several may be given, comma-separated")
	fs.StringVar(&c.debugAddr, "debug-addr", "", "address for pprof (/debug/pprof/); off when empty")
	fs.StringVar(&c.trusted, "trusted-proxy", "", "comma-separated CIDRs of proxies whose X-Forwarded-For is trusted for client IPs (loopback always is)")
	fs.Float64Var(&c.api.JoinRate, "join-rate", fhttp.DefaultJoinRate, "ceiling of queue joins per second per client address (IPv6: per /64)")
	fs.IntVar(&c.api.JoinBurst, "join-burst", fhttp.DefaultJoinBurst, "ceiling of queue joins at once per client address (IPv6: per /64)")
	fs.Float64Var(&c.api.RequestRate, "request-rate", 50, fmt.Sprintf("API requests per second per ticket (a client address gets %d times this)", fhttp.IPFactor))
	fs.IntVar(&c.api.RequestBurst, "request-burst", 100, fmt.Sprintf("burst of API requests per ticket (a client address gets %d times this)", fhttp.IPFactor))
	fs.IntVar(&c.api.StreamsPerIP, "streams-per-ip", fhttp.DefaultStreamsPerIP, "open event streams (SSE) per client address")
	fs.DurationVar(&c.api.JoinGateMaxWait, "join-gate-wait", fhttp.DefaultJoinGateMaxWait, "longest a queue join waits while the node is busy with visitors already in line (0: joins never wait)")
	fs.IntVar(&c.api.JoinGateBusy, "join-gate-busy", fhttp.DefaultJoinGateBusy, "requests of visitors in line (status, holds, orders) in flight from which new joins wait")
	fs.DurationVar(&c.queue.TickInterval, "tick", 100*time.Millisecond, "how often the leader moves admission and hold expiry forward")
	fs.IntVar(&c.queue.SignAhead, "sign-ahead", queue.DefaultSignAhead, fmt.Sprintf("signatures with the ticket key (join tickets and order receipts, one pool) the leader prepares on idle CPU while a drop is on sale, 64 bytes each (0: none; at most %d)", queue.MaxSignAhead))
	fs.DurationVar(&c.queue.MaxPause, "hold-max-pause", identity.DefaultMaxPause, "the most a hold is paused while the identity provider is down")
	c.queue.AutoChallenge = queue.DefaultAutoPolicy()
	auto := c.queue.AutoChallenge
	fs.Float64Var(&c.queue.AutoChallenge.PressureRate, "challenge-pressure", auto.PressureRate, `queue joins per second of a drop from which its "auto" join challenge applies`)
	fs.Float64Var(&c.queue.AutoChallenge.Household, "challenge-household", auto.Household, `joins per minute a client address (IPv6: /64) sends without a challenge under "auto"`)
	fs.Float64Var(&c.queue.AutoChallenge.NAT, "challenge-nat", auto.NAT, fmt.Sprintf(`joins per minute of a shared address (a carrier NAT) that pay at most %d bits under "auto"; beyond it, the work doubles every NAT/8 joins`, auto.NATBits))
	fs.StringVar(&c.publicURL, "public-url", "", "public base URL of the site, for links in notices (e.g. https://shop.example.com)")

	fs.StringVar(&c.store.TLS.CertFile, "raft-tls-cert", "", "PEM certificate this node presents to other nodes (turns on mutual TLS between nodes)")
	fs.StringVar(&c.store.TLS.KeyFile, "raft-tls-key", "", "PEM private key of --raft-tls-cert")
	fs.StringVar(&c.store.TLS.CAFile, "raft-tls-ca", "", "PEM CA certificate that signed every node's certificate")
	fs.Uint64Var(&c.store.SnapshotThreshold, "snapshot-threshold", store.DefaultSnapshotThreshold, "log entries since the last snapshot that trigger a new one")
	fs.DurationVar(&c.store.SnapshotInterval, "snapshot-interval", store.DefaultSnapshotInterval, "how often to check whether a snapshot is due")
	fs.Uint64Var(&c.store.TrailingLogs, "trailing-logs", store.DefaultTrailingLogs, "log entries kept after a snapshot, so a briefly lagging follower catches up from the log")
	fs.DurationVar(&c.sinks.Retention, "event-retention", time.Hour, "how long order events stay in the feed after every sink has them")
	fs.DurationVar(&c.sinks.Timeout, "sink-timeout", 10*time.Second, "time limit of one delivery to a sink (a webhook request, a PostgreSQL batch)")
	fs.DurationVar(&c.sinks.MaxBackoff, "sink-max-backoff", time.Minute, "longest wait between two attempts of a failing sink")
	fs.IntVar(&c.sinks.DeadAfter, "sink-dead-after", 30, "failures in a row after which a sink is dead-lettered until an operator retries it")
	fs.StringVar(&c.paymentSecret, "payment-secret", "", "key of the token in payment links (HMAC-SHA256 of the order id); the admin token when empty")

	id := &c.identity
	fs.StringVar(&id.Issuer, "oidc-issuer", "", "OIDC issuer URL; turns on OIDC login")
	fs.StringVar(&id.ClientID, "oidc-client-id", "", "OIDC client id")
	fs.StringVar(&id.ClientSecret, "oidc-client-secret", "", "OIDC client secret")
	fs.StringVar(&id.RedirectURL, "oidc-redirect-url", "", "OIDC redirect URL, ending in /auth/callback")
	statusFlags(fs, &c.status)
}

// statusFlags registers the flags of the status page's automatic incidents
// and notices, shared by floodgate serve and floodgate status serve.
func statusFlags(fs *flag.FlagSet, c *status.Config) {
	fs.DurationVar(&c.AutoOpenAfter, "auto-open-after", 15*time.Second, "how long a health signal (a full data disk, the core not answering) must stay bad before the status page shows an incident")
	fs.DurationVar(&c.AutoResolveAfter, "auto-resolve-after", 60*time.Second, "how long a health signal must stay good before its incident resolves")
	fs.StringVar(&c.PageName, "status-page-name", "Floodgate", "name shown on the status page")
	fs.StringVar(&c.PublicURL, "status-public-url", "", "public base URL of the status page, for links in notices (e.g. https://status.example.com)")
	fs.StringVar(&c.SMTP.Addr, "smtp-addr", "", "SMTP server host:port for email notices")
	fs.StringVar(&c.SMTP.From, "smtp-from", "", "From address of email notices")
	fs.StringVar(&c.SMTP.Username, "smtp-user", "", "SMTP user name (optional)")
	fs.StringVar(&c.SMTP.Password, "smtp-password", "", "SMTP password (optional; prefer the environment variable)")
	fs.StringVar(&c.SMS.URL, "sms-url", "", "SMS gateway URL taking a Twilio-style form post; {account} is replaced by --sms-account")
	fs.StringVar(&c.SMS.Account, "sms-account", "", "SMS gateway account (basic auth user)")
	fs.StringVar(&c.SMS.Token, "sms-token", "", "SMS gateway token (basic auth password; prefer the environment variable)")
	fs.StringVar(&c.SMS.From, "sms-from", "", "sender number of SMS notices")
}

func runServe(ctx context.Context, args []string) error {
	m := NewMain()
	if err := m.ParseFlags(args); err != nil {
		return err
	}
	if err := m.Run(ctx); err != nil {
		return err
	}
	<-ctx.Done()
	slog.Info("shutting down")
	return m.Close()
}

// Main is one floodgate serve: ParseFlags reads its configuration, Run
// starts the node and returns once it serves, Close stops it. Tests run it
// in-process on port 0.
type Main struct {
	cfg serveConfig

	store  *store.Store
	status *status.Service
	http   *http.Server
	debug  *http.Server
	ln     net.Listener
	cancel context.CancelFunc
	wg     sync.WaitGroup // what runs in the background until cancel
}

// NewMain returns a Main with the default configuration.
func NewMain() *Main {
	m := &Main{}
	m.cfg.flags(flag.NewFlagSet("serve", flag.ContinueOnError))
	return m
}

// ParseFlags reads the command line, with FLOODGATE_* environment variables
// as defaults.
func (m *Main) ParseFlags(args []string) (err error) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	c := &m.cfg
	c.flags(fs)
	if err := parseFlags(fs, args, nil); err != nil {
		return err
	}
	if c.adminToken, err = adminTokenFrom(fs, false); err != nil {
		return err
	}
	if c.api.TrustedProxies, err = fhttp.ParseTrustedProxies(c.trusted); err != nil {
		return err
	}
	if err := c.store.Check(); err != nil {
		return err
	}
	if err := c.identity.Check(c.dev); err != nil {
		return err
	}
	switch {
	case c.api.JoinGateMaxWait == 0:
		c.api.JoinGateMaxWait = -1
	case c.api.JoinGateMaxWait < 0 || c.api.JoinGateBusy < 1:
		return errors.New("--join-gate-wait must be 0 or more and --join-gate-busy 1 or more")
	}
	switch {
	case c.queue.SignAhead == 0:
		c.queue.SignAhead = -1
	case c.queue.SignAhead < 0 || c.queue.SignAhead > queue.MaxSignAhead:
		return fmt.Errorf("--sign-ahead must be from 0 to %d", queue.MaxSignAhead)
	}
	return c.queue.AutoChallenge.Check()
}

// URL returns the base URL of the node's HTTP API once it runs.
func (m *Main) URL() string { return "http://" + m.ln.Addr().String() }

// Run starts the node: the store, cluster membership, the queue, the pages,
// the status page and the HTTP server. It returns once the node serves;
// ctx ends what runs in the background, Close stops the rest.
func (m *Main) Run(parent context.Context) (err error) {
	cfg := m.cfg
	privateFiles()
	if m.ln, err = net.Listen("tcp", cfg.httpAddr); err != nil {
		return fmt.Errorf("listen on --http-addr %s: %w", cfg.httpAddr, err)
	}
	trusted := clientaddr.NewTrusted(cfg.api.TrustedProxies)
	m.ln = clientaddr.Listener(m.ln, cfg.connsPerIP, trusted)
	ctx, cancel := context.WithCancel(parent)
	m.cancel = cancel
	defer func() {
		// One cleanup for every failure below.
		if err != nil {
			cancel()
			if m.status != nil {
				m.status.Close()
			}
			if m.store != nil {
				m.store.Close()
			}
			m.ln.Close()
		}
	}()
	reg := prometheus.NewRegistry()
	procmetrics.Register(reg)
	log := slog.Default().With("node", cfg.store.NodeID)

	cfg.store.Bootstrap = cfg.store.Bootstrap || cfg.join == ""
	cfg.store.Logger = log
	cfg.store.Registerer = reg
	if m.store, err = store.Open(cfg.store); err != nil {
		return err
	}
	st := m.store
	members := cluster.New(cluster.Config{
		Store: st, NodeID: cfg.store.NodeID, HTTPURL: m.URL(), AdminToken: cfg.adminToken,
		Join: strings.Split(cfg.join, ","), Logger: log,
	})
	go members.Run(ctx)
	cfg.identity.MaxPause = cfg.queue.MaxPause
	cfg.identity.Logger = log
	provider, err := identity.NewProvider(ctx, cfg.identity, cfg.dev)
	if err != nil {
		return fmt.Errorf("identity provider: %w", err)
	}
	health := identity.HealthOf(provider)
	grace := &status.HoldGrace{IDP: health}
	cfg.queue.Store = st
	cfg.queue.Health = grace
	cfg.queue.Logger = log
	cfg.queue.Registerer = reg
	q := queue.New(cfg.queue)
	sessions := identity.NewSessions(nil, identity.DefaultSessionTTL)
	if provider != nil {
		sessions.RequireProvider(provider.Name())
	}
	sessions.SetRevoked(st.SessionRevoked)
	defaultDrop := ""
	if cfg.demo {
		defaultDrop = demo.DropID
	}
	pages, err := web.New(web.Config{
		Drops:       fhttp.DropReader{Store: st, Now: time.Now},
		Sessions:    sessions,
		Provider:    provider,
		Dev:         cfg.dev,
		Logger:      log,
		CookieKey:   web.CookieKeyFrom(cfg.adminToken),
		DefaultDrop: defaultDrop,
		Trusted:     trusted,
	})
	if err != nil {
		return err
	}
	sc := cfg.status // the notices come from the flags
	sc.DataDir = cfg.store.Dir
	sc.AdminToken = cfg.adminToken
	sc.Dev = cfg.dev
	if sc.PublicURL == "" {
		// --status-public-url wins; else the site's own URL serves /status.
		sc.PublicURL = cfg.publicURL
	}
	sc.Logger = log
	sc.Replica = store.StatusReplica{Store: st}
	sc.Vouched = fhttp.VouchedAdmin
	sc.Caller = fhttp.ResolveCaller
	sc.ClientIP = fhttp.ClientIP
	if m.status, err = status.Open(sc); err != nil {
		return fmt.Errorf("status page: %w", err)
	}
	grace.SetStatus(m.status)
	m.status.SetAffectedSource(store.StatusReplica{Store: st})
	cfg.sinks.Store = st
	cfg.sinks.Dev = cfg.dev
	cfg.sinks.Registerer = reg
	cfg.sinks.Logger = log
	sinks := sink.New(cfg.sinks)
	a := cfg.api // the limits and trusted proxies come from the flags
	a.PaymentKey = []byte(cfg.paymentSecret)
	a.Store = st
	a.Queue = q
	a.Sessions = sessions
	a.Cluster = members
	a.Status = m.status.Handler()
	a.StatusPaths = status.Paths
	a.Incidents = m.status.IncidentSummaries
	a.Web = pages
	a.AdminToken = cfg.adminToken
	a.Dev = cfg.dev
	a.Registry = reg
	a.Logger = log
	api := fhttp.New(a)
	// The operator console at /admin.
	con, err := console.New(console.Config{API: api, Key: console.KeyFrom(cfg.adminToken), Trusted: trusted, Logger: log})
	if err != nil {
		return err
	}
	api.SetConsole(con)
	m.http = &http.Server{Handler: clientaddr.BodyDeadline(api, cfg.bodyTimeout), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: clientaddr.IdleTimeout}
	go func() {
		if err := m.http.Serve(m.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("http server stopped", "err", err)
		}
	}()
	if cfg.debugAddr != "" {
		// net/http/pprof registers its handlers on the default mux, and
		// nothing else in this binary does.
		m.debug = &http.Server{Addr: cfg.debugAddr, Handler: http.DefaultServeMux, ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = m.debug.ListenAndServe() }()
	}
	m.wg.Go(func() { sinks.Run(ctx) })
	m.wg.Go(func() { q.Run(ctx) })
	m.wg.Go(func() {
		m.status.WatchHealth(ctx, status.Health{
			HasLeader:    func() bool { id, _ := st.Leader(); return id != "" },
			IdentityDown: health.Down,
			Answers:      api.Answers,
			Drops:        api.Drops,
			DiskFull:     func() bool { return st.DiskFault() != nil },
		})
	})
	if cfg.status.SMTP.Addr != "" {
		// Draw entrants hear their result by email too.
		n := &fairness.Notifier{Store: st, Mailer: m.status, BaseURL: cfg.publicURL, Logger: log}
		m.wg.Go(func() { n.Run(ctx) })
	}
	go func() {
		// Ready once a leader is known and the cluster secret is committed.
		keys, err := q.WaitKeys(ctx)
		if err != nil {
			return
		}
		sessions.SetKey(keys.SessionKey)
		api.SetReady(true)
		if cfg.demo {
			demo.Create(ctx, st, log)
		}
	}()
	log.Info("floodgate serving", "http", m.URL(), "raft", st.RaftAddr(), "data_dir", cfg.store.Dir, "dev", cfg.dev)
	if cfg.demo {
		demo.WriteBanner(os.Stderr, m.URL())
	}
	return nil
}

// Close stops serving and closes the store.
func (m *Main) Close() error {
	if m.http == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = m.http.Shutdown(ctx)
	if m.debug != nil {
		_ = m.debug.Close()
	}
	m.cancel()
	m.wg.Wait()
	_ = m.status.Close()
	return m.store.Close()
}
