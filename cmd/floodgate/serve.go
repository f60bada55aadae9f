package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/floodgate/floodgate"
	fhttp "github.com/floodgate/floodgate/http"
	"github.com/floodgate/floodgate/identity"
	"github.com/floodgate/floodgate/queue"
	"github.com/floodgate/floodgate/sale"
	"github.com/floodgate/floodgate/status"
	"github.com/floodgate/floodgate/store"
	"github.com/floodgate/floodgate/web"
)

// sessionTTL is how long a buyer stays signed in.
const sessionTTL = 12 * time.Hour

// statusPaths are the paths the status package serves on a core node.
var statusPaths = []string{
	"/status", "/history.atom", "/api/v2/",
	"/api/v1/banner", "/api/v1/unsubscribe/",
	"/api/v1/incidents", "/api/v1/incidents/",
	"/api/v1/subscribers", "/api/v1/subscribers/",
	"/api/v1/maintenances", "/api/v1/maintenances/",
	"/api/v1/deliveries",
}

// serveConfig holds the flags of floodgate serve.
type serveConfig struct {
	dataDir       string
	httpAddr      string
	adminToken    string
	dev           bool
	demo          bool
	nodeID        string
	raftAddr      string
	raftAdvertise string
	bootstrap     bool
	join          string
	debugAddr     string
	trusted       string
	joinRate      float64
	joinBurst     int
	reqRate       float64
	reqBurst      int
	streamsPerIP  int
	tick          time.Duration
	holdMaxPause  time.Duration
	publicURL     string
	cluster       clusterFlags
	identity      identity.Config
	status        status.Config
}

func (c *serveConfig) flags(fs *flag.FlagSet) {
	fs.StringVar(&c.dataDir, "data-dir", envOr("FLOODGATE_DATA_DIR", "./data"), "directory for the Raft log and snapshots")
	fs.StringVar(&c.httpAddr, "http-addr", envOr("FLOODGATE_HTTP_ADDR", "127.0.0.1:8080"), "address of the HTTP API and pages")
	fs.StringVar(&c.adminToken, "admin-token", os.Getenv("FLOODGATE_ADMIN_TOKEN"), "bearer token for admin calls (or FLOODGATE_ADMIN_TOKEN)")
	fs.BoolVar(&c.dev, "dev", false, "turn on the dev identity provider (trusts any email; tests and demos only)")
	fs.BoolVar(&c.demo, "demo", false, "create the demo drop mini-speaker (3,000 units, 1 per customer, music-pass vouchers)")
	fs.StringVar(&c.nodeID, "node-id", envOr("FLOODGATE_NODE_ID", "node1"), "unique id of this node in the cluster")
	fs.StringVar(&c.raftAddr, "raft-addr", envOr("FLOODGATE_RAFT_ADDR", "127.0.0.1:0"), "address of the Raft transport (port 0: any free port, single node only)")
	fs.StringVar(&c.raftAdvertise, "raft-advertise", "", "Raft address other nodes reach this one at (default: --raft-addr)")
	fs.BoolVar(&c.bootstrap, "bootstrap", false, "start a new cluster with this node as its first member (implied when --join is not given)")
	fs.StringVar(&c.join, "join", "", "HTTP URL of a cluster member to join (e.g. http://10.0.0.1:8080)")
	fs.StringVar(&c.debugAddr, "debug-addr", "", "address for pprof (/debug/pprof/); off when empty")
	fs.StringVar(&c.trusted, "trusted-proxy", "", "comma-separated CIDRs of proxies whose X-Forwarded-For is trusted for client IPs (loopback always is)")
	fs.Float64Var(&c.joinRate, "join-rate", fhttp.DefaultJoinRate, "ceiling of queue joins per second per client address (IPv6: per /64)")
	fs.IntVar(&c.joinBurst, "join-burst", fhttp.DefaultJoinBurst, "ceiling of queue joins at once per client address (IPv6: per /64)")
	fs.Float64Var(&c.reqRate, "request-rate", 50, fmt.Sprintf("API requests per second per ticket (a client address gets %d times this)", fhttp.IPFactor))
	fs.IntVar(&c.reqBurst, "request-burst", 100, fmt.Sprintf("burst of API requests per ticket (a client address gets %d times this)", fhttp.IPFactor))
	fs.IntVar(&c.streamsPerIP, "streams-per-ip", fhttp.DefaultStreamsPerIP, "open event streams (SSE) per client address")
	fs.DurationVar(&c.tick, "tick", 100*time.Millisecond, "how often the leader moves admission and hold expiry forward")
	fs.DurationVar(&c.holdMaxPause, "hold-max-pause", 15*time.Minute, "the most a hold is paused while the identity provider is down")
	fs.StringVar(&c.publicURL, "public-url", os.Getenv("FLOODGATE_PUBLIC_URL"), "public base URL of the site, for links in notices (e.g. https://shop.example.com)")
	c.cluster.register(fs)
	c.identity.RegisterFlags(fs)
	c.status.RegisterFlags(fs)
}

