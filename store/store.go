package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/floodgate/floodgate"
	"github.com/floodgate/floodgate/sale"
)

// Config configures a Store.
type Config struct {
	Dir           string // data directory; raft/ holds the log, snapshots/ the snapshots
	NodeID        string
	RaftAddr      string // address to bind the Raft transport to
	AdvertiseAddr string // address other nodes reach this one at; RaftAddr when empty
	// Bootstrap makes this node the first member of a new cluster when it has
	// no state yet. A single node always bootstraps itself.
	Bootstrap bool
	// MaxBatch is the most commands one log entry carries.
	MaxBatch int
	// InFlight is the most log entries being committed at once; while they
	// are, new commands wait and form a larger batch. 1 by default: with a
	// second entry in flight, the commands that arrive while one commits
	// are cut into many small entries instead of one
	// (docs/benchmarks-history.md, "The engine in round 6").
	InFlight          int
	SnapshotThreshold uint64
	SnapshotInterval  time.Duration
	// TrailingLogs is how many log entries are kept after a snapshot, so a
	// follower that lags by less catches up from the log, not a snapshot.
	TrailingLogs uint64
	ApplyTimeout time.Duration
	Logger       *slog.Logger
	Registerer   prometheus.Registerer
	// TLS turns on mutual TLS between nodes. Without it Raft runs in plain
	// TCP, which Check refuses off loopback unless InsecurePlaintext.
	TLS               TLSFiles
	InsecurePlaintext bool

	// wrapBarrier, in tests, wraps the barrier a new leader waits on.
	wrapBarrier func(barrier func(time.Duration) error) func(time.Duration) error
	// beforeAppend, in tests, runs before each append to the log.
	beforeAppend func(logs []*raft.Log)
}

// Defaults of the snapshot settings, also the defaults of floodgate serve's
// flags.
const (
	DefaultSnapshotThreshold = 8192
	DefaultSnapshotInterval  = 30 * time.Second
	DefaultTrailingLogs      = 10240
)

func (c *Config) defaults() {
	if c.NodeID == "" {
		c.NodeID = "node1"
	}
	if c.RaftAddr == "" {
		c.RaftAddr = "127.0.0.1:0"
	}
	if c.MaxBatch <= 0 {
		c.MaxBatch = 4096
	}
	if c.InFlight <= 0 {
		c.InFlight = 1
	}
	if c.SnapshotThreshold == 0 {
		c.SnapshotThreshold = DefaultSnapshotThreshold
	}
	if c.SnapshotInterval == 0 {
		c.SnapshotInterval = DefaultSnapshotInterval
	}
	if c.TrailingLogs == 0 {
		c.TrailingLogs = DefaultTrailingLogs
	}
	if c.ApplyTimeout == 0 {
		c.ApplyTimeout = 10 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Store is a replica of the sale state.
type Store struct {
	cfg       Config
	raft      *raft.Raft
	fsm       *fsm
	wal       *diskLog
	lock      *os.File // the data dir's lock, released by closeLow
	transport raft.Transport
	log       *slog.Logger

	q        queue
	kick     chan struct{} // wakes batchLoop when the queue gets its first command
	slots    chan struct{}
	proposed chan *batch // to waitLoop, in the order proposed
	inflight inflight
	stop     chan struct{}
	wg       sync.WaitGroup
	waitDone chan struct{} // closed when waitLoop returns
	closeMu  sync.Once

	leader atomic.Bool
	epoch  atomic.Uint64
	// leaderChanged is closed, and replaced, when leader changes, and
	// closed for good when the store closes.
	leaderMu      sync.Mutex
	leaderChanged chan struct{}
	// barrier waits until every committed entry is applied.
	barrier func(timeout time.Duration) error

	metrics *metrics
}

// Open opens (or creates) the store in cfg.Dir and starts Raft. Only one
// process may use a data dir: a second one fails at once. The data dir is
// made readable by its owner only, even if it was made by hand: it holds the
// cluster secret and every order.
func Open(cfg Config) (*Store, error) {
	cfg.defaults()
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	if cfg.InsecurePlaintext && cfg.TLS.CertFile == "" {
		cfg.Logger.Warn("Raft runs in plain TCP on a network address (--insecure-raft-plaintext): anyone who reaches it can read the cluster secret and write to the log")
	}
	raftDir := filepath.Join(cfg.Dir, "raft")
	if err := os.MkdirAll(raftDir, 0o700); err != nil {
		return nil, fmt.Errorf("create %s: %w", raftDir, err)
	}
	if err := os.Chmod(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("restrict the data dir: %w", err)
	}
	lock, err := lockDir(cfg.Dir)
	if err != nil {
		return nil, err
	}
	s, err := openLocked(cfg, raftDir, lock)
	if err != nil {
		_ = lock.Close()
	}
	return s, err
}

// lockDir takes an exclusive lock on dir/LOCK, held until the file closes.
func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, "LOCK"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open the lock of %s: %w", dir, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("the data dir %s is in use by another floodgate process (stop it, or give this one its own --data-dir): %w", dir, err)
	}
	return f, nil
}

