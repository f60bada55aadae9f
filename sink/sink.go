package sink

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/floodgate/floodgate"
	"github.com/floodgate/floodgate/internal/defaults"
	"github.com/floodgate/floodgate/sale"
	"github.com/floodgate/floodgate/status"
)

// Store is what delivery needs from the replicated store.
type Store interface {
	sale.Replicated
	Changed() <-chan struct{}
}

// Config configures a Runner.
type Config struct {
	Store Store
	// Dev allows webhook targets on loopback and private addresses.
	Dev bool
	// HTTPClient sends webhooks; nil uses the status webhooks' guarded client.
	HTTPClient *http.Client
	// Timeout bounds one delivery (a webhook request, a PostgreSQL batch).
	Timeout time.Duration
	// Batch is the most events one delivery carries.
	Batch int
	// MinBackoff and MaxBackoff bound the wait after a failure, doubling
	// with every failure in a row.
	MinBackoff, MaxBackoff time.Duration
	// DeadAfter is how many failures in a row dead-letter a sink.
	DeadAfter int
	// Retention is how long events stay in the state after every sink has
	// them; PruneEvery is how often the leader prunes.
	Retention  time.Duration
	PruneEvery time.Duration
	Registerer prometheus.Registerer
	Logger     *slog.Logger
	Now        func() time.Time
}

func (c *Config) defaults() {
	if c.HTTPClient == nil {
		c.HTTPClient = status.SafeHTTPClient(c.Dev)
	}
	defaults.Positive(&c.Timeout, 10*time.Second)
	defaults.Positive(&c.Batch, 200)
	defaults.Positive(&c.MinBackoff, 250*time.Millisecond)
	defaults.Positive(&c.MaxBackoff, time.Minute)
	defaults.Positive(&c.DeadAfter, 30)
	if c.Retention < 0 {
		c.Retention = 0
	}
	defaults.Positive(&c.PruneEvery, 10*time.Second)
	defaults.Logging(&c.Logger, &c.Now)
}

// ValidateSpec checks a sink spec as an admin sent it: the state machine's
// rules, a webhook URL the status webhooks' address guard accepts, and a DSN
// that parses. It does not connect: an unreachable database is a sink that
// reports the failure in last_error, not a bad request. It returns the spec
// to store (the URL in canonical form, the default table filled in).
func ValidateSpec(sp sale.SinkSpec, dev bool) (sale.SinkSpec, error) {
	if sp.Kind == sale.SinkPostgres && sp.Table == "" {
		sp.Table = sale.DefaultSinkTbl
	}
	if err := sale.ValidateSinkSpec(&sp); err != nil {
		return sp, err
	}
	switch sp.Kind {
	case sale.SinkWebhook:
		if len(sp.Secret) < status.MinWebhookSecret {
			return sp, floodgate.Errorf(floodgate.EInvalid, "A webhook sink needs a \"secret\" of at least %d characters to sign its deliveries; use a long random one.", status.MinWebhookSecret)
		}
		u, err := status.CheckWebhookURL(sp.URL, dev)
		if err != nil {
			return sp, err
		}
		sp.URL = u
	case sale.SinkPostgres:
		if !strings.HasPrefix(sp.DSN, "postgres://") && !strings.HasPrefix(sp.DSN, "postgresql://") {
			return sp, floodgate.Errorf(floodgate.EInvalid, "\"dsn\" must be a URL like postgres://user:password@host:5432/db.")
		}
		if _, err := pgx.ParseConfig(sp.DSN); err != nil {
			return sp, floodgate.Errorf(floodgate.EInvalid, "\"dsn\" does not parse: %s", redactErr(err, sp.DSN))
		}
	}
	return sp, nil
}

// RedactDSN hides the password of a DSN, for views and logs.
func RedactDSN(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "(unparsable)"
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "redacted")
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", "redacted")
		u.RawQuery = q.Encode()
	}
	return u.String()
}

