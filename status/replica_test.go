package status

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/floodgate/floodgate/internal/testkit"
)

// memLog stands in for the cluster log in these unit tests: it applies
// proposals in order, one leader at a time. (The real Raft log is exercised
// by systemtest's three-node test.)
type memLog struct {
	mu      sync.Mutex
	seq     uint64
	recs    map[string]memRec
	changed chan struct{}
	leader  atomic.Int32
	// refuse makes every proposal fail, as the cluster log does while the
	// leader's data disk is full.
	refuse atomic.Bool
}

// errLogFull is what a refused proposal says; nothing of it may reach a
// public answer.
var errLogFull = errors.New("append /var/lib/secret-path/wal/00001.wal: no space left on device")

type memRec struct {
	seq   uint64
	value []byte
}

func newMemLog() *memLog { return &memLog{recs: map[string]memRec{}, changed: make(chan struct{})} }

// node is one node's view of the log.
func (l *memLog) node(id int32) Replica { return &memNode{l: l, id: id} }

type memNode struct {
	l  *memLog
	id int32
}

func (n *memNode) IsLeader() bool { return n.l.leader.Load() == n.id }

func (n *memNode) Propose(ctx context.Context, ops []Op) error {
	if !n.IsLeader() {
		return errors.New("not the leader")
	}
	if n.l.refuse.Load() {
		return errLogFull
	}
	l := n.l
	l.mu.Lock()
	l.seq++
	for _, op := range ops {
		if op.Del {
			delete(l.recs, op.Key)
		} else {
			l.recs[op.Key] = memRec{seq: l.seq, value: append([]byte(nil), op.Value...)}
		}
	}
	close(l.changed)
	l.changed = make(chan struct{})
	l.mu.Unlock()
	return nil
}

func (n *memNode) Seq() uint64 {
	n.l.mu.Lock()
	defer n.l.mu.Unlock()
	return n.l.seq
}

func (n *memNode) Scan(fn func(string, uint64, []byte)) uint64 {
	n.l.mu.Lock()
	defer n.l.mu.Unlock()
	for k, r := range n.l.recs {
		fn(k, r.seq, r.value)
	}
	return n.l.seq
}

func (n *memNode) Changed() <-chan struct{} {
	n.l.mu.Lock()
	defer n.l.mu.Unlock()
	return n.l.changed
}

func TestReplicatedIncidentsAndOneDeliveryAcrossLeaders(t *testing.T) {
	log := newMemLog()
	log.leader.Store(1)
	// Each path fails its first two tries, so deliveries are still queued
	// when the leader changes.
	rc := newReceiver(t, 2)
	a, _ := MustOpen(t, func(c *Config) {
		c.Replica = log.node(1)
		c.RetryBase = 300 * time.Millisecond
		c.RetryMax = 300 * time.Millisecond
	})
	b, _ := MustOpen(t, func(c *Config) {
		c.Replica = log.node(2)
		c.RetryBase = 300 * time.Millisecond
		c.RetryMax = 300 * time.Millisecond
	})

	if _, err := b.CreateIncident(IncidentInput{Name: "x", Impact: ImpactMinor, Message: "m"}); err == nil {
		t.Fatal("a follower took a write")
	}
	if _, err := a.Subscribe(SubscriberInput{Channel: ChannelWebhook, Target: rc.URL + "/hook", Secret: "0123456789abcdef0123456789abcdef"}); err != nil {
		t.Fatal(err)
	}
	inc, err := a.CreateIncident(IncidentInput{Name: "Checkout is failing", Impact: ImpactMajor, Message: "Orders fail.", Components: []string{"checkout"}})
	if err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, "the follower to show the incident", func() bool {
		sum := b.Summary()
		return len(sum.Incidents) == 1 && sum.Incidents[0].ID == inc.ID && sum.Status.Indicator == ImpactMajor
	})
	if len(b.Subscribers()) != 1 {
		t.Fatal("the follower does not know the subscriber")
	}
	// Both nodes answer the same summary, to the byte.
	testkit.WaitFor(t, "the same summary on both nodes", func() bool { return sameJSON(a.Summary(), b.Summary()) })
	testkit.WaitFor(t, "the first failed try", func() bool { return len(rc.all()) >= 1 })

	// The leader changes; the new leader delivers what is still queued,
	// and the old one stops.
	log.leader.Store(2)
	if _, err := b.AddUpdate(inc.ID, UpdateInput{Status: StatusResolved, Message: "Fixed."}); err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, "both events delivered", func() bool { return len(rc.accepted()) == 2 && a.OutboxLen() == 0 && b.OutboxLen() == 0 })
	time.Sleep(700 * time.Millisecond) // a repeat, if any, would come within two retry periods
	ids := map[string]int{}
	for _, r := range rc.accepted() {
		ids[r.Header.Get("Floodgate-Event-Id")]++
	}
	if len(ids) != 2 {
		t.Fatalf("accepted events %v, want two distinct events once each", ids)
	}
	for id, n := range ids {
		if n != 1 {
			t.Fatalf("event %s accepted %d times", id, n)
		}
	}
	got, err := a.Incident(inc.ID)
	if err != nil || got.Status != StatusResolved || len(got.Updates) != 2 {
		t.Fatalf("the old leader sees %+v (%v)", got, err)
	}
}

func TestNodeLocalRecordsMoveIntoTheCluster(t *testing.T) {
	dir := t.TempDir()
	old, _ := MustOpen(t, func(c *Config) { c.DataDir = dir })
	inc, err := old.CreateIncident(IncidentInput{Name: "Before the upgrade", Impact: ImpactMinor, Message: "m"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := old.Subscribe(SubscriberInput{Channel: ChannelSMS, Target: "+821012345678"}); err != nil {
		t.Fatal(err)
	}
	old.Close()

	log := newMemLog()
	log.leader.Store(1)
	s, _ := MustOpen(t, func(c *Config) { c.DataDir = dir; c.Replica = log.node(1) })
	other, _ := MustOpen(t, func(c *Config) { c.Replica = log.node(2) })
	testkit.WaitFor(t, "the old incident on another node", func() bool {
		_, err := other.Incident(inc.ID)
		return err == nil && len(other.Subscribers()) == 1
	})
	// Moved once: a later start does not copy again over newer records.
	if done, err := s.st.migrated(); !done {
		t.Fatalf("the store is not marked as moved (%v)", err)
	}
}