func openLocked(cfg Config, raftDir string, lock *os.File) (*Store, error) {
	s := &Store{
		lock:     lock,
		cfg:      cfg,
		fsm:      newFSM(),
		log:      cfg.Logger.With("component", "store"),
		kick:     make(chan struct{}, 1),
		slots:    make(chan struct{}, cfg.InFlight),
		proposed: make(chan *batch, 1024),
		inflight: inflight{m: map[*byte]*batch{}},
		stop:     make(chan struct{}),
		metrics:  newMetrics(cfg.Registerer),

		leaderChanged: make(chan struct{}),
	}
	s.fsm.onApply = s.metrics.applied
	s.fsm.claim = s.inflight.claim
	s.fsm.answer = s.answer

	walDir := filepath.Join(raftDir, "wal")
	if err := os.MkdirAll(walDir, 0o700); err != nil {
		return nil, fmt.Errorf("create %s: %w", walDir, err)
	}
	// The log reopens itself after a failed write (disklog.go).
	wal, err := openDiskLog(walDir, cfg.Dir, cfg.Logger, cfg.Registerer)
	if err != nil {
		return nil, fmt.Errorf("open the raft log in %s (is another floodgate using this data dir?): %w", raftDir, err)
	}
	s.wal = wal
	wal.beforeAppend = cfg.beforeAppend
	snaps, err := raft.NewFileSnapshotStoreWithLogger(cfg.Dir, 2, hclogger(cfg.Logger, "snapshots"))
	if err != nil {
		s.closeLow()
		return nil, fmt.Errorf("open snapshots: %w", err)
	}

	layer, err := NewLayer(LayerConfig{Bind: cfg.RaftAddr, Advertise: cfg.AdvertiseAddr, TLSFiles: cfg.TLS})
	if err != nil {
		s.closeLow()
		return nil, err
	}
	s.transport = raft.NewNetworkTransportWithLogger(layer, 3, 10*time.Second, hclogger(cfg.Logger, "transport"))

	rc := raftConfig(raft.ServerID(cfg.NodeID), hclogger(cfg.Logger, "raft"))
	rc.SnapshotThreshold = cfg.SnapshotThreshold
	rc.SnapshotInterval = cfg.SnapshotInterval
	rc.TrailingLogs = cfg.TrailingLogs

	hasState, err := raft.HasExistingState(wal, wal, snaps)
	if err != nil {
		s.closeLow()
		return nil, err
	}
	r, err := raft.NewRaft(rc, s.fsm, wal, wal, snaps, s.transport)
	if err != nil {
		s.closeLow()
		return nil, fmt.Errorf("start raft: %w", err)
	}
	s.raft = r
	s.barrier = func(d time.Duration) error { return r.Barrier(d).Error() }
	if cfg.wrapBarrier != nil {
		s.barrier = cfg.wrapBarrier(s.barrier)
	}
	if !hasState && cfg.Bootstrap {
		f := r.BootstrapCluster(raft.Configuration{Servers: []raft.Server{{
			ID: rc.LocalID, Address: s.transport.LocalAddr(),
		}}})
		if err := f.Error(); err != nil && !errors.Is(err, raft.ErrCantBootstrap) {
			s.Close()
			return nil, fmt.Errorf("bootstrap: %w", err)
		}
	}
	s.wg.Add(2)
	s.waitDone = make(chan struct{})
	go s.batchLoop()
	go s.waitLoop()
	go s.watchLeadership()
	return s, nil
}

func resolveAdvertise(bind, adv string) (net.Addr, error) {
	if adv == "" {
		host, port, err := net.SplitHostPort(bind)
		if err != nil {
			return nil, fmt.Errorf("--raft-addr %q: %w", bind, err)
		}
		if port == "0" {
			return nil, nil // the transport advertises the port it got
		}
		if host == "" || host == "0.0.0.0" || host == "::" {
			return nil, fmt.Errorf("--raft-addr %q binds every interface; set --raft-advertise to an address other nodes can reach", bind)
		}
		adv = bind
	}
	a, err := net.ResolveTCPAddr("tcp", adv)
	if err != nil {
		return nil, fmt.Errorf("raft advertise address %q: %w", adv, err)
	}
	return a, nil
}