func redactErr(err error, dsn string) string {
	msg := err.Error()
	if u, perr := url.Parse(dsn); perr == nil {
		if pw, has := u.User.Password(); has && pw != "" {
			msg = strings.ReplaceAll(msg, pw, "redacted")
		}
	}
	return msg
}

// deliverer sends a batch of events to one sink and reports how many of
// them (a prefix) it accepted.
type deliverer interface {
	deliver(ctx context.Context, events []sale.Event) (int, error)
	// prepare readies the sink before the first batch (creates a table);
	// a failure is reported like a failed delivery.
	prepare(ctx context.Context) error
	close()
	// batch is the most events one delivery should carry, so the cursor
	// is committed often enough that a new leader repeats little.
	batch() int
}

// Runner delivers on the leader.
type Runner struct {
	cfg     Config
	log     *slog.Logger
	metrics *metrics

	mu      sync.Mutex
	workers map[string]*worker
}

type worker struct {
	cancel context.CancelFunc
	done   chan struct{}
	spec   sale.SinkSpec
}

// New returns a Runner; Run starts it.
func New(cfg Config) *Runner {
	cfg.defaults()
	return &Runner{cfg: cfg, log: cfg.Logger.With("component", "sink"), metrics: newMetrics(cfg.Registerer), workers: map[string]*worker{}}
}

// Run delivers while this node leads, until ctx ends.
func (r *Runner) Run(ctx context.Context) {
	defer r.stopAll()
	check := time.NewTicker(250 * time.Millisecond)
	defer check.Stop()
	prune := time.NewTicker(r.cfg.PruneEvery)
	defer prune.Stop()
	for {
		r.reconcile(ctx)
		select {
		case <-ctx.Done():
			return
		case <-check.C:
		case <-prune.C:
			if r.cfg.Store.IsLeader() {
				r.prune(ctx)
			}
		}
	}
}

// prune proposes PruneEvents when the oldest event is due, so that an idle
// cluster writes nothing.
func (r *Runner) prune(ctx context.Context) {
	now := r.cfg.Now().UnixMilli()
	due := false
	r.cfg.Store.Read(func(st *sale.State) {
		oldest := st.Events.First()
		if oldest == nil {
			return
		}
		due = oldest.At <= now-r.cfg.Retention.Milliseconds()
		for _, sk := range st.Sinks {
			due = due && sk.DeliveredSeq >= oldest.Seq
		}
	})
	if !due {
		return
	}
	c := &sale.Command{Kind: sale.KindPruneEvents, Now: now, RetentionMs: r.cfg.Retention.Milliseconds()}
	if _, err := r.cfg.Store.Apply(ctx, c); err != nil {
		r.log.Debug("prune events", "err", err)
	}
}

// reconcile runs one worker per sink on the leader, and none elsewhere.
func (r *Runner) reconcile(ctx context.Context) {
	want := map[string]sale.SinkSpec{}
	if r.cfg.Store.IsLeader() {
		r.cfg.Store.Read(func(st *sale.State) {
			for id, sk := range st.Sinks {
				want[id] = sk.Spec
			}
		})
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for id, w := range r.workers {
		if _, ok := want[id]; !ok {
			w.cancel()
			<-w.done
			delete(r.workers, id)
			r.metrics.forget(id)
		}
	}
	for id, spec := range want {
		if _, ok := r.workers[id]; ok {
			continue
		}
		wctx, cancel := context.WithCancel(ctx)
		w := &worker{cancel: cancel, done: make(chan struct{}), spec: spec}
		r.workers[id] = w
		go func() {
			defer close(w.done)
			r.deliverLoop(wctx, id, spec)
		}()
	}
}

func (r *Runner) stopAll() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for id, w := range r.workers {
		w.cancel()
		<-w.done
		delete(r.workers, id)
	}
}

