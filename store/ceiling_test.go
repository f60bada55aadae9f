package store

import (
	"context"
	"fmt"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/floodgate/floodgate"
	"github.com/floodgate/floodgate/sale"
)

// The engine's peers, measured by the same 128 callers (64 per CPU) as
// BenchmarkApply, each with one command in flight, every log entry
// fsynced: what the log and Raft allow before the state machine does
// anything, so that a run says how much of the engine's rate its own work
// costs.
//
//   - BenchmarkApplyRefused: the store as it is, each command one the state
//     machine refuses at its first look-up (a hold in a drop that does not
//     exist): group commit, Raft, the log and the answers, without the
//     state machine's work; with BenchmarkApply's figures of a cycle
//     (fsm-us is then the FSM's time to refuse and answer an entry's
//     commands).
//   - BenchmarkRaftAlone: hashicorp/raft on the same raft-wal log and
//     Raft settings, with an FSM that does nothing, each caller proposing
//     its own 100-byte entry (Raft's own batching of what waits in its
//     apply channel, BatchApplyCh): the components without the store.

func BenchmarkApplyRefused(b *testing.B) {
	reg := prometheus.NewRegistry()
	st := open(b, b.TempDir(), reg)
	defer st.Close()
	before := readCycle(b, reg)
	var next atomic.Int64
	elapsed := callers(b, func() error {
		c := &sale.Command{Kind: sale.KindHold, Now: benchNow, Drop: "none", Visitor: "visitor", Seq: next.Add(1), Quantity: 1}
		if _, err := st.Apply(context.Background(), c); floodgate.ErrorCode(err) != floodgate.ENotFound {
			return fmt.Errorf("a hold in a drop that does not exist: %v, want not_found", err)
		}
		return nil
	})
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "commands/s")
	before.report(b, reg, elapsed)
}

// countFSM applies nothing; it counts the entries it is given.
type countFSM struct{ n atomic.Int64 }

func (f *countFSM) Apply(*raft.Log) any                 { f.n.Add(1); return nil }
func (f *countFSM) Snapshot() (raft.FSMSnapshot, error) { return nil, io.EOF }
func (f *countFSM) Restore(io.ReadCloser) error         { return nil }

func BenchmarkRaftAlone(b *testing.B) {
	dir := b.TempDir()
	wal, meta, err := openWAL(dir, quietLogger(), hclogger(quietLogger(), "wal"))
	if err != nil {
		b.Fatal(err)
	}
	defer meta.Close()
	defer wal.Close()
	rc := raftConfig("node1", hclogger(quietLogger(), "raft")) // Open's
	addr, tr := raft.NewInmemTransport("")
	fsm := &countFSM{}
	r, err := raft.NewRaft(rc, fsm, wal, wal, raft.NewInmemSnapshotStore(), tr)
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = r.Shutdown().Error() }()
	if err := r.BootstrapCluster(raft.Configuration{Servers: []raft.Server{{ID: rc.LocalID, Address: addr}}}).Error(); err != nil {
		b.Fatal(err)
	}
	select {
	case <-r.LeaderCh():
	case <-time.After(15 * time.Second):
		b.Fatal("no leadership within 15s")
	}
	if err := r.Barrier(10 * time.Second).Error(); err != nil {
		b.Fatal(err)
	}
	applied0 := fsm.n.Load()
	data := make([]byte, 100)
	elapsed := callers(b, func() error { return r.Apply(data, 10*time.Second).Error() })
	if got := fsm.n.Load() - applied0; got != int64(b.N) {
		b.Fatalf("the FSM was given %d entries for %d applied", got, b.N)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "commands/s")
}
