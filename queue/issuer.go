package queue

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/floodgate/floodgate"
	"github.com/floodgate/floodgate/sale"
)

// issuer hands out positions of one drop from blocks reserved through Raft.
// Only the leader issues, so positions are in arrival order.
//
// A join takes its position with one atomic add on the current block, with
// no lock: in the opening burst tens of thousands of joins a second would
// otherwise queue on one mutex, each waiting for the one before it to be
// scheduled. A reservation is a Raft write (an fsync, and a round trip to
// the followers in a cluster). As soon as a block comes into use the next
// one is reserved in the background, and the first late block with the
// first early one, before the opening, so in a steady stream of joins nobody
// waits for a write. A join that finds the block used up (the next one was
// not committed in time, or this is the first block of a leadership term)
// takes mu and waits for it there. The leader's tick reads how far positions
// were handed out from the same atomics, never waiting for a reservation.
type issuer struct {
	mu    sync.Mutex
	early blocks
	late  blocks

	epoch       atomic.Uint64 // written under mu
	started     atomic.Bool   // the start was proposed: later arrivals are not early
	earlyTakers atomic.Int32  // joins taking an early position without mu (take)
}

// block is a range of reserved positions [start, end).
type block struct {
	next       atomic.Int64 // the next position to hand out; passes end once used up
	start, end int64
	epoch      uint64
}

func newBlock(res sale.Result, epoch uint64) *block {
	b := &block{start: res.Start, end: res.End, epoch: epoch}
	b.next.Store(res.Start)
	return b
}

// take hands out the next position of b, if any is left.
func (b *block) take() (int64, bool) {
	n := b.next.Add(1) - 1
	return n, n < b.end
}

func (b *block) usedUp() bool { return b.next.Load() >= b.end }

// blocks is the block positions are handed out from, the one reserved after
// it, and the reservation under way.
type blocks struct {
	cur     atomic.Pointer[block] // nil while this term has no block
	ahead   *block                // under mu
	pending chan reservation      // under mu: the answer of the reservation under way
}

// reservation is the answer to one ReserveBlock.
type reservation struct {
	res sale.Result
	err error
}

// resetIfStale forgets the blocks of an earlier leadership term: another
// leader may have reserved later blocks since; a reservation of that term
// still under way is not used. The caller holds is.mu.
func (is *issuer) resetIfStale(epoch uint64) {
	if is.epoch.Load() == epoch {
		return
	}
	is.started.Store(false)
	for _, bs := range []*blocks{&is.early, &is.late} {
		bs.cur.Store(nil)
		bs.ahead, bs.pending = nil, nil
	}
	is.epoch.Store(epoch)
}

// reported returns how far this term's blocks of bs were handed out, for
// the tick: -1 when the issuer has no block of the term epoch.
func (is *issuer) reported(bs *blocks, epoch uint64) int64 {
	b := bs.cur.Load()
	if b == nil || b.epoch != epoch || is.epoch.Load() != epoch {
		return -1
	}
	return min(b.next.Load(), b.end)
}

// closeEarly marks the start as proposed and returns how many early
// positions were handed out, counting every one: early joins under mu are
// kept out by it, and those taking one without it are waited for.
func (is *issuer) closeEarly(epoch uint64) int64 {
	is.mu.Lock()
	defer is.mu.Unlock()
	if is.epoch.Load() == epoch {
		is.started.Store(true)
	}
	for is.earlyTakers.Load() != 0 {
		runtime.Gosched()
	}
	return is.reported(&is.early, epoch)
}

// reserveTimeout bounds a reservation made in the background.
const reserveTimeout = 10 * time.Second

// issue takes the next position: early while the drop has not started, else
// late. A new leader never reuses the blocks of an earlier term.
func (s *Service) issue(ctx context.Context, drop string, afterStart bool) (early bool, seq int64, err error) {
	is := s.issuer(drop)
	for {
		epoch := s.cfg.Store.LeaderEpoch()
		if is.epoch.Load() == epoch {
			if early, seq, ok := s.take(is, drop, afterStart, epoch); ok {
				return early, seq, nil
			}
		}
		is.mu.Lock()
		epoch = s.cfg.Store.LeaderEpoch()
		is.resetIfStale(epoch)
		early = !afterStart && !is.started.Load()
		bs := &is.late
		if early {
			bs = &is.early
		}
		seq, err = s.issueLocked(ctx, is, bs, drop, early, epoch)
		is.mu.Unlock()
		switch {
		case err == nil:
			return early, seq, nil
		case early && floodgate.ErrorCode(err) == floodgate.EConflict:
			// The drop started while this arrival was on its way.
			is.started.Store(true)
			afterStart = true
		default:
			return false, 0, err
		}
	}
}