// Apply proposes one command and waits until it is committed and applied.
// An error means the command did not happen: the state machine refused it
// (its coded error is returned as is), or it may have happened and is safe to
// send again (every command is idempotent by its key). Callers check one
// error; the Result's Err is already folded into it.
//
// Every queued command is answered exactly once: by the FSM, by waitLoop
// when its entry fails, or by Close (sweep). So the caller waits on its own
// channel alone, not in a select with the store's stop channel, which every
// waiting caller would otherwise lock twice per command.
func (s *Store) Apply(ctx context.Context, c *sale.Command) (sale.Result, error) {
	if s.wal.fault.Load() != nil {
		return sale.Result{}, unavailableDisk()
	}
	p := pendingPool.Get().(*pending)
	p.cmd = sale.AppendCommand(p.cmd[:0], c)
	if err := s.enqueue(p); err != nil {
		pendingPool.Put(p)
		return sale.Result{}, err
	}
	<-p.done
	res, err := p.res, p.err
	p.res, p.err = sale.Result{}, nil
	pendingPool.Put(p)
	if err == nil && res.Err != nil {
		return res, res.Err
	}
	return res, err
}

// maxQueued is the most commands that wait for a batch; more are refused
// as overload.
const maxQueued = 1 << 16

// enqueue queues p for the batch loop unless the store is closing: Close
// sets q.closing before it sweeps the queue, so a command queued here is
// either swept or batched.
func (s *Store) enqueue(p *pending) error {
	s.q.mu.Lock()
	if s.q.closing {
		s.q.mu.Unlock()
		return errClosed
	}
	if len(s.q.waiting) >= maxQueued {
		s.q.mu.Unlock()
		return errOverloaded
	}
	s.q.waiting = append(s.q.waiting, p)
	first := len(s.q.waiting) == 1
	s.q.mu.Unlock()
	if first {
		s.wake()
	}
	return nil
}

// wake wakes batchLoop unless a wake is pending already.
func (s *Store) wake() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// take takes the first waiting commands, as many as one batch may carry,
// into reqs.
func (s *Store) take(reqs []*pending) ([]*pending, int) {
	s.q.mu.Lock()
	defer s.q.mu.Unlock()
	w := s.q.waiting
	n, size := 0, 0
	for n < len(w) && n < s.cfg.MaxBatch && size < 4<<20 {
		size += len(w[n].cmd)
		n++
	}
	reqs = append(reqs, w[:n]...)
	rest := copy(w, w[n:])
	clear(w[rest:])
	s.q.waiting = w[:rest]
	if rest > 0 {
		s.wake() // the rest go in the next batch
	}
	return reqs, size
}

// sweep answers, once Raft and the loops have stopped, every command still
// queued or in a batch nobody answered (Raft never resolves a proposal it
// had queued and not taken up when it shut down).
func (s *Store) sweep() {
	s.q.mu.Lock()
	waiting := s.q.waiting
	s.q.waiting = nil
	s.q.mu.Unlock()
	for _, p := range waiting {
		p.err = errClosed
		p.done <- struct{}{}
	}
	s.inflight.mu.Lock()
	left := make([]*batch, 0, len(s.inflight.m))
	for k, b := range s.inflight.m {
		left = append(left, b)
		delete(s.inflight.m, k)
	}
	s.inflight.mu.Unlock()
	for _, b := range left {
		for _, p := range b.reqs {
			p.err = errClosed
			p.done <- struct{}{}
		}
	}
}

var (
	errClosed     = floodgate.Errorf(floodgate.EUnavailable, "This node is shutting down; retry on another node.")
	errOverloaded = floodgate.Errorf(floodgate.EUnavailable, "The cluster is overloaded; retry in a moment.")
)

