package store

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftwal "github.com/hashicorp/raft-wal"
	"github.com/hashicorp/raft-wal/metadb"
	"github.com/hashicorp/raft-wal/segment"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/floodgate/floodgate"
)

// diskLog is the Raft log and stable store of a node: the raft-wal WAL behind
// a layer that takes it out of service when a write fails (a full disk) and
// puts it back, reopened from disk, once there is room again.
//
// A failed append can leave the WAL's memory out of step with its files:
// raft-wal counts the entries of a failed append in its index before the
// commit frame is synced, and a failed segment rotation leaves it with a
// sealed tail and no new one, so every later append fails although the disk
// has room again. Retrying on the same WAL is never right. What a restart
// does is: the WAL reads its files again and keeps exactly the entries whose
// commit frames are on disk. diskLog does that in-process: while out of
// service every write fails at once (Raft answers the callers and steps
// down), reads are served by the old WAL (which is right up to its last
// committed entry), and once the data dir has room for another segment the
// WAL is closed and reopened under an exclusive lock. Entries beyond the last
// one this layer saw stored (a commit frame written by a failed append) are
// cut, so the log matches what Raft was told; a reopened log that ends before
// it (an acknowledged entry lost) is never put back into service.
type diskLog struct {
	walDir  string
	dataDir string
	log     *slog.Logger
	walLog  hclog.Logger // raft-wal's own lines
	minFree uint64       // free bytes the data dir needs before the WAL is reopened

	mu   sync.RWMutex // held to read wal/meta; exclusively to swap them
	wal  *raftwal.WAL
	meta *metadb.BoltMetaDB

	writeMu sync.Mutex // orders writes with the update of last
	last    uint64     // the WAL's last index after its last successful write
	recent  *recentLogs

	beforeAppend func(logs []*raft.Log) // tests only; set before Raft starts
	// appendSeconds times each append (write and fsync), where a slow disk
	// shows.
	appendSeconds prometheus.Histogram
	appends       atomic.Uint64 // successful appends

	fault   atomic.Pointer[diskFault]
	healed  chan struct{} // closed when the current fault clears; guarded by faultMu
	faultMu sync.Mutex

	stop chan struct{}
	done chan struct{} // closed when watch returns; nil when not watching

	full       prometheus.Gauge
	free       prometheus.Gauge
	recoveries prometheus.Counter
}

// diskFault says why the log is out of service.
type diskFault struct {
	err   error
	since time.Time
	space bool // the disk is full (or over quota), not another error
}

// ErrDiskFault is wrapped by the errors writes get while the log is out of
// service; floodgate.EUnavailable for the API.
var ErrDiskFault = errors.New("the data disk is full or failing")

// segmentSize is raft-wal's segment size (it preallocates each segment).
const segmentSize = 64 << 20

// defaultMinFree is the room the data dir needs before a log taken out of
// service is reopened: a new segment and some margin for the snapshot and
// the metadata.
const defaultMinFree = segmentSize + 16<<20

// openDiskLog opens the log and starts watching the disk. logger is the
// node's (its own lines carry component=store, raft-wal's component=wal).
func openDiskLog(walDir, dataDir string, logger *slog.Logger, reg prometheus.Registerer) (*diskLog, error) {
	d, err := newDiskLog(walDir, dataDir, logger, reg)
	if err != nil {
		return nil, err
	}
	// No snapshot is being written before Raft starts.
	d.removeStaleSnapshots(0)
	d.done = make(chan struct{})
	go d.watch()
	return d, nil
}

// removeStaleSnapshots removes the temporary directories of snapshots that
// failed, older than age. Raft leaves one behind when a snapshot fails
// because the disk is full (its Cancel flushes first and gives up on the
// error), and nothing else would ever remove it.
func (d *diskLog) removeStaleSnapshots(age time.Duration) {
	dir := filepath.Join(d.dataDir, "snapshots")
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !e.IsDir() || !strings.HasSuffix(e.Name(), ".tmp") {
			continue
		}
		info, err := e.Info()
		if err != nil || time.Since(info.ModTime()) < age {
			continue
		}
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			d.log.Warn("could not remove the directory of a failed snapshot", "dir", e.Name(), "err", err)
			continue
		}
		d.log.Info("removed the directory of a failed snapshot", "dir", e.Name())
	}
}