// take hands out a position from the current block without a lock, if
// one is left. An early taker counts itself in earlyTakers before it looks
// at started, and the tick that proposes the opening sets started before it
// waits for earlyTakers to drain: either the taker sees the start and takes
// a late position, or the tick waits for it and counts its early one.
func (s *Service) take(is *issuer, drop string, afterStart bool, epoch uint64) (early bool, seq int64, ok bool) {
	if !afterStart && !is.started.Load() {
		is.earlyTakers.Add(1)
		if !is.started.Load() {
			b := is.early.cur.Load()
			if b == nil || b.epoch != epoch {
				is.earlyTakers.Add(-1)
				return true, 0, false
			}
			n, ok := b.take()
			is.earlyTakers.Add(-1) // before reserveAhead takes mu, which closeEarly holds
			if ok && n == b.start {
				s.reserveAhead(is, &is.early, b, drop, true)
			}
			return true, n, ok
		}
		is.earlyTakers.Add(-1)
	}
	b := is.late.cur.Load()
	if b == nil || b.epoch != epoch {
		return false, 0, false
	}
	n, ok := b.take()
	if ok && n == b.start {
		s.reserveAhead(is, &is.late, b, drop, false)
	}
	return false, n, ok
}

// issueLocked hands out a position of bs with is.mu held, waiting for a
// block when none is left.
func (s *Service) issueLocked(ctx context.Context, is *issuer, bs *blocks, drop string, early bool, epoch uint64) (int64, error) {
	for {
		if b := bs.cur.Load(); b != nil && !b.usedUp() {
			if n, ok := b.take(); ok {
				if n == b.start {
					s.reserveAheadLocked(is, bs, drop, early)
				}
				return n, nil
			}
		}
		if bs.ahead != nil {
			bs.cur.Store(bs.ahead)
			bs.ahead = nil
			continue
		}
		var r reservation
		if bs.pending != nil {
			// The block ran out before the next one was committed.
			select {
			case r = <-bs.pending:
			case <-ctx.Done():
				return 0, floodgate.Errorf(floodgate.EUnavailable, "The request was cancelled while its place in line was being reserved.")
			}
			bs.pending = nil
		} else {
			// This leader's first block in its term records what earlier
			// leaders reserved and never reported as a gap (Fresh).
			r = s.reserve(ctx, drop, early, bs.cur.Load() == nil)
		}
		if r.err != nil {
			return 0, r.err
		}
		bs.cur.Store(newBlock(r.res, epoch))
	}
}

// reserveAhead reserves the block after b in the background, once b is in
// use.
func (s *Service) reserveAhead(is *issuer, bs *blocks, b *block, drop string, early bool) {
	is.mu.Lock()
	defer is.mu.Unlock()
	if is.epoch.Load() == b.epoch && bs.cur.Load() == b {
		s.reserveAheadLocked(is, bs, drop, early)
	}
}

func (s *Service) reserveAheadLocked(is *issuer, bs *blocks, drop string, early bool) {
	if early && is.late.cur.Load() == nil {
		// The first late block is reserved with the first early block, so
		// the opening burst does not wait for it.
		s.reserveAheadLocked(is, &is.late, drop, false)
	}
	if bs.pending != nil || bs.ahead != nil {
		return
	}
	// Without a block yet, this is the leader's first of its term (Fresh).
	fresh := bs.cur.Load() == nil
	ch := make(chan reservation, 1)
	bs.pending = ch
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), reserveTimeout)
		defer cancel()
		ch <- s.reserve(ctx, drop, early, fresh)
	}()
}

func (s *Service) reserve(ctx context.Context, drop string, early, fresh bool) reservation {
	res, err := s.cfg.Store.Apply(ctx, &sale.Command{Kind: sale.KindReserveBlock, Now: s.cfg.Now().UnixMilli(), Drop: drop, Early: early, Size: s.cfg.BlockSize, Fresh: fresh})
	return reservation{res, err}
}