// batchLoop forms batches from waiting commands and proposes them. While
// InFlight batches are being committed, new commands queue up and the next
// batch is larger: group commit that adapts to load.
func (s *Store) batchLoop() {
	defer s.wg.Done()
	reqs := make([]*pending, 0, s.cfg.MaxBatch)
	var cmds [][]byte
	for {
		select {
		case s.slots <- struct{}{}:
		case <-s.stop:
			return
		}
		// Wait for the first command, then one turn for the callers the
		// last batch answered, which come back one after another, so that
		// they go in this entry rather than wait a whole commit for the
		// next one; then take every command waiting, under one lock.
		reqs = reqs[:0]
		size := 0
		for len(reqs) == 0 {
			select {
			case <-s.kick:
			case <-s.stop:
				return
			}
			runtime.Gosched()
			reqs, size = s.take(reqs)
		}
		cmds = cmds[:0]
		for _, p := range reqs {
			cmds = append(cmds, p.cmd)
		}
		b := &batch{
			data:  sale.AppendBatch(make([]byte, 0, size+5*len(reqs)+8), cmds),
			reqs:  append([]*pending(nil), reqs...),
			start: time.Now(),
		}
		clear(cmds)
		s.inflight.add(b)
		b.f = s.raft.Apply(b.data, s.cfg.ApplyTimeout)
		s.metrics.batchSize.Observe(float64(len(b.reqs)))
		select {
		case s.proposed <- b:
		case <-s.stop:
			return
		}
	}
}

// raftConfig is the Raft configuration of a node: its timeouts, and
// batches of up to 256 entries taken from the apply channel at once
// (BatchApplyCh). Open adds the snapshot settings.
func raftConfig(id raft.ServerID, logger hclog.Logger) *raft.Config {
	rc := raft.DefaultConfig()
	rc.LocalID = id
	rc.Logger = logger
	rc.HeartbeatTimeout = 500 * time.Millisecond
	rc.ElectionTimeout = 500 * time.Millisecond
	rc.LeaderLeaseTimeout = 250 * time.Millisecond
	rc.CommitTimeout = 5 * time.Millisecond
	rc.MaxAppendEntries = 256
	rc.BatchApplyCh = true
	return rc
}

func (s *Store) mapError(err error) error {
	switch {
	case errors.Is(err, raft.ErrNotLeader):
		return floodgate.Errorf(floodgate.EUnavailable, "This node is not the leader right now; retry in a moment.")
	case errors.Is(err, raft.ErrLeadershipLost), errors.Is(err, raft.ErrLeadershipTransferInProgress):
		return floodgate.Errorf(floodgate.EUnavailable, "The leader changed while the request was being committed; retry with the same Idempotency-Key.")
	case errors.Is(err, raft.ErrEnqueueTimeout):
		return floodgate.Errorf(floodgate.EUnavailable, "The cluster is overloaded; retry in a moment.")
	case errors.Is(err, raft.ErrRaftShutdown):
		return errClosed
	case errors.Is(err, ErrDiskFault):
		return unavailableDisk()
	}
	s.log.Error("apply failed", "err", err)
	return floodgate.Errorf(floodgate.EUnavailable, "The write could not be committed (%v); retry with the same Idempotency-Key.", err)
}

// Read calls fn with the applied state under the read lock. fn must not keep
// references into the state after it returns.
func (s *Store) Read(fn func(st *sale.State)) {
	s.fsm.mu.RLock()
	defer s.fsm.mu.RUnlock()
	fn(s.fsm.state)
}

// Changed returns a channel that is closed the next time the state changes.
func (s *Store) Changed() <-chan struct{} { return s.fsm.changedCh() }

// IsLeader reports whether this node is the Raft leader now.
func (s *Store) IsLeader() bool { return s.leader.Load() }

// Ready reports whether this node's state is current: it is the leader (and
// has applied everything earlier leaders committed), or it follows a known
// leader and has applied everything it knows to be committed. A node that
// restarts replays its log before it is ready, so it never answers from a
// state that is missing acknowledged writes.
func (s *Store) Ready() bool {
	if s.IsLeader() {
		return true
	}
	id, _ := s.Leader()
	if id == "" || id == s.cfg.NodeID {
		return false
	}
	c := s.raft.CommitIndex()
	return c > 0 && s.raft.AppliedIndex() >= c
}

// LeadershipChanged returns a channel that is closed the next time this
// node gains or loses the leadership (IsLeader changes), or when the store
// closes; after Close it returns a closed channel.
func (s *Store) LeadershipChanged() <-chan struct{} {
	s.leaderMu.Lock()
	defer s.leaderMu.Unlock()
	return s.leaderChanged
}

// LeaderEpoch counts how often this node became leader; a change tells
// leader-only caches (such as queue blocks) to start afresh.
func (s *Store) LeaderEpoch() uint64 { return s.epoch.Load() }

// Barrier waits until every committed entry is applied locally.
func (s *Store) Barrier(timeout time.Duration) error {
	return s.raft.Barrier(timeout).Error()
}

