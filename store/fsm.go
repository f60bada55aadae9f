package store

import (
	"io"
	"sync"

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

	onApply func(cmds int) // metrics hook; may be nil
}

func newFSM() *fsm {
	return &fsm{state: sale.NewState(), changed: make(chan struct{})}
}

var _ raft.FSM = (*fsm)(nil)

// Apply applies one committed log entry: a batch of commands. It returns a
// []sale.Result in the order of the batch.
func (f *fsm) Apply(l *raft.Log) any {
	if l.Type != raft.LogCommand {
		return nil
	}
	results := make([]sale.Result, 0, sale.BatchLen(l.Data))
	f.mu.Lock()
	err := sale.SplitBatch(l.Data, func(buf []byte) error {
		c, err := sale.DecodeCommand(buf)
		if err != nil {
			results = append(results, sale.Result{Err: floodgate.Errorf(floodgate.EInvalid, "The command could not be decoded.")})
			return nil
		}
		results = append(results, f.state.Apply(&c))
		return nil
	})
	f.mu.Unlock()
	if err != nil {
		return err
	}
	if f.onApply != nil {
		f.onApply(len(results))
	}
	f.notify()
	return results
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

func (f *fsm) Snapshot() (raft.FSMSnapshot, error) {
	f.mu.RLock()
	buf, err := f.state.Marshal()
	f.mu.RUnlock()
	if err != nil {
		return nil, err
	}
	return snapshot(buf), nil
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
	f.mu.Unlock()
	f.notify()
	return nil
}

type snapshot []byte

func (s snapshot) Persist(sink raft.SnapshotSink) error {
	if _, err := sink.Write(s); err != nil {
		_ = sink.Cancel()
		return err
	}
	return sink.Close()
}

func (s snapshot) Release() {}