func runServe(ctx context.Context, args []string) error {
	var cfg serveConfig
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	cfg.flags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q; see floodgate serve -h", fs.Arg(0))
	}
	n, err := startNode(ctx, cfg)
	if err != nil {
		return err
	}
	<-ctx.Done()
	slog.Info("shutting down")
	return n.Close()
}

// node is one running floodgate serve.
type node struct {
	store  *store.Store
	status *status.Service
	http   *http.Server
	debug  *http.Server
	cancel context.CancelFunc
	done   chan struct{}
}

func startNode(parent context.Context, cfg serveConfig) (*node, error) {
	if cfg.adminToken == "" {
		return nil, errors.New("an admin token is required: pass --admin-token or set FLOODGATE_ADMIN_TOKEN")
	}
	trusted, err := parsePrefixes(cfg.trusted)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create the data dir: %w", err)
	}
	ln, err := net.Listen("tcp", cfg.httpAddr)
	if err != nil {
		return nil, fmt.Errorf("listen on --http-addr %s: %w", cfg.httpAddr, err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	log := slog.Default().With("node", cfg.nodeID)

	sc := store.Config{
		Dir:           filepath.Join(cfg.dataDir),
		NodeID:        cfg.nodeID,
		RaftAddr:      cfg.raftAddr,
		AdvertiseAddr: cfg.raftAdvertise,
		Bootstrap:     cfg.bootstrap || cfg.join == "",
		Logger:        log,
		Registerer:    reg,
	}
	if err := cfg.cluster.storeConfig(cfg, &sc); err != nil {
		ln.Close()
		return nil, err
	}
	st, err := store.Open(sc)
	if err != nil {
		ln.Close()
		return nil, err
	}
	ctx, cancel := context.WithCancel(parent)
	// fail undoes what startNode has started so far.
	fail := func(err error) (*node, error) {
		cancel()
		st.Close()
		ln.Close()
		return nil, err
	}
	cluster, err := setupCluster(ctx, cfg, st, "http://"+ln.Addr().String(), log)
	if err != nil {
		return fail(err)
	}
	idCfg := cfg.identity
	idCfg.MaxPause = cfg.holdMaxPause
	idCfg.Logger = log
	provider, err := identity.NewProvider(ctx, idCfg, cfg.dev)
	if err != nil {
		return fail(fmt.Errorf("identity provider: %w", err))
	}
	health := identity.HealthOf(provider)
	q := queue.New(queue.Config{Store: st, Health: health, TickInterval: cfg.tick, MaxPause: cfg.holdMaxPause, Logger: log})
	sessions := identity.NewSessions(nil, sessionTTL)
	drops := fhttp.DropReader{Store: st, Now: time.Now}
	defaultDrop := ""
	if cfg.demo {
		defaultDrop = DemoDropID
	}
	pages, err := web.New(web.Config{
		Drops:       drops,
		Sessions:    sessions,
		Provider:    provider,
		Dev:         cfg.dev,
		Logger:      log,
		CookieKey:   deriveKey(cfg.adminToken, "login cookies"),
		DefaultDrop: defaultDrop,
		SessionTTL:  sessionTTL,
	})
	if err != nil {
		return fail(err)
	}
	stCfg := cfg.status
	stCfg.DataDir = cfg.dataDir
	stCfg.AdminToken = cfg.adminToken
	stCfg.Dev = cfg.dev
	stCfg.PublicURL = cfg.publicURL
	stCfg.Logger = log
	statusSvc, err := status.Open(stCfg)
	if err != nil {
		return fail(fmt.Errorf("status page: %w", err))
	}
	statusSvc.SetAffectedSource(affectedSource{st})
	api := fhttp.New(fhttp.Config{
		Store:          st,
		Queue:          q,
		Sessions:       sessions,
		Cluster:        cluster,
		Status:         statusSvc.Handler(),
		StatusPaths:    statusPaths,
		Web:            pages,
		AdminToken:     cfg.adminToken,
		Dev:            cfg.dev,
		TrustedProxies: trusted,
		JoinRate:       cfg.joinRate,
		JoinBurst:      cfg.joinBurst,
		RequestRate:    cfg.reqRate,
		RequestBurst:   cfg.reqBurst,
		StreamsPerIP:   cfg.streamsPerIP,
		Registry:       reg,
		Logger:         log,
	})
	n := &node{store: st, status: statusSvc, cancel: cancel, done: make(chan struct{})}
	n.http = &http.Server{Handler: api, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second}
	go func() {
		if err := n.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("http server stopped", "err", err)
		}
	}()
	if cfg.debugAddr != "" {
		mux := http.NewServeMux()
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		n.debug = &http.Server{Addr: cfg.debugAddr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = n.debug.ListenAndServe() }()
	}
	go func() {
		defer close(n.done)
		go watchHealth(ctx, st, health, api, statusSvc)
		q.Run(ctx)
	}()
	go func() {
		// Ready once a leader is known and the cluster secret is committed.
		for ctx.Err() == nil {
			if keys, _, err := q.Keys(); err == nil {
				sessions.SetKey(keys.SessionKey)
				api.SetReady(true)
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if cfg.demo {
			createDemoDrop(ctx, st, log)
		}
	}()
	log.Info("floodgate serving", "http", "http://"+ln.Addr().String(), "raft", st.RaftAddr(), "data_dir", cfg.dataDir, "dev", cfg.dev)
	if cfg.demo {
		fmt.Fprintf(os.Stderr, "\n  Demo drop: http://%s/d/mini-speaker\n  Drop JSON: http://%s/api/v1/drops/mini-speaker\n\n", ln.Addr(), ln.Addr())
	}
	return n, nil
}

// Close stops serving and closes the store.
func (n *node) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = n.http.Shutdown(ctx)
	if n.debug != nil {
		_ = n.debug.Close()
	}
	n.cancel()
	<-n.done
	_ = n.status.Close()
	return n.store.Close()
}

func parsePrefixes(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if !strings.Contains(part, "/") {
			a, err := netip.ParseAddr(part)
			if err != nil {
				return nil, fmt.Errorf("--trusted-proxy %q: not an address or CIDR", part)
			}
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(part)
		if err != nil {
			return nil, fmt.Errorf("--trusted-proxy %q: %v", part, err)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// DemoDropID is the id of the drop --demo creates.
const DemoDropID = "mini-speaker"

// createDemoDrop creates the demo drop on the leader if it does not exist:
// 3,000 Mini AI speakers, one per customer, each with a music-pass code,
// opening 30 seconds after the first start so the countdown and the queue
// can be seen.
func createDemoDrop(ctx context.Context, st *store.Store, log *slog.Logger) {
	for ctx.Err() == nil {
		var exists bool
		st.Read(func(s *sale.State) { _, exists = s.Drops[DemoDropID] })
		if exists {
			return
		}
		if !st.IsLeader() {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		vouchers := make([]string, 3000)
		for i := range vouchers {
			vouchers[i] = fmt.Sprintf("MELON-%04d", i+1)
		}
		now := time.Now()
		spec := &sale.DropSpec{
			ID: DemoDropID, Name: "Mini AI speaker", Price: 59000, Currency: "KRW",
			Stock: 3000, PerCustomerLimit: 1, StartsAt: now.Add(30 * time.Second).UnixMilli(),
			HoldSeconds: 300, AdmitPerSecond: 200, AdmitWindow: sale.DefaultAdmitWindow,
			Vouchers: vouchers, Fingerprint: "demo",
		}
		_, err := st.Apply(ctx, &sale.Command{Kind: sale.KindCreateDrop, Now: now.UnixMilli(), Drop: spec.ID, Spec: spec})
		if err != nil && floodgate.ErrorCode(err) != floodgate.EConflict {
			log.Warn("creating the demo drop failed; retrying", "err", err)
			time.Sleep(time.Second)
			continue
		}
		log.Info("demo drop created", "drop", DemoDropID, "starts_at", sale.Time(spec.StartsAt))
		return
	}
}
