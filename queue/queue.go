package queue

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/floodgate/floodgate"
	"github.com/floodgate/floodgate/internal/defaults"
	"github.com/floodgate/floodgate/internal/handjson"
	"github.com/floodgate/floodgate/internal/presign"
	"github.com/floodgate/floodgate/internal/ticker"
	"github.com/floodgate/floodgate/sale"
)

// Store is what the waiting room needs from the replicated store.
type Store interface {
	sale.Replicated
	LeaderEpoch() uint64
}

// QueueViewer is a Store that publishes per drop what StatusOf reads
// (sale.Drop.QueueView) after each applied batch, readable without the
// state's lock (store.Store does). Status uses it when the Store has it.
type QueueViewer interface {
	QueueView(drop string) *sale.Drop
}

// Health tells whether the identity provider is down; while it is, the
// leader's ticks stop the clock of every active hold.
type Health interface{ Down() bool }

// Config configures the waiting room.
type Config struct {
	Store        Store
	Health       Health        // may be nil
	TickInterval time.Duration // how often the leader moves time forward (default 100ms)
	BlockSize    int64         // positions reserved per Raft entry (default 1000)
	MaxPause     time.Duration // the most a hold may be paused by a login outage (default 15m)
	// AutoChallenge is the policy of drops whose join challenge is "auto"
	// (zero: DefaultAutoPolicy).
	AutoChallenge AutoPolicy
	// SignAhead is how many signatures with the ticket key (tickets and
	// receipts) the leader prepares on idle CPU while a drop is on sale, 64
	// bytes each (zero: DefaultSignAhead; negative: none, every ticket and
	// receipt is signed in full; at most MaxSignAhead).
	SignAhead int
	// Registerer, when set, gets the ticket signing metrics.
	Registerer prometheus.Registerer
	Logger     *slog.Logger
	Now        func() time.Time
}

// Service is the waiting room of one node.
type Service struct {
	cfg  Config
	log  *slog.Logger
	keys atomic.Pointer[keyset]

	issuers sync.Map // drop id → *issuer

	gate gate
}

type keyset struct {
	keys     *Keys
	verifier *Verifier
}

// New returns the waiting room.
func New(cfg Config) *Service {
	defaults.Positive(&cfg.TickInterval, 100*time.Millisecond)
	defaults.Positive(&cfg.BlockSize, 1000)
	defaults.Positive(&cfg.MaxPause, 15*time.Minute)
	defaults.Logging(&cfg.Logger, &cfg.Now)
	if cfg.SignAhead == 0 {
		cfg.SignAhead = DefaultSignAhead
	}
	cfg.SignAhead = min(cfg.SignAhead, MaxSignAhead)
	if cfg.AutoChallenge == (AutoPolicy{}) {
		cfg.AutoChallenge = DefaultAutoPolicy()
	}
	s := &Service{cfg: cfg, log: cfg.Logger.With("component", "queue")}
	s.gate.pressure = newPressure(cfg.AutoChallenge)
	if cfg.Registerer != nil {
		s.registerSignMetrics(cfg.Registerer)
	}
	return s
}

// Keys returns the signing keys, or an EUnavailable error before the cluster
// secret is committed (just after the first start).
func (s *Service) Keys() (*Keys, *Verifier, error) {
	if ks := s.keys.Load(); ks != nil {
		return ks.keys, ks.verifier, nil
	}
	var secret []byte
	s.cfg.Store.Read(func(st *sale.State) { secret = append([]byte(nil), st.Secret...) })
	if len(secret) == 0 {
		return nil, nil, floodgate.Errorf(floodgate.EUnavailable, "The node is starting; retry in a moment.")
	}
	k := DeriveKeys(secret)
	k.ahead = presign.New(k.TicketKey, s.cfg.SignAhead)
	ks := &keyset{keys: k, verifier: NewVerifier(k.TicketPub).WithMAC(k.MACKey)}
	s.keys.CompareAndSwap(nil, ks)
	ks = s.keys.Load()
	return ks.keys, ks.verifier, nil
}

// Join hands out a ticket for drop. Only the leader can; other nodes forward.
func (s *Service) Join(ctx context.Context, drop string) (string, Status, error) {
	keys, _, err := s.Keys()
	if err != nil {
		return "", Status{}, err
	}
	now := s.cfg.Now()
	var (
		known, started, closed bool
		startsAt               int64
	)
	s.cfg.Store.Read(func(st *sale.State) {
		if d, ok := st.Drops[drop]; ok {
			known, started, closed, startsAt = true, d.Started, d.Closed, d.Spec.StartsAt
		}
	})
	if !known {
		return "", Status{}, floodgate.Errorf(floodgate.ENotFound, "There is no drop %q.", drop)
	}
	if closed {
		return "", Status{}, floodgate.Errorf(floodgate.EConflict, "The drop is closed; the queue no longer takes visitors.")
	}
	if !s.cfg.Store.IsLeader() {
		return "", Status{}, floodgate.Errorf(floodgate.EUnavailable, "This node is not the leader right now; retry in a moment.")
	}
	early, seq, err := s.issue(ctx, drop, started || now.UnixMilli() >= startsAt)
	if err != nil {
		return "", Status{}, err
	}
	var vid [16]byte
	_, _ = rand.Read(vid[:])
	c := &Claims{
		Drop:    drop,
		Visitor: base64.RawURLEncoding.EncodeToString(vid[:]),
		Early:   early,
		Seq:     seq,
		RegisteredClaims: jwt.RegisteredClaims{
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(TicketTTL)),
		},
	}
	st, err := s.Status(c)
	if err == nil && !early && st.StartsAt != nil && st.State == floodgate.QueueWaiting {
		st, err = s.placed(ctx, c, st)
	}
	if err != nil {
		return "", Status{}, err
	}
	c.Position = st.Position
	tok, err := SignTicket(keys, c)
	if err != nil {
		return "", Status{}, err
	}
	return tok, st, nil
}