// Leader returns the id and Raft address of the current leader, if known.
func (s *Store) Leader() (id, addr string) {
	a, i := s.raft.LeaderWithID()
	return string(i), string(a)
}

// NodeID returns this node's id.
func (s *Store) NodeID() string { return s.cfg.NodeID }

// RaftAddr returns the address this node's transport advertises.
func (s *Store) RaftAddr() string { return string(s.transport.LocalAddr()) }

// State returns the Raft state of this node (Leader, Follower, Candidate, Shutdown).
func (s *Store) State() string { return s.raft.State().String() }

// Servers returns the cluster configuration.
func (s *Store) Servers() ([]raft.Server, error) {
	f := s.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return nil, err
	}
	return f.Configuration().Servers, nil
}

// AddVoter adds a node to the cluster; only the leader can.
func (s *Store) AddVoter(id, addr string) error {
	servers, err := s.Servers()
	if err != nil {
		return err
	}
	for _, srv := range servers {
		if string(srv.ID) == id && string(srv.Address) == addr {
			return nil
		}
		if string(srv.ID) == id || string(srv.Address) == addr {
			if err := s.raft.RemoveServer(srv.ID, 0, 0).Error(); err != nil {
				return s.mapError(err)
			}
		}
	}
	if err := s.raft.AddVoter(raft.ServerID(id), raft.ServerAddress(addr), 0, 0).Error(); err != nil {
		return s.mapError(err)
	}
	return nil
}

// RemoveServer removes a node from the cluster; only the leader can.
func (s *Store) RemoveServer(id string) error {
	if err := s.raft.RemoveServer(raft.ServerID(id), 0, 0).Error(); err != nil {
		return s.mapError(err)
	}
	return nil
}

// Snapshot takes a snapshot now.
func (s *Store) Snapshot() error { return s.raft.Snapshot().Error() }

func (s *Store) watchLeadership() {
	defer s.wg.Done()
	ch := s.raft.LeaderCh()
	for {
		select {
		case isLeader := <-ch:
			if isLeader && !s.catchUp() {
				// Leadership was lost (or the store closed) before this
				// node caught up; the channel tells what comes next.
				continue
			}
			if isLeader {
				s.epoch.Add(1)
			}
			s.setLeader(isLeader, false)
			s.log.Info("leadership changed", "leader", isLeader)
		case <-s.stop:
			// A closed store leads no more: whatever waits for the
			// leadership to change (a forward stream served as the
			// leader) learns it now, and later callers at once.
			s.setLeader(false, true)
			return
		}
	}
}

// setLeader records whether this node leads and closes the channel of
// LeadershipChanged; when the store closes (final), the channel stays closed.
func (s *Store) setLeader(isLeader, final bool) {
	s.leader.Store(isLeader)
	s.leaderMu.Lock()
	close(s.leaderChanged)
	if !final {
		s.leaderChanged = make(chan struct{})
	}
	s.leaderMu.Unlock()
	s.metrics.isLeader.Set(b2f(isLeader))
}

// catchUp applies everything committed by earlier leaders before this node
// decides anything as leader. A failed barrier is retried for as long as the
// node leads: giving up would leave a Raft leader that refuses every write
// (IsLeader false) until the next election, which a healthy leader never
// calls. It reports whether the node leads and is caught up.
func (s *Store) catchUp() bool {
	wait := 50 * time.Millisecond
	for {
		err := s.barrier(s.cfg.ApplyTimeout)
		if err == nil {
			return true
		}
		if s.raft.State() != raft.Leader {
			s.log.Warn("barrier after election failed and leadership is lost", "err", err)
			return false
		}
		s.log.Warn("barrier after election failed; retrying", "err", err, "in", wait)
		select {
		case <-s.stop:
			return false
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Second)
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Close stops Raft and closes the log. Acknowledged writes are already
// durable; Close only releases resources.
func (s *Store) Close() error {
	var err error
	s.closeMu.Do(func() {
		close(s.stop)
		s.q.mu.Lock()
		s.q.closing = true
		s.q.mu.Unlock()
		if s.raft != nil {
			err = s.raft.Shutdown().Error()
		}
		s.wg.Wait()
		s.waitWaiter()
		s.sweep()
		s.closeLow()
	})
	return err
}

func (s *Store) closeLow() {
	if c, ok := s.transport.(io.Closer); ok {
		_ = c.Close()
	}
	if s.wal != nil {
		_ = s.wal.Close()
	}
	if s.lock != nil {
		_ = s.lock.Close()
	}
}
