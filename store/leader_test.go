package store

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/floodgate/floodgate/sale"
)

// A new leader waits on a barrier before it takes writes. When that barrier
// fails once, the node must not stay a Raft leader that refuses writes: it
// retries, then leads.
func TestLeaderWhosePostElectionBarrierFailsOnceStillTakesWrites(t *testing.T) {
	var calls atomic.Int32
	st, err := Open(Config{
		Dir: t.TempDir(), Bootstrap: true, Logger: quietLogger(),
		wrapBarrier: func(barrier func(time.Duration) error) func(time.Duration) error {
			return func(d time.Duration) error {
				if calls.Add(1) == 1 {
					return errors.New("injected barrier failure")
				}
				return barrier(d)
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	deadline := time.Now().Add(15 * time.Second)
	for !st.IsLeader() {
		if time.Now().After(deadline) {
			t.Fatalf("the only node never leads after a failed barrier (raft state %s, barrier calls %d)", st.State(), calls.Load())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if n := calls.Load(); n < 2 {
		t.Fatalf("barrier called %d times; the failure was never retried", n)
	}
	if st.LeaderEpoch() != 1 {
		t.Fatalf("leader epoch = %d; want 1", st.LeaderEpoch())
	}
	spec := &sale.DropSpec{ID: "d", Name: "D", Price: 1, Currency: "KRW", Stock: 3, PerCustomerLimit: 1,
		StartsAt: benchNow, HoldSeconds: 60, AdmitPerSecond: 10, AdmitWindow: sale.DefaultAdmitWindow}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := st.Apply(ctx, &sale.Command{Kind: sale.KindCreateDrop, Now: benchNow, Drop: "d", Spec: spec}); err != nil {
		t.Fatalf("write after the retried barrier: %v", err)
	}
}

// LeadershipChanged's channel is closed when the node comes to lead (it is
// closed the same way when it stops: the forward streams it serves as the
// leader are closed then).
func TestLeadershipChangedIsClosedWhenTheNodeLeads(t *testing.T) {
	release := make(chan struct{})
	st, err := Open(Config{
		Dir: t.TempDir(), Bootstrap: true, Logger: quietLogger(),
		wrapBarrier: func(barrier func(time.Duration) error) func(time.Duration) error {
			return func(d time.Duration) error {
				<-release // the node does not lead before the test looks
				return barrier(d)
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	changed := st.LeadershipChanged()
	if st.IsLeader() {
		t.Fatal("the node leads before its barrier returned")
	}
	close(release)
	select {
	case <-changed:
	case <-time.After(30 * time.Second):
		t.Fatal("the node's leadership channel was not closed when it came to lead")
	}
	if !st.IsLeader() {
		t.Fatal("the leadership channel was closed but the node does not lead")
	}
	select {
	case <-st.LeadershipChanged():
		t.Fatal("the channel after the change is closed already")
	default:
	}
}

// Closing the store closes LeadershipChanged's channel, and the channel
// asked for after Close is closed already: a forward stream the node serves
// as the leader, or anything else waiting for the leadership to change, does
// not outlive the store.
func TestLeadershipChangedIsClosedWhenTheStoreCloses(t *testing.T) {
	st := open(t, t.TempDir(), nil)
	changed := st.LeadershipChanged()
	_ = st.Close()
	select {
	case <-changed:
	default:
		t.Fatal("the leadership channel is still open after Close")
	}
	if st.IsLeader() {
		t.Fatal("a closed store says it leads")
	}
	select {
	case <-st.LeadershipChanged():
	default:
		t.Fatal("the leadership channel asked for after Close is open")
	}
}
