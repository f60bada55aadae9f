package store

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/sale"
)

// commandsIn counts the sale commands carried by the command entries of logs.
func commandsIn(tb testing.TB, logs []*raft.Log) (entries, commands int) {
	tb.Helper()
	for _, l := range logs {
		if l.Type != raft.LogCommand {
			continue
		}
		entries++
		if err := sale.SplitBatch(l.Data, func([]byte) error { commands++; return nil }); err != nil {
			tb.Fatal(err)
		}
	}
	return entries, commands
}

// TestGroupCommitWaitsForTheWrite holds the log's append of one batch and
// checks the promises of group commit: no caller is answered before the
// entry carrying its command is written (and fsynced), no second append
// starts while that write is under way, and the commands that arrived
// meanwhile go together into the next entries (at most InFlight of them).
func TestGroupCommitWaitsForTheWrite(t *testing.T) {
	var (
		armed   atomic.Bool
		mu      sync.Mutex
		appends [][2]int // entries, commands per append of command entries
	)
	entered := make(chan struct{}, 16)
	gate := make(chan struct{})
	var opened sync.Once
	open := func() { opened.Do(func() { close(gate) }) }
	cfg := Config{Dir: t.TempDir(), Bootstrap: true, Logger: quietLogger(), beforeAppend: func(logs []*raft.Log) {
		e, c := commandsIn(t, logs)
		if e == 0 || !armed.Load() {
			return
		}
		mu.Lock()
		appends = append(appends, [2]int{e, c})
		first := len(appends) == 1
		mu.Unlock()
		entered <- struct{}{}
		if first {
			<-gate
		}
	}}
	st, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	defer open() // before Close, also when the test fails
	testkit.WaitFor(t, "leadership", st.IsLeader)
	if err := st.Barrier(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	armed.Store(true)

	const later = 40
	var answered atomic.Int32
	errs := make(chan error, later+1)
	apply := func(i int) {
		_, err := st.Apply(context.Background(), &sale.Command{Kind: sale.KindTick, Now: benchNow + int64(i)})
		answered.Add(1)
		errs <- err
	}
	go apply(0)
	<-entered // the first batch is being written
	for i := 1; i <= later; i++ {
		go apply(i)
	}
	// Up to InFlight-1 more batches may be proposed; the rest wait.
	testkit.WaitFor(t, "the later commands queued or proposed", func() bool {
		st.inflight.mu.Lock()
		proposed := 0
		for _, b := range st.inflight.m {
			proposed += len(b.reqs)
		}
		st.inflight.mu.Unlock()
		st.q.mu.Lock()
		queued := len(st.q.waiting)
		st.q.mu.Unlock()
		return queued+proposed == later+1
	})
	time.Sleep(50 * time.Millisecond) // room for a wrong early answer or append
	if n := answered.Load(); n != 0 {
		t.Fatalf("%d callers answered while the entry carrying their command was not written yet", n)
	}
	mu.Lock()
	if len(appends) != 1 {
		t.Fatalf("%d appends while the first batch's write was under way; want 1 (the next batch waits)", len(appends))
	}
	mu.Unlock()
	open()
	for range later + 1 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	entries, commands := 0, 0
	for _, a := range appends[1:] {
		entries += a[0]
		commands += a[1]
	}
	if appends[0] != [2]int{1, 1} || commands != later || entries > st.cfg.InFlight {
		t.Fatalf("appends (entries, commands) %v; want [1 1], then the %d later commands in at most %d entries", appends, later, st.cfg.InFlight)
	}
}
