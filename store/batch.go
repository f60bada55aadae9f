package store

import (
	"sync"
	"time"
	"unsafe"

	"github.com/hashicorp/raft"

	"github.com/floodgate/floodgate"
	"github.com/floodgate/floodgate/sale"
)

// The path of one command on the leader: the caller encodes it into a pooled
// pending and queues it; batchLoop puts the waiting commands into one log
// entry (a batch) and proposes it; Raft stores and fsyncs the entry, commits
// it and hands it to the FSM, which applies each command, writes its result
// straight into the caller's pending and wakes the caller at once, before it
// applies the next command of the batch. The FSM finds the batch by the
// entry's data, which on the leader is the very slice batchLoop proposed.
// A batch that fails (leadership lost, shutdown) is answered by waitLoop,
// which watches the futures in the order they were proposed.

// pending is one command waiting for its result. Pendings are pooled: a
// caller takes one, and returns it once it has read the answer.
type pending struct {
	cmd  []byte
	res  sale.Result
	err  error
	done chan struct{} // one send per use
}

var pendingPool = sync.Pool{New: func() any {
	return &pending{cmd: make([]byte, 0, 128), done: make(chan struct{}, 1)}
}}

// queue holds the commands waiting for a batch.
type queue struct {
	mu      sync.Mutex
	waiting []*pending
	closing bool // set by Close: nothing more is queued
}

// batch is one proposed log entry and the commands it carries.
type batch struct {
	data  []byte
	reqs  []*pending
	start time.Time
	f     raft.ApplyFuture
}

// inflight maps the first byte of a proposed entry's data to its batch
// until the FSM or waitLoop answers it.
type inflight struct {
	mu sync.Mutex
	m  map[*byte]*batch
}

func (in *inflight) add(b *batch) {
	in.mu.Lock()
	in.m[unsafe.SliceData(b.data)] = b
	in.mu.Unlock()
}

// claim removes and returns the batch proposed with data, or nil: whoever
// claims a batch answers its callers, exactly once.
func (in *inflight) claim(data []byte) *batch {
	if len(data) == 0 {
		return nil
	}
	k := unsafe.SliceData(data)
	in.mu.Lock()
	b := in.m[k]
	if b != nil && len(b.data) == len(data) {
		delete(in.m, k)
	} else {
		b = nil
	}
	in.mu.Unlock()
	return b
}

// waitWaiter lets waitLoop finish after Raft has shut down, but not
// forever: hashicorp/raft never resolves a future it had queued and not yet
// taken up when it shut down, so waitLoop may be parked in Error() for good.
// Its callers were answered through stop already; only that goroutine stays.
func (s *Store) waitWaiter() {
	if s.waitDone == nil {
		return // Open failed before the loops started
	}
	t := time.NewTimer(time.Second)
	defer t.Stop()
	select {
	case <-s.waitDone:
	case <-t.C:
		s.log.Debug("a proposal Raft never took up is left unanswered at shutdown")
	}
}

// answer wakes the callers of a batch from the from'th on with err (the
// earlier ones were answered by the FSM as it applied their commands), and
// frees the batch's slot.
func (s *Store) answer(b *batch, from int, err error) {
	for _, p := range b.reqs[min(from, len(b.reqs)):] {
		p.err = err
		p.done <- struct{}{}
	}
	<-s.slots
	s.metrics.applyLatency.Observe(time.Since(b.start).Seconds())
}

// waitLoop waits for each proposed batch's future in order. A batch the FSM
// applied is answered already; any other one gets the future's error.
func (s *Store) waitLoop() {
	defer close(s.waitDone)
	for {
		var b *batch
		select {
		case b = <-s.proposed:
		case <-s.stop:
			return
		}
		err := b.f.Error()
		if s.inflight.claim(b.data) == nil {
			continue // the FSM answered it
		}
		if err == nil {
			// Committed but not applied through this batch: should not
			// happen; the commands are idempotent, so a retry is safe.
			err = floodgate.Errorf(floodgate.EUnavailable, "The write was committed but its result was lost; retry with the same Idempotency-Key.")
		} else {
			err = s.mapError(err)
		}
		s.answer(b, 0, err)
	}
}