func (r *Runner) newDeliverer(id string, spec sale.SinkSpec) deliverer {
	switch spec.Kind {
	case sale.SinkPostgres:
		return &postgresSink{dsn: spec.DSN, table: spec.Table, timeout: r.cfg.Timeout}
	default:
		return &webhookSink{url: spec.URL, secret: spec.Secret, client: r.cfg.HTTPClient, timeout: r.cfg.Timeout, now: r.cfg.Now}
	}
}

// cursor is what a worker reads of its sink at the start of an attempt.
type cursor struct {
	exists    bool
	dead      bool
	delivered uint64
	failures  int64
	tenant    string
}

// deliverLoop delivers the events of one sink in seq order until ctx ends
// (leadership lost, sink removed).
func (r *Runner) deliverLoop(ctx context.Context, id string, spec sale.SinkSpec) {
	d := r.newDeliverer(id, spec)
	defer d.close()
	log := r.log.With("sink", id, "kind", spec.Kind)
	prepared := false
	// The cursor is committed beside delivery, not in its way: the next
	// batch goes out while the one before is being committed, so a busy
	// log slows the cursor, not the sink. A new leader resumes from the
	// committed cursor and may repeat what this one delivered since.
	cc := &cursorCommitter{r: r, id: id, kick: make(chan struct{}, 1)}
	go cc.run(ctx)
	for ctx.Err() == nil {
		changed := r.cfg.Store.Changed()
		var (
			cur    cursor
			events []sale.Event
			upTo   uint64 // the last seq looked at, delivered or skipped
		)
		r.cfg.Store.Read(func(st *sale.State) {
			sk, ok := st.Sinks[id]
			if !ok {
				return
			}
			delivered := max(sk.DeliveredSeq, cc.want.Load())
			cur = cursor{exists: true, dead: sk.Dead, delivered: delivered, failures: sk.Failures, tenant: sk.Spec.Tenant}
			events, upTo = pending(st, delivered, sk.Spec.Tenant, min(r.cfg.Batch, d.batch()))
			r.metrics.backlog(id, st.EventSeq-delivered)
		})
		if !cur.exists {
			return
		}
		if cur.dead {
			r.metrics.dead(id, true)
			if !wait(ctx, changed, time.Second) {
				return
			}
			continue
		}
		r.metrics.dead(id, false)
		var err error
		n := 0
		if !prepared {
			if err = d.prepare(ctx); err == nil {
				prepared = true
			}
		}
		if err == nil && len(events) > 0 {
			n, err = d.deliver(ctx, events)
		}
		if ctx.Err() != nil {
			return
		}
		delivered := cur.delivered
		switch {
		case err == nil:
			delivered = upTo
		case n > 0:
			delivered = events[n-1].Seq
		}
		now := r.cfg.Now()
		lag := r.metrics.lag.WithLabelValues(id)
		for _, e := range events[:min(n, len(events))] {
			lag.Observe(now.Sub(sale.Time(e.At)).Seconds())
		}
		if err == nil && len(events) == 0 && upTo == cur.delivered {
			if cur.failures > 0 {
				// The preparation that failed before works now.
				cc.commitNow(ctx, delivered, "", false)
			}
			if !wait(ctx, changed, 5*time.Second) {
				return
			}
			continue
		}
		if err == nil {
			r.metrics.delivered.Add(float64(len(events)))
			cc.set(delivered)
			if cur.failures > 0 {
				cc.commitNow(ctx, delivered, "", false)
			}
			continue
		}
		failures := cur.failures + 1
		dead := failures >= int64(r.cfg.DeadAfter)
		log.Warn("delivery failed", "err", err, "failures", failures, "dead", dead, "delivered_seq", delivered)
		r.metrics.failures.Inc()
		cc.commitNow(ctx, delivered, err.Error(), dead)
		sleep(ctx, r.backoff(failures))
	}
}