func newDiskLog(walDir, dataDir string, logger *slog.Logger, reg prometheus.Registerer) (*diskLog, error) {
	d := &diskLog{
		walDir:  walDir,
		dataDir: dataDir,
		log:     logger.With("component", "store"),
		walLog:  hclogger(logger, "wal"),
		minFree: defaultMinFree,
		recent:  newRecentLogs(recentLogsLen, recentLogsBytes),
		stop:    make(chan struct{}),
	}
	wal, meta, err := openWAL(walDir, d.log, d.walLog)
	if err != nil {
		return nil, err
	}
	d.wal, d.meta = wal, meta
	d.last, _ = wal.LastIndex()
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	f := promauto.With(reg)
	d.full = f.NewGauge(prometheus.GaugeOpts{
		Name: "floodgate_disk_full",
		Help: "1 while this node's Raft log is out of service because a write to the data disk failed (full); writes answer 503 until there is room again.",
	})
	d.free = f.NewGauge(prometheus.GaugeOpts{
		Name: "floodgate_disk_free_bytes",
		Help: "Free bytes on the file system of the data directory.",
	})
	d.appendSeconds = f.NewHistogram(prometheus.HistogramOpts{
		Name:    "floodgate_raft_append_seconds",
		Help:    "Time to write and fsync one append of Raft log entries to the data disk.",
		Buckets: prometheus.ExponentialBuckets(0.00005, 2, 16),
	})
	d.recoveries = f.NewCounter(prometheus.CounterOpts{
		Name: "floodgate_disk_recoveries_total",
		Help: "Times the Raft log was reopened from disk after a failed write.",
	})
	return d, nil
}

// openWAL opens raft-wal in walDir; raft-wal's own lines (a failed rotation
// or segment deletion) go to walLog rather than to stderr.
func openWAL(walDir string, log *slog.Logger, walLog hclog.Logger) (*raftwal.WAL, *metadb.BoltMetaDB, error) {
	if repaired, err := sealRecoveredTail(walDir); err != nil {
		return nil, nil, err
	} else if repaired != "" {
		log.Warn(repaired)
	}
	// raft-wal's Close does not close the metadata DB it opens itself, and
	// that DB holds a file lock: reopening the dir in the same process
	// would wait forever. Own the metadata DB so Close can release it.
	meta := &metadb.BoltMetaDB{}
	wal, err := raftwal.Open(walDir, raftwal.WithMetaStore(meta), raftwal.WithLogger(walLog),
		raftwal.WithSegmentFiler(segment.NewFiler(walDir, newZeroAheadFS())))
	if err != nil {
		_ = meta.Close()
		return nil, nil, err
	}
	return wal, meta, nil
}

// Fault returns why the log is out of service, or nil.
func (d *diskLog) Fault() error {
	if f := d.fault.Load(); f != nil {
		return d.faultErr(f)
	}
	return nil
}

func (d *diskLog) faultErr(f *diskFault) error {
	what := "cannot write to its data disk"
	if f.space {
		what = "has a full data disk"
	}
	// The cause (paths, errno) is in the node's log, not in answers.
	return fmt.Errorf("%w: this node %s since %s", ErrDiskFault, what, f.since.UTC().Format(time.RFC3339))
}

// failed takes the log out of service after err.
func (d *diskLog) failed(op string, err error) error {
	f := &diskFault{err: fmt.Errorf("%s: %w", op, err), since: time.Now(), space: isNoSpace(err) || d.lowOnSpace()}
	d.faultMu.Lock()
	if d.fault.Load() == nil {
		d.fault.Store(f)
		d.healed = make(chan struct{})
		d.full.Set(1)
		d.log.Error("the Raft log is out of service: a write to the data disk failed; writes answer 503 until it is reopened", "op", op, "err", err, "disk_full", f.space)
	} else {
		f = d.fault.Load()
	}
	d.faultMu.Unlock()
	return d.faultErr(f)
}

func isNoSpace(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}

func (d *diskLog) freeBytes() (uint64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(d.dataDir, &st); err != nil {
		return 0, err
	}
	return st.Bavail * uint64(st.Bsize), nil
}

func (d *diskLog) lowOnSpace() bool {
	free, err := d.freeBytes()
	return err == nil && free < d.minFree
}

