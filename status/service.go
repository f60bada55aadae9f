package status

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/floodgate/floodgate"
	"github.com/floodgate/floodgate/internal/defaults"
)

// SMSConfig is an SMS gateway that takes a Twilio-style form post
// (To, From, Body) with HTTP basic auth (account, token).
type SMSConfig struct {
	// URL of the gateway; "{account}" is replaced by Account, e.g.
	// https://api.twilio.com/2010-04-01/Accounts/{account}/Messages.json.
	URL     string
	Account string
	Token   string
	From    string
}

// SMTPConfig is the mail server that email notices are sent through.
type SMTPConfig struct {
	Addr     string // host:port
	From     string
	Username string // optional; with Password, PLAIN auth (only over TLS or to localhost)
	Password string
}

// Config configures a Service.
type Config struct {
	DataDir    string // the store lives in DataDir/status
	AdminToken string
	Dev        bool // allow loopback and private subscriber targets
	PageName   string
	PublicURL  string // base URL for unsubscribe links; may be ""
	SMS        SMSConfig
	SMTP       SMTPConfig
	Logger     *slog.Logger
	Now        func() time.Time // nil means time.Now

	// AutoOpenAfter is how long a signal must stay bad before an automatic
	// incident opens (informational signals with impact none open at once).
	AutoOpenAfter time.Duration
	// AutoResolveAfter is how long a signal must stay good before its
	// incident is resolved; until then it shows "monitoring", and a relapse
	// reopens the same incident instead of a new one.
	AutoResolveAfter time.Duration
	// OutageNoticeAfter is how long an outage (impact major or critical) may
	// last before every affected buyer and maker is sent a notice (2 hours).
	OutageNoticeAfter time.Duration
	// RetryBase is the first retry delay of a failed delivery; it doubles
	// up to RetryMax.
	RetryBase time.Duration
	RetryMax  time.Duration
	// MaxAttempts is how many times one delivery is tried before it is
	// given up (and logged as such).
	MaxAttempts int
	// HTTPClient sends webhooks, Slack messages and SMS; nil means a client
	// that refuses private addresses unless Dev is set.
	HTTPClient *http.Client
	// Mirror marks a standalone status server fed by the core: incidents
	// copied from the core are not delivered again to subscribers.
	Mirror bool
	// MirrorFrom, when set, are the base URLs of core nodes (comma-separated)
	// that the Service mirrors every MirrorInterval (5 s) from Open until
	// Close (see (*Service).Mirror); it implies Mirror.
	MirrorFrom     string
	MirrorInterval time.Duration
	// Apart marks a status server that runs apart from the sale servers
	// (floodgate status serve); only its page says it stays up when they
	// are down.
	Apart bool
	// Vouched, on a core node, reports whether the node's router already
	// checked that a request is an admin call (a write a follower forwarded
	// without the token); nil trusts the token only.
	Vouched func(r *http.Request) bool
	// Caller, on a core node, resolves a bearer token that is not the
	// admin token to a tenant's API key (http.ResolveCaller); tenant keys
	// may read their own affected buyers and nothing else here.
	Caller func(r *http.Request) (floodgate.Caller, bool)
	// ClientIP, on a core node, is the client address the node's router
	// found (through trusted proxies and forwarding); nil uses the peer
	// address.
	ClientIP func(r *http.Request) netip.Addr
	// PendingTTL is how long a public subscription waits for its
	// confirmation (24 hours); ConfirmsPerTarget bounds the confirmation
	// messages one target gets a day (3), SubscribesPerIP the subscription
	// requests per client address an hour (10; negative: no limit).
	PendingTTL time.Duration
	// MaintenanceReminder is how long before a maintenance window its
	// subscribers are reminded (1 hour).
	MaintenanceReminder time.Duration
	ConfirmsPerTarget   int
	SubscribesPerIP     int
	// Replica, on a core node, replicates the status records through the
	// cluster's log (see Replica); nil keeps them in DataDir/status only.
	Replica Replica
}

// Service is the status page, its store, and the delivery of notices.
type Service struct {
	cfg      Config
	log      *slog.Logger
	now      func() time.Time
	st       *store
	channels map[string]Channel

	mu           sync.Mutex
	components   map[string]*Component
	incidents    map[string]*Incident
	maintenances map[string]*Maintenance
	subscribers  map[string]*Subscriber
	outbox       map[string]*Delivery
	signals      map[string]*signalState
	live         map[string]*liveSignal // this node's own view of bad signals (live.go)
	inflight     map[string]bool
	unrecorded   map[string]unrecorded // outcomes of attempts not yet recorded (unrecorded.go)
	affected     AffectedSource
	noticeTried  map[string]time.Time // incident id → last try of its outage notice
	subscribeIPs map[string]*ipWindow // client address → public subscription requests
	// mirrorIndicator is the overall indicator the core last reported.
	mirrorIndicator string

	// With a Replica: the Seq last read, the Seq that last wrote each
	// record, whether everything must be read afresh, and whether the
	// node-local records were moved into the cluster.
	seenSeq  uint64
	recSeq   map[string]uint64
	resync   bool
	migrated bool

	wake    chan struct{}
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	sends   sync.WaitGroup
	closing sync.Once
}

