package store

import (
	"os"
	"path/filepath"
	"sync"
	"syscall"

	"github.com/hashicorp/raft-wal/fs"
	"github.com/hashicorp/raft-wal/types"
)

// zeroAheadFS is raft-wal's file system with one change: a segment file,
// which raft-wal preallocates with fallocate, gets zeros written and synced
// into it in the background, ahead of the appends, whether it is new or the
// tail reopened after a restart.
//
// fallocate leaves the segment's blocks "unwritten" (they read as zeros), so
// each append's fsync also has to commit the file system's journal for the
// blocks it turns into written ones. Blocks already written are overwritten
// in place and their fsync only writes the data: on the ext4 disk measured,
// a 4-64 KiB append's write and fsync took a third to a half less time and
// CPU (docs/benchmarks-history.md, "The log's segments are written with
// zeros ahead of the appends"). Writing 64 MiB of zeros on the append path
// would stall it, so a goroutine does it a megabyte at a time, at most
// zeroAhead bytes beyond the furthest byte raft-wal has written, and never
// at or below that byte.
//
// What raft-wal reads back is unchanged: it reads a segment's frames until a
// zero header, and a region the zeros reached reads as zeros, as a region
// they did not reach does (unwritten blocks), before and after a crash. The
// zeros go only into blocks fallocate reserved, so they take no room on the
// disk; an error while writing them stops the zeroing and nothing else (the
// appends write into unwritten blocks, as before). They are synced through
// a file descriptor of their own, so a failed write-back of the log's data
// is still reported to raft-wal's own fsync.
type zeroAheadFS struct {
	*fs.FS
}

const (
	zeroChunk = 1 << 20 // bytes of zeros per write and sync
	// zeroAfter: zeroing starts once raft-wal has written this much into a
	// segment, so a node that writes little (and every short test) does not
	// write 64 MiB of zeros for each segment it opens.
	zeroAfter = 1 << 20
	zeroGap   = 1 << 20 // the zeros start at least this far past the last append
	zeroAhead = 8 << 20 // and end at most this far past it
)

func newZeroAheadFS() zeroAheadFS { return zeroAheadFS{FS: fs.New()} }

// tmpfsMagic is the f_type of tmpfs, where nothing is journaled and the
// zeros would only cost memory copies.
const tmpfsMagic = 0x01021994

// Create creates and preallocates the segment as raft-wal does, and zeroes
// it ahead of the appends where that helps.
func (z zeroAheadFS) Create(dir, name string, size uint64) (types.WritableFile, error) {
	f, err := z.FS.Create(dir, name, size)
	if err != nil || size == 0 {
		return f, err
	}
	return zeroAheadOf(f, dir, name, int64(size)), nil
}

// OpenWriter opens a segment written before, the tail raft-wal recovers
// after a restart (or when the log is reopened after a disk fault), and
// zeroes it ahead of the appends as a new one. raft-wal recovers the tail
// before it writes, and writes first where its last commit ends, so the
// zeros start past that first write: never at or below a byte of the log.
// (What lies beyond it, if anything, is the rest of a write a crash cut
// short, which raft-wal overwrites and never reads.) Only a segment whose
// blocks are all allocated (preallocated) is zeroed, up to its end: in a
// sparse one the zeros would take room on the disk.
func (z zeroAheadFS) OpenWriter(dir, name string) (types.WritableFile, error) {
	f, err := z.FS.OpenWriter(dir, name)
	if err != nil {
		return f, err
	}
	var st syscall.Stat_t
	if syscall.Stat(filepath.Join(dir, name), &st) != nil || st.Size == 0 || st.Blocks*512 < st.Size {
		return f, nil
	}
	return zeroAheadOf(f, dir, name, st.Size), nil
}

// zeroAheadOf returns f, a segment of size bytes, to be zeroed ahead of
// its appends, or f itself where the zeros would not help.
func zeroAheadOf(f types.WritableFile, dir, name string, size int64) types.WritableFile {
	var st syscall.Statfs_t
	if syscall.Statfs(dir, &st) != nil || st.Type == tmpfsMagic {
		return f
	}
	zf, err := os.OpenFile(filepath.Join(dir, name), os.O_WRONLY, 0)
	if err != nil {
		return f // the zeros are only an optimisation
	}
	w := &zeroAheadFile{WritableFile: f, zf: zf, size: size, done: make(chan struct{})}
	w.cond.L = &w.mu
	return w
}