func (s *Service) issuer(drop string) *issuer {
	// Every join looks its drop's issuer up: a sync.Map, not a mutex, so
	// that joins of a burst never queue behind one descheduled holder.
	if is, ok := s.issuers.Load(drop); ok {
		return is.(*issuer)
	}
	is, _ := s.issuers.LoadOrStore(drop, &issuer{})
	return is.(*issuer)
}

// Status is what a visitor is told about its place in the queue.
type Status struct {
	State       string     `json:"state"`
	Position    int64      `json:"position"`
	Ahead       int64      `json:"ahead"`
	ETASeconds  int64      `json:"eta_seconds"`
	BeyondStock bool       `json:"beyond_stock"`
	Early       bool       `json:"early,omitempty"`
	StartsAt    *time.Time `json:"starts_at,omitempty"`
	Available   int64      `json:"available"`
	// Paused is set while an operator holds admission: the visitor keeps
	// the place, and PauseReason says why when the operator gave a reason.
	Paused      bool   `json:"paused,omitempty"`
	PauseReason string `json:"pause_reason,omitempty"`
}

// Status computes a ticket's place from the applied state: any node can
// answer it, without a consensus read (it may lag the leader by a tick).
// Drops are never removed, so a valid ticket for a drop this node does not
// know yet means the node has not applied the drop's creation: that is an
// unavailable answer to retry, not a final "closed" that would send the
// visitor away.
func (s *Service) Status(c *Claims) (Status, error) {
	now := s.cfg.Now().UnixMilli()
	var (
		st    Status
		known bool
	)
	if v, ok := s.cfg.Store.(QueueViewer); ok {
		// The many status readers of a rush never wait for the lock the
		// state machine holds while it applies a batch.
		if d := v.QueueView(c.Drop); d != nil {
			known, st = true, StatusOf(d, c.Early, c.Seq, now)
		}
	} else {
		known, st = s.lockedStatus(c, now)
	}
	if !known {
		return Status{}, floodgate.Errorf(floodgate.EUnavailable, "This server has not caught up with the drop yet; ask again in a moment.")
	}
	return st, nil
}

// lockedStatus is Status under the state's lock, for stores without queue
// views; apart from Status so that the variables its reader sets escape
// only on this path.
func (s *Service) lockedStatus(c *Claims, now int64) (known bool, st Status) {
	s.cfg.Store.Read(func(state *sale.State) {
		if d, ok := state.Drops[c.Drop]; ok {
			known, st = true, StatusOf(d, c.Early, c.Seq, now)
		}
	})
	return known, st
}

// StatusOf computes the queue status of a ticket (early, seq) in drop d at now.
func StatusOf(d *sale.Drop, early bool, seq int64, now int64) Status {
	st := Status{Early: early, Available: d.Available, Paused: d.Paused, PauseReason: d.PauseReason}
	pos, known := d.Position(early, seq)
	switch {
	case d.Closed:
		st.State = floodgate.QueueClosed
	case d.Sold >= d.Spec.Stock || d.Available+d.Held+d.AwaitingPayment == 0:
		st.State = floodgate.QueueSoldOut
	case known && d.Admitted(pos, 1):
		st.State = floodgate.QueueAdmitted
	default:
		st.State = floodgate.QueueWaiting
	}
	if !known {
		t := sale.Time(d.Spec.StartsAt)
		st.StartsAt = &t
		st.ETASeconds = max(0, (d.Spec.StartsAt-now+999)/1000)
		return st
	}
	st.Position = pos + 1
	if st.State != floodgate.QueueWaiting {
		return st
	}
	if pos < d.AdmittedUpTo {
		// An uncounted position the counter passed, with every unit left
		// promised (sale/uncounted.go): a unit that comes back goes to the
		// next admission step first, so the visitor waits behind everyone
		// reported and not yet admitted.
		st.Ahead = d.Ahead(max(d.Issued, d.AdmittedUpTo))
	} else {
		st.Ahead = d.Ahead(pos)
	}
	rate := max(d.Spec.AdmitPerSecond, 1)
	st.ETASeconds = (st.Ahead + rate - 1) / rate
	if !d.Started {
		st.ETASeconds += max(0, (d.Spec.StartsAt-now+999)/1000)
	}
	// Units awaiting payment may come back (unpaid orders expire).
	st.BeyondStock = st.Ahead+d.Unresolved() >= d.Available+d.Held+d.AwaitingPayment
	return st
}

