package store

import (
	"sync"

	"github.com/hashicorp/raft"
)

// Raft reads every entry back soon after it is appended: the leader once
// per follower to replicate it, a follower once to apply it. recentLogs
// keeps the last entries this node stored, so those reads cost no pread
// and no decode of raft-wal's frame.
//
// It holds exactly a run of consecutive indexes lo..hi that the WAL
// stored: it is filled after a successful append and changed with every
// DeleteRange, both under diskLog.writeMu, and emptied when the WAL is
// reopened or closed. A read of an index outside the run goes to the WAL.
//
// The entries share their Data and Extensions with the caller of StoreLogs
// and with every reader: nothing writes them again (on the leader Data is
// the slice batchLoop proposed, which the FSM finds its batch by; the FSM
// and sale.ApplyBatch only read it, see sale's shareText; Raft only encodes
// it for a follower), as with raft.LogCache.
type recentLogs struct {
	mu    sync.Mutex
	ring  []raft.Log // index i at ring[i%len(ring)], for lo <= i <= hi
	lo    uint64     // 0: empty
	hi    uint64
	bytes int // Data and Extensions held
	max   int // bytes held at most (an entry can be megabytes)
}

// Default bounds of recentLogs: a follower applies, and the leader sends,
// an entry within milliseconds of its append, when at most a few hundred
// newer entries exist even at small batches; the byte bound keeps large
// batches (up to 4 MiB each) from holding much memory.
const (
	recentLogsLen   = 512
	recentLogsBytes = 8 << 20
)

func newRecentLogs(n, maxBytes int) *recentLogs {
	return &recentLogs{ring: make([]raft.Log, n), max: maxBytes}
}

func logBytes(l *raft.Log) int { return len(l.Data) + len(l.Extensions) }

// get copies entry index into l; false when it is not held.
func (c *recentLogs) get(index uint64, l *raft.Log) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lo == 0 || index < c.lo || index > c.hi {
		return false
	}
	e := &c.ring[index%uint64(len(c.ring))]
	if e.Index != index { // cannot happen; never answer with another entry
		return false
	}
	*l = *e
	return true
}

// add holds logs, which the WAL has just stored after hi (or, if they do
// not follow hi, instead of everything held).
func (c *recentLogs) add(logs []*raft.Log) {
	if len(logs) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, l := range logs {
		if l.Index == 0 { // not an index Raft stores; 0 marks an empty run
			c.clearLocked()
			continue
		}
		if c.lo == 0 || l.Index != c.hi+1 {
			c.clearLocked()
			c.lo = l.Index
		}
		for ; l.Index-c.lo >= uint64(len(c.ring)); c.lo++ {
			c.dropLocked(c.lo)
		}
		e := &c.ring[l.Index%uint64(len(c.ring))]
		*e = *l
		c.hi = l.Index
		c.bytes += logBytes(e)
		for ; c.bytes > c.max && c.lo <= c.hi; c.lo++ {
			c.dropLocked(c.lo)
		}
		if c.lo > c.hi {
			c.lo, c.hi = 0, 0
		}
	}
}

// deleteRange forgets the entries min..max (Raft deletes a prefix when
// it compacts, a suffix when a follower's log conflicts with the leader's).
func (c *recentLogs) deleteRange(min, max uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lo == 0 || max < c.lo || min > c.hi {
		return
	}
	if min <= c.lo && max < c.hi {
		for ; c.lo <= max; c.lo++ {
			c.dropLocked(c.lo)
		}
		return
	}
	// A suffix, all, or (never done by Raft) a hole: keep only what is
	// below min.
	for i := c.hi; i >= min && i >= c.lo; i-- {
		c.dropLocked(i)
	}
	c.hi = min - 1
	if min <= c.lo {
		c.lo, c.hi = 0, 0
	}
}

func (c *recentLogs) clear() {
	c.mu.Lock()
	c.clearLocked()
	c.mu.Unlock()
}

func (c *recentLogs) clearLocked() {
	if c.lo != 0 {
		for i := c.lo; i <= c.hi; i++ {
			c.dropLocked(i)
		}
	}
	c.lo, c.hi, c.bytes = 0, 0, 0
}

// dropLocked empties the slot of index (lets its Data be collected).
func (c *recentLogs) dropLocked(index uint64) {
	e := &c.ring[index%uint64(len(c.ring))]
	if e.Index == index {
		c.bytes -= logBytes(e)
		*e = raft.Log{}
	}
}