// zeroAheadFile is a segment file being zeroed ahead of the appends.
type zeroAheadFile struct {
	types.WritableFile
	zf   *os.File // the zeroing goroutine's own descriptor
	size int64

	mu      sync.Mutex
	cond    sync.Cond // zeroing or appending waits for the other
	written int64     // the end of the furthest write of raft-wal's
	zeroed  int64     // zeros are written (or skipped) up to here
	busyLo  int64     // the zeros being written now: [busyLo, busyHi)
	busyHi  int64
	waiting int // goroutines waiting on cond
	// zeroerWaits: the zeroing goroutine waits for the appends to make
	// room for a chunk; zeroerWakes counts its wake-ups (for tests).
	zeroerWaits bool
	zeroerWakes int
	started     bool
	closed      bool
	done        chan struct{} // closed when the zeroing goroutine returns
}

// WriteAt waits while the zeros are being written into the range of p (the
// zeroing only writes beyond the furthest write, so only a write that jumps
// ahead would), notes how far the file is written and writes p.
func (w *zeroAheadFile) WriteAt(p []byte, off int64) (int, error) {
	end := off + int64(len(p))
	w.mu.Lock()
	for w.busyLo < w.busyHi && off < w.busyHi && end > w.busyLo {
		w.waiting++
		w.cond.Wait()
		w.waiting--
	}
	if end > w.written {
		w.written = end
		switch {
		case !w.started && !w.closed && end >= zeroAfter:
			w.started = true
			go w.zero()
		case w.zeroerWaits && w.roomAhead():
			// Only once the appends made room for a whole chunk: woken
			// by every append, the zeroing goroutine would go back to
			// waiting all but once a megabyte.
			w.cond.Broadcast()
		}
	}
	w.mu.Unlock()
	return w.WritableFile.WriteAt(p, off)
}

// zero writes zeros ahead of the appends until the end of the file, an
// error or Close.
func (w *zeroAheadFile) zero() {
	defer close(w.done)
	buf := make([]byte, zeroChunk)
	w.mu.Lock()
	defer w.mu.Unlock()
	for {
		for !w.closed && w.zeroed < w.size && !w.roomAhead() {
			w.waiting++
			w.zeroerWaits = true
			w.cond.Wait()
			w.zeroerWaits = false
			w.zeroerWakes++
			w.waiting--
		}
		if w.closed || w.zeroed >= w.size {
			return
		}
		lo := max(w.zeroed, w.written+zeroGap)
		lo = (lo + 4095) &^ 4095 // whole pages
		hi := min(lo+zeroChunk, w.size)
		if lo >= hi {
			w.zeroed = w.size
			return
		}
		w.busyLo, w.busyHi = lo, hi
		w.mu.Unlock()
		_, err := w.zf.WriteAt(buf[:hi-lo], lo)
		if err == nil {
			err = syscall.Fdatasync(int(w.zf.Fd()))
		}
		w.mu.Lock()
		w.busyLo, w.busyHi = 0, 0
		w.zeroed = hi
		if w.waiting > 0 {
			w.cond.Broadcast()
		}
		if err != nil {
			return
		}
	}
}

// roomAhead reports whether the next chunk of zeros (up to the file's end)
// ends within zeroAhead of the furthest append. w.mu is held.
func (w *zeroAheadFile) roomAhead() bool {
	return min(w.zeroed+zeroChunk, w.size) <= w.written+zeroAhead
}

// Close stops the zeroing and closes the file.
func (w *zeroAheadFile) Close() error {
	w.mu.Lock()
	w.closed = true
	started := w.started
	if w.waiting > 0 {
		w.cond.Broadcast()
	}
	w.mu.Unlock()
	if started {
		<-w.done
	}
	_ = w.zf.Close()
	return w.WritableFile.Close()
}