// Run runs the leader's ticker until ctx ends: on the leader it commits the
// cluster secret once, and a Tick every TickInterval that starts drops,
// expires holds, pauses them while login is down, and moves admission on.
func (s *Service) Run(ctx context.Context) {
	ticker.Every(ctx, s.cfg.TickInterval, func(ctx context.Context) {
		if !s.cfg.Store.IsLeader() {
			return
		}
		if err := s.tick(ctx); err != nil {
			s.log.Warn("tick failed", "err", err)
		}
	})
	// The signatures prepared ahead (started by a tick) stop with the
	// ticks, and their nonces are wiped.
	if ks := s.keys.Load(); ks != nil {
		ks.keys.ahead.Stop()
	}
}

func (s *Service) tick(ctx context.Context) error {
	now := s.cfg.Now().UnixMilli()
	var (
		hasSecret bool
		cmd       = sale.Command{Kind: sale.KindTick, Now: now, MaxPauseMs: s.cfg.MaxPause.Milliseconds()}
		busy      bool
	)
	type dropInfo struct {
		id         string
		lateIssued int64
		startNow   bool
	}
	var drops []dropInfo
	s.cfg.Store.Read(func(st *sale.State) {
		hasSecret = len(st.Secret) > 0
		for id, d := range st.Drops {
			if d.Closed {
				// Unpaid orders of a closed drop still expire on time.
				busy = busy || d.AwaitingPayment > 0
				continue
			}
			if d.Started && d.Sold >= d.Spec.Stock {
				continue
			}
			busy = true
			drops = append(drops, dropInfo{id: id, lateIssued: d.LateIssued, startNow: !d.Started && now >= d.Spec.StartsAt})
		}
	})
	if !hasSecret {
		secret := make([]byte, 32)
		_, _ = rand.Read(secret)
		if _, err := s.cfg.Store.Apply(ctx, &sale.Command{Kind: sale.KindInitSecret, Now: now, Secret: secret}); err != nil {
			return err
		}
	}
	if !busy {
		return nil
	}
	if len(drops) > 0 {
		// A drop on sale may bring a rush of joins and orders: the
		// leader prepares their tickets' and receipts' signatures ahead
		// (internal/presign).
		if keys, _, err := s.Keys(); err == nil {
			keys.ahead.Start(ctx, s.log)
		}
	}
	epoch := s.cfg.Store.LeaderEpoch()
	for _, di := range drops {
		is := s.issuer(di.id)
		// Without a block of its own this term, the leader knows of no late
		// position beyond what was already reported, and does not know how
		// many early ones earlier leaders handed out (-1: the state machine
		// skips what they never reported; sale/earlygaps.go). The counts are
		// read without the issuer's lock, so a join waiting for a block
		// reservation does not hold up the tick, except when this tick
		// proposes the start: then no early position may be handed out
		// after the count (queue/issuer.go take).
		rep := sale.Issued{Drop: di.id, Early: is.reported(&is.early, epoch), Late: di.lateIssued}
		if di.startNow {
			rep.Early = is.closeEarly(epoch)
		}
		if n := is.reported(&is.late, epoch); n >= 0 {
			rep.Late = n
		}
		cmd.Issued = append(cmd.Issued, rep)
	}
	var seed [8]byte
	_, _ = rand.Read(seed[:])
	cmd.Seed = binary.LittleEndian.Uint64(seed[:])
	if h := s.cfg.Health; h != nil && h.Down() {
		cmd.Paused = true
	}
	_, err := s.cfg.Store.Apply(ctx, &cmd)
	return err
}

// AppendJSON appends st as JSON, the same as encoding/json would write it.
// Status answers are the hottest path of a rush, so they skip reflection.
func (st Status) AppendJSON(b []byte) []byte {
	b = append(b, `{"state":"`...)
	b = append(b, st.State...)
	b = append(b, `","position":`...)
	b = strconv.AppendInt(b, st.Position, 10)
	b = append(b, `,"ahead":`...)
	b = strconv.AppendInt(b, st.Ahead, 10)
	b = append(b, `,"eta_seconds":`...)
	b = strconv.AppendInt(b, st.ETASeconds, 10)
	b = append(b, `,"beyond_stock":`...)
	b = strconv.AppendBool(b, st.BeyondStock)
	if st.Early {
		b = append(b, `,"early":true`...)
	}
	if st.StartsAt != nil {
		b = append(b, `,"starts_at":"`...)
		b = st.StartsAt.AppendFormat(b, time.RFC3339Nano)
		b = append(b, '"')
	}
	b = append(b, `,"available":`...)
	b = strconv.AppendInt(b, st.Available, 10)
	if st.Paused {
		b = append(b, `,"paused":true`...)
	}
	if st.PauseReason != "" {
		b = append(b, `,"pause_reason":`...)
		b = handjson.AppendString(b, st.PauseReason)
	}
	return append(b, '}')
}
