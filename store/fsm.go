package store

import (
	"io"
	"sync"
	"time"

	"github.com/hashicorp/raft"

	"github.com/floodgate/floodgate"
	"github.com/floodgate/floodgate/sale"
)

// fsm applies committed batches to the sale state.
type fsm struct {
	mu    sync.RWMutex
	state *sale.State

	notifyMu sync.Mutex
	changed  chan struct{}

	// views is derived from state after each batch (queueview.go).
	views queueViews

	onApply func(cmds int, took time.Duration) // metrics hook; may be nil
	// On the leader, claim finds the batch a log entry carries and answer
	// wakes its callers (batch.go); both may be nil.
	claim  func(data []byte) *batch
	answer func(b *batch, from int, err error)
}

func newFSM() *fsm {
	return &fsm{state: sale.NewState(), changed: make(chan struct{})}
}

var _ raft.FSM = (*fsm)(nil)

// Apply applies one committed log entry: a batch of commands. On the
// leader, each command's result goes straight to the caller that proposed
// it (batch.go), and the caller is woken as soon as its own command is
// applied: the entry is committed (and fsynced) before the FSM sees it, so
// the caller may go on, and queue its next command for the next entry,
// while the rest of the batch is applied. The entry's response is nil.
func (f *fsm) Apply(l *raft.Log) any {
	if l.Type != raft.LogCommand {
		return nil
	}
	var b *batch
	if f.claim != nil {
		b = f.claim(l.Data)
	}
	start := time.Now()
	f.mu.Lock()
	n, err := f.state.ApplyBatch(l.Data, func(i int, res sale.Result) {
		if b != nil && i < len(b.reqs) {
			p := b.reqs[i]
			p.res = res
			p.done <- struct{}{}
		}
	})
	f.views.publish(f.state)
	f.mu.Unlock()
	if b != nil {
		// The callers of the commands applied above are answered; any
		// others get an error (a batch the FSM could not split to the end,
		// or one with fewer commands than callers: neither should happen).
		switch {
		case err != nil:
			f.answer(b, n, floodgate.Errorf(floodgate.EUnavailable, "The write could not be committed (%v); retry with the same Idempotency-Key.", err))
		case n < len(b.reqs):
			f.answer(b, n, floodgate.Errorf(floodgate.EInternal, "The batch returned %d results for %d commands.", n, len(b.reqs)))
		default:
			f.answer(b, len(b.reqs), nil)
		}
	}
	if err != nil {
		return err
	}
	if f.onApply != nil {
		f.onApply(n, time.Since(start))
	}
	f.notify()
	return nil
}

// notify wakes everyone waiting on Changed.
func (f *fsm) notify() {
	f.notifyMu.Lock()
	close(f.changed)
	f.changed = make(chan struct{})
	f.notifyMu.Unlock()
}

func (f *fsm) changedCh() <-chan struct{} {
	f.notifyMu.Lock()
	defer f.notifyMu.Unlock()
	return f.changed
}

// Snapshot copies the state; Persist encodes the copy while commands go on
// being applied (Raft holds up the FSM only during Snapshot).
func (f *fsm) Snapshot() (raft.FSMSnapshot, error) {
	f.mu.RLock()
	st := f.state.Clone()
	f.mu.RUnlock()
	return &snapshot{state: st}, nil
}

func (f *fsm) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	buf, err := io.ReadAll(rc)
	if err != nil {
		return err
	}
	st, err := sale.Unmarshal(buf)
	if err != nil {
		return err
	}
	f.mu.Lock()
	f.state = st
	f.views.publish(st)
	f.mu.Unlock()
	f.notify()
	return nil
}

type snapshot struct{ state *sale.State }

func (s *snapshot) Persist(sink raft.SnapshotSink) error {
	buf, err := s.state.Marshal()
	if err == nil {
		_, err = sink.Write(buf)
	}
	if err != nil {
		_ = sink.Cancel()
		return err
	}
	return sink.Close()
}

func (s *snapshot) Release() {}