// pending returns the next events after the cursor (the tenant's only, when
// the sink belongs to one) and the seq up to which events were looked at:
// events of other tenants are skipped, and the cursor moves past them too.
func pending(st *sale.State, cursor uint64, tenant string, limit int) ([]sale.Event, uint64) {
	upTo := cursor
	var out []sale.Event
	for _, e := range st.EventsAfter(cursor, limit*4, nil) {
		if len(out) >= limit {
			break
		}
		upTo = e.Seq
		if tenant == "" || e.Tenant == tenant {
			out = append(out, e)
		}
	}
	return out, upTo
}

// progress commits the cursor (and an error); it reports whether the
// command was committed.
func (r *Runner) progress(ctx context.Context, id string, delivered uint64, msg string, dead bool) bool {
	c := &sale.Command{Kind: sale.KindSinkProgress, Now: r.cfg.Now().UnixMilli(), SinkID: id, Delivered: delivered, SinkError: msg, Dead: dead}
	_, err := r.cfg.Store.Apply(ctx, c)
	if err != nil && ctx.Err() == nil {
		r.log.Debug("commit sink progress", "sink", id, "err", err)
	}
	return err == nil
}

// cursorCommitter commits one sink's cursor off the delivery path: set
// records how far delivery got and wakes run, which commits the latest
// value, one command at a time. commitNow commits in line (with an error,
// or to clear failures) after any commit in flight, so that commits of one
// sink never overtake each other.
type cursorCommitter struct {
	r    *Runner
	id   string
	want atomic.Uint64 // delivered on this leader, perhaps not yet committed
	kick chan struct{}

	mu   sync.Mutex // held while a commit is in flight
	done uint64     // committed by this worker
}

func (c *cursorCommitter) set(delivered uint64) {
	if delivered <= c.want.Load() {
		return
	}
	c.want.Store(delivered)
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

func (c *cursorCommitter) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.kick:
		}
		for !c.commitWanted(ctx) {
			sleep(ctx, c.r.cfg.MinBackoff)
			if ctx.Err() != nil {
				return
			}
		}
	}
}

// commitWanted commits the latest delivered seq unless it is already
// committed; it reports false when the commit failed.
func (c *cursorCommitter) commitWanted(ctx context.Context) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	v := c.want.Load()
	if v <= c.done {
		return true
	}
	if !c.r.progress(ctx, c.id, v, "", false) {
		return false
	}
	c.done = v
	return true
}

func (c *cursorCommitter) commitNow(ctx context.Context, delivered uint64, msg string, dead bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.r.progress(ctx, c.id, delivered, msg, dead) {
		c.done = max(c.done, delivered)
	}
}

func (r *Runner) backoff(failures int64) time.Duration {
	d := r.cfg.MinBackoff
	for i := int64(1); i < failures && d < r.cfg.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, r.cfg.MaxBackoff)
	// Up to a quarter less, so that many sinks do not retry in step.
	return d - time.Duration(rand.Int64N(int64(d)/4+1))
}

func wait(ctx context.Context, changed <-chan struct{}, max time.Duration) bool {
	t := time.NewTimer(max)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-changed:
	case <-t.C:
	}
	return true
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// Public returns the API view of an event.
func Public(e *sale.Event) floodgate.Event {
	return floodgate.Event{Seq: e.Seq, Type: e.Type, At: sale.Time(e.At), Order: sale.PublicOrder(&e.Order)}
}

var errStatus = errors.New("sink: unexpected answer")

func statusError(code int, body []byte) error {
	b := strings.TrimSpace(string(body))
	if len(b) > 200 {
		b = b[:200]
	}
	if b == "" {
		return fmt.Errorf("%w: HTTP %d", errStatus, code)
	}
	return fmt.Errorf("%w: HTTP %d: %s", errStatus, code, b)
}

// marshalEvent encodes one event as its webhook body.
func marshalEvent(e *sale.Event) ([]byte, error) { return json.Marshal(Public(e)) }