// watch reports the free space and reopens the log once a fault can clear.
func (d *diskLog) watch() {
	defer close(d.done)
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	wait := time.Duration(0)
	var next, healed time.Time
	for {
		select {
		case <-d.stop:
			return
		case now := <-t.C:
			free, err := d.freeBytes()
			if err == nil {
				d.free.Set(float64(free))
			}
			if d.fault.Load() == nil || now.Before(next) || err != nil || free < d.minFree {
				continue
			}
			if err := d.reopen(); err != nil {
				wait = min(max(2*wait, time.Second), 30*time.Second)
				next = now.Add(wait)
				d.log.Error("the Raft log could not be put back into service", "err", err, "retry_in", wait)
				continue
			}
			// A disk that fails again soon after (an I/O error with room on
			// it) is not reopened in a tight loop: each reopen reads the tail.
			if now.Sub(healed) < 10*time.Second {
				wait = min(max(2*wait, time.Second), 30*time.Second)
			} else {
				wait = 0
			}
			next, healed = now.Add(wait), now
		}
	}
}

// reopen closes the WAL and opens it again from its files, under the
// exclusive lock: no read or write of Raft's sees the log in between.
func (d *diskLog) reopen() error {
	d.writeMu.Lock()
	defer d.writeMu.Unlock()
	d.mu.Lock()
	defer d.mu.Unlock()
	d.recent.clear()
	if d.wal != nil {
		_ = d.wal.Close()
		_ = d.meta.Close()
		d.wal, d.meta = nil, nil
	}
	wal, meta, err := openWAL(d.walDir, d.log, d.walLog)
	for err != nil {
		// Without a WAL no read of Raft's can be answered; they wait here
		// (a stalled node, never a wrong answer) until it opens.
		d.log.Error("reopening the Raft log failed; retrying", "err", err)
		select {
		case <-d.stop:
			return err
		case <-time.After(time.Second):
		}
		wal, meta, err = openWAL(d.walDir, d.log, d.walLog)
	}
	d.wal, d.meta = wal, meta
	last, err := wal.LastIndex()
	if err != nil {
		return err
	}
	switch {
	case last < d.last:
		return fmt.Errorf("the reopened log ends at index %d but index %d was stored: entries were lost on the disk; restart the node on a healthy disk (it catches up from the cluster) and check the disk", last, d.last)
	case last > d.last:
		// A failed append got its commit frame to the disk; Raft was told
		// it failed, so cut it.
		if err := wal.DeleteRange(d.last+1, last); err != nil {
			return fmt.Errorf("cut the entries %d-%d of a failed append: %w", d.last+1, last, err)
		}
		d.log.Warn("cut log entries a failed append left on disk", "from", d.last+1, "to", last)
		last = d.last
	}
	d.faultMu.Lock()
	f := d.fault.Swap(nil)
	if d.healed != nil {
		close(d.healed)
		d.healed = nil
	}
	d.faultMu.Unlock()
	d.full.Set(0)
	d.recoveries.Inc()
	// A snapshot being written now is younger than this.
	d.removeStaleSnapshots(10 * time.Second)
	if f != nil {
		d.log.Info("the Raft log is back in service: reopened from disk", "out_of_service", time.Since(f.since).Round(time.Millisecond), "last_index", last)
	}
	return nil
}