// Open opens (or creates) the store under cfg.DataDir/status, registers the
// fixed components and starts delivering the outbox.
func Open(cfg Config) (*Service, error) {
	defaults.Logging(&cfg.Logger, &cfg.Now)
	defaults.Zero(&cfg.PageName, "Floodgate")
	defaults.Zero(&cfg.AutoOpenAfter, 15*time.Second)
	defaults.Zero(&cfg.AutoResolveAfter, 60*time.Second)
	defaults.Zero(&cfg.OutageNoticeAfter, 2*time.Hour)
	defaults.Zero(&cfg.RetryBase, 2*time.Second)
	defaults.Zero(&cfg.RetryMax, 10*time.Minute)
	defaults.Zero(&cfg.MaxAttempts, 20)
	defaults.Positive(&cfg.MaintenanceReminder, time.Hour)
	defaults.Positive(&cfg.PendingTTL, DefaultPendingTTL)
	defaults.Positive(&cfg.ConfirmsPerTarget, DefaultConfirmsPerTarget)
	defaults.Zero(&cfg.SubscribesPerIP, DefaultSubscribesPerIP)
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	cfg.Mirror = cfg.Mirror || cfg.MirrorFrom != ""
	st, err := openStore(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	s := &Service{
		cfg:          cfg,
		log:          cfg.Logger.With("component", "status"),
		now:          func() time.Time { return cfg.Now().UTC() },
		st:           st,
		components:   map[string]*Component{},
		incidents:    map[string]*Incident{},
		maintenances: map[string]*Maintenance{},
		subscribers:  map[string]*Subscriber{},
		outbox:       map[string]*Delivery{},
		signals:      map[string]*signalState{},
		live:         map[string]*liveSignal{},
		inflight:     map[string]bool{},
		unrecorded:   map[string]unrecorded{},
		noticeTried:  map[string]time.Time{},
		subscribeIPs: map[string]*ipWindow{},
		wake:         make(chan struct{}, 1),
	}
	s.channels = newChannels(&s.cfg)
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if cfg.Replica != nil {
		s.syncReplica(true)
		s.wg.Add(1)
		go s.follow()
	} else {
		if err := s.loadAll(); err != nil {
			st.close()
			return nil, err
		}
		if err := s.ensureFixedComponents(); err != nil {
			st.close()
			return nil, err
		}
	}
	s.wg.Add(1)
	go s.run()
	if cfg.MirrorFrom != "" {
		s.wg.Go(func() { s.Mirror(s.ctx, cfg.MirrorFrom, cfg.MirrorInterval) })
	}
	return s, nil
}

func (s *Service) loadAll() error {
	loaders := []error{
		load(s.st, bucketComponents, func(c *Component) { s.components[c.ID] = c }),
		load(s.st, bucketIncidents, func(i *Incident) { s.incidents[i.ID] = i }),
		load(s.st, bucketMaintenances, func(m *Maintenance) { s.maintenances[m.ID] = m }),
		load(s.st, bucketSubscribers, func(sub *Subscriber) { s.subscribers[sub.ID] = sub }),
		load(s.st, bucketOutbox, func(d *Delivery) { s.outbox[d.ID] = d }),
		load(s.st, bucketSignals, func(g *signalState) { s.signals[g.Key] = g }),
	}
	for _, err := range loaders {
		if err != nil {
			return err
		}
	}
	if n := len(s.outbox); n > 0 {
		s.log.Info("resuming queued deliveries", "count", n)
	}
	return nil
}

// ensureFixedComponents records the fixed components that are missing.
// With a Replica, the leader records them once in the log, so that every
// node shows the same creation times.
func (s *Service) ensureFixedComponents() error {
	return s.mutate(func(b *batch) error {
		now := s.now()
		for i, fc := range fixedComponents {
			if s.cfg.Replica != nil {
				if _, ok := s.recSeq[string(bucketComponents)+"/"+fc.ID]; ok {
					continue
				}
			} else if _, ok := s.components[fc.ID]; ok {
				continue
			}
			c := fc
			c.Position = i + 1
			c.Source = componentSourceFixed
			c.CreatedAt, c.UpdatedAt = now, now
			s.components[c.ID] = &c
			b.put(bucketComponents, c.ID, &c)
		}
		return nil
	})
}

// addFixedLocked shows the fixed components before the leader has
// recorded them (just after a new cluster starts).
func (s *Service) addFixedLocked() {
	for i, fc := range fixedComponents {
		if _, ok := s.components[fc.ID]; ok {
			continue
		}
		c := fc
		c.Position = i + 1
		c.Source = componentSourceFixed
		s.components[c.ID] = &c
	}
}

// SetComponents makes one component per drop, in addition to the fixed ones.
// The component id is the drop id. Drops no longer listed are removed unless
// an unresolved incident still names them.
func (s *Service) SetComponents(drops []string) {
	if !s.writer() {
		return
	}
	err := s.mutate(func(b *batch) error {
		now := s.now()
		want := map[string]bool{}
		for i, d := range drops {
			d = strings.TrimSpace(d)
			if d == "" {
				continue
			}
			want[d] = true
			if c, ok := s.components[d]; ok {
				if c.Source != componentSourceDrop || c.Position != 100+i {
					if c.Source == componentSourceFixed {
						continue // a drop may not take a fixed component's id
					}
					c.Source, c.Position, c.UpdatedAt = componentSourceDrop, 100+i, now
					b.put(bucketComponents, c.ID, c)
				}
				continue
			}
			c := &Component{ID: d, Name: "Drop: " + d, NameKO: "드롭: " + d, Position: 100 + i, Source: componentSourceDrop, CreatedAt: now, UpdatedAt: now}
			s.components[d] = c
			b.put(bucketComponents, d, c)
		}
		for id, c := range s.components {
			if c.Source == componentSourceDrop && !want[id] && !s.componentInUse(id) {
				delete(s.components, id)
				b.del(bucketComponents, id)
			}
		}
		return nil
	})
	if err != nil {
		s.log.Error("could not save drop components", "err", err)
	}
}

func (s *Service) componentInUse(id string) bool {
	for _, inc := range s.incidents {
		if !isResolved(inc.Status) && slices.Contains(inc.Components, id) {
			return true
		}
	}
	return false
}

// SetAffectedSource tells the Service how to find the buyers affected by an
// incident (for the affected list and the two-hour notice).
func (s *Service) SetAffectedSource(src AffectedSource) {
	s.mu.Lock()
	s.affected = src
	s.mu.Unlock()
}

// Close stops delivering and closes the store. Deliveries not yet sent stay
// in the outbox and are sent after the next Open.
func (s *Service) Close() error {
	var err error
	s.closing.Do(func() {
		s.cancel()
		s.wg.Wait()
		s.sends.Wait() // in-flight sends end when ctx is cancelled
		err = s.st.close()
	})
	return err
}

// mutate runs fn under the lock and commits the writes it collected in one
// fsynced transaction, so that an API answer of 2xx means the change is on
// disk.
func (s *Service) mutate(fn func(b *batch) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mutateLocked(fn)
}

func (s *Service) mutateLocked(fn func(b *batch) error) error {
	var b batch
	if err := fn(&b); err != nil {
		return err
	}
	if err := s.persist(&b); err != nil {
		if s.cfg.Replica != nil {
			s.log.Warn("status change not committed", "err", err)
			return err
		}
		s.log.Error("status store write failed", "err", err)
		return floodgate.Errorf(floodgate.EUnavailable, "The status store could not save the change (%v); check the disk of the data directory and try again.", err)
	}
	if len(b.puts) > 0 {
		s.kick()
	}
	return nil
}

// kick wakes the background loop.
func (s *Service) kick() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// run is the background loop: automatic incidents, the two-hour notices and
// the outbox.
func (s *Service) run() {
	defer s.wg.Done()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-s.wake:
		case <-timer.C:
		}
		next := idleWake
		if s.writer() {
			if s.cfg.Replica != nil {
				s.migrateLocal()
				if err := s.ensureFixedComponents(); err != nil {
					s.log.Debug("could not record the fixed components yet", "err", err)
				}
			}
			s.evaluateSignals()
			s.checkOutageNotices()
			s.expirePending()
			s.checkMaintenances()
			next = s.dispatch()
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(next)
	}
}

// sortedComponents returns the components in page order.
func (s *Service) sortedComponents() []*Component {
	out := make([]*Component, 0, len(s.components))
	for _, c := range s.components {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Position != out[j].Position {
			return out[i].Position < out[j].Position
		}
		if out[i].Group != out[j].Group {
			return out[i].Group // a group before its first member
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// checkComponents validates a list of component ids.
func (s *Service) checkComponents(ids []string) ([]string, error) {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		id = strings.TrimSpace(id)
		if _, ok := s.components[id]; !ok {
			known := make([]string, 0, len(s.components))
			for _, c := range s.sortedComponents() {
				known = append(known, c.ID)
			}
			return nil, floodgate.Errorf(floodgate.EInvalid, "Unknown component %q; use one of: %s.", id, strings.Join(known, ", "))
		}
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out, nil
}

func (s *Service) String() string { return fmt.Sprintf("status.Service(%s)", s.cfg.PageName) }