// Close stops the watcher and closes the WAL.
func (d *diskLog) Close() error {
	select {
	case <-d.stop:
		return nil
	default:
	}
	close(d.stop)
	if d.done != nil {
		<-d.done
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.recent.clear()
	if d.wal == nil {
		return nil
	}
	err := d.wal.Close()
	if e := d.meta.Close(); err == nil {
		err = e
	}
	d.wal, d.meta = nil, nil
	return err
}

var errLogClosed = errors.New("the raft log is closed")

var (
	_ raft.LogStore          = (*diskLog)(nil)
	_ raft.StableStore       = (*diskLog)(nil)
	_ raft.MonotonicLogStore = (*diskLog)(nil)
)

// IsMonotonic tells Raft that the log has no gaps (raft-wal's promise).
func (d *diskLog) IsMonotonic() bool { return true }

func (d *diskLog) FirstIndex() (uint64, error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.wal == nil {
		return 0, errLogClosed
	}
	return d.wal.FirstIndex()
}

func (d *diskLog) LastIndex() (uint64, error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.wal == nil {
		return 0, errLogClosed
	}
	return d.wal.LastIndex()
}

func (d *diskLog) GetLog(index uint64, l *raft.Log) error {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.wal == nil {
		return errLogClosed
	}
	if d.recent.get(index, l) {
		return nil
	}
	return d.wal.GetLog(index, l)
}

func (d *diskLog) StoreLog(l *raft.Log) error { return d.StoreLogs([]*raft.Log{l}) }

func (d *diskLog) StoreLogs(logs []*raft.Log) error {
	if d.beforeAppend != nil {
		d.beforeAppend(logs)
	}
	start := time.Now()
	err := d.write("append", func(w *raftwal.WAL) error {
		if err := w.StoreLogs(logs); err != nil {
			return err
		}
		d.recent.add(logs)
		return nil
	})
	if err != nil {
		return err
	}
	d.appendSeconds.Observe(time.Since(start).Seconds())
	d.appends.Add(1)
	return nil
}

// DeleteRange waits while the log is out of service and is then done on the
// reopened log, instead of failing: Raft only logs a failed removal (after
// installing a snapshot it goes on as if the old entries were gone), so a
// failed one would leave the log and Raft disagreeing about where it ends,
// and every later append would fail. Only followers (conflicting entries,
// snapshots) and the snapshot goroutine (compaction) call it, so a waiting
// call stalls no leader.
func (d *diskLog) DeleteRange(min, max uint64) error {
	for {
		err := d.write("delete range", func(w *raftwal.WAL) error {
			// First, so that a failed removal leaves nothing held that
			// the WAL may no longer have.
			d.recent.deleteRange(min, max)
			return w.DeleteRange(min, max)
		})
		if err == nil || !errors.Is(err, ErrDiskFault) {
			return err
		}
		if !d.waitHealed() {
			return err
		}
	}
}

// waitHealed waits until the log is back in service; false when the store
// closes first.
func (d *diskLog) waitHealed() bool {
	d.faultMu.Lock()
	healed := d.healed
	d.faultMu.Unlock()
	if healed == nil {
		return true
	}
	select {
	case <-healed:
		return true
	case <-d.stop:
		return false
	}
}

// write runs one change of the log, unless the log is out of service.
func (d *diskLog) write(op string, fn func(*raftwal.WAL) error) error {
	if f := d.fault.Load(); f != nil {
		return d.faultErr(f)
	}
	d.writeMu.Lock()
	defer d.writeMu.Unlock()
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.wal == nil {
		return errLogClosed
	}
	if f := d.fault.Load(); f != nil {
		return d.faultErr(f)
	}
	if err := fn(d.wal); err != nil {
		if errors.Is(err, raftwal.ErrClosed) {
			return err
		}
		return d.failed(op, err)
	}
	d.last, _ = d.wal.LastIndex()
	return nil
}

// Set, SetUint64: Raft panics when it cannot save its term, so a failed
// write of the stable store waits until the log is back in service (or the
// store closes) and tries again: the node stalls instead of crashing, and
// never goes on as if an unsaved term were saved.
func (d *diskLog) Set(key, val []byte) error {
	return d.stable(func(w *raftwal.WAL) error { return w.Set(key, val) })
}

func (d *diskLog) SetUint64(key []byte, val uint64) error {
	return d.stable(func(w *raftwal.WAL) error { return w.SetUint64(key, val) })
}

func (d *diskLog) stable(fn func(*raftwal.WAL) error) error {
	for {
		d.mu.RLock()
		if d.wal == nil {
			d.mu.RUnlock()
			return errLogClosed
		}
		err := fn(d.wal)
		d.mu.RUnlock()
		if err == nil || errors.Is(err, raftwal.ErrClosed) {
			return err
		}
		_ = d.failed("save raft state", err)
		if !d.waitHealed() {
			return err
		}
	}
}

func (d *diskLog) Get(key []byte) ([]byte, error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.wal == nil {
		return nil, errLogClosed
	}
	return d.wal.Get(key)
}

func (d *diskLog) GetUint64(key []byte) (uint64, error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.wal == nil {
		return 0, errLogClosed
	}
	return d.wal.GetUint64(key)
}

// DiskFault returns nil, or why this node's Raft log is out of service (its
// data disk is full or failing). It clears on its own, within a second of
// the data dir having room again.
func (s *Store) DiskFault() error { return s.wal.Fault() }

// unavailableDisk is the API's answer while the log is out of service.
func unavailableDisk() error {
	return floodgate.Errorf(floodgate.EUnavailable, "This node's data disk is full, so the write was not made; retry in a moment (with the same Idempotency-Key).")
}
