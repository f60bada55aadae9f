package status

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/floodgate/floodgate"
)

// Replica is the cluster log through which a core node's status records
// (components, incidents with their updates, maintenance, subscribers, the
// outbox and the health signals' memory) are replicated. With a Replica, the
// Service keeps those records nowhere else: every change is proposed to the
// log, and every node (the leader included) reads them back from what the
// log applied. Only the leader writes: followers' HTTP writes are forwarded
// to it like sale writes, and only the leader opens automatic incidents and
// delivers notices, so every event reaches every subscriber from one place.
// The delivery log stays on each node's disk.
type Replica interface {
	// IsLeader reports whether this node may propose now.
	IsLeader() bool
	// Propose commits ops in one log entry and returns once they are
	// applied on this node. An error means they may not have been.
	Propose(ctx context.Context, ops []Op) error
	// Seq is the number of status changes applied on this node.
	Seq() uint64
	// Scan calls fn with every record as applied on this node: its key
	// "<bucket>/<id>", the Seq of the change that last wrote it, and its
	// value (which fn must not keep). It returns the Seq it saw.
	Scan(fn func(key string, seq uint64, value []byte)) uint64
	// Changed returns a channel that is closed the next time anything is
	// applied on this node.
	Changed() <-chan struct{}
}

// Op is one record written to (or, with Del, removed from) the Replica.
type Op struct {
	Key   string
	Value []byte
	Del   bool
}

// replicated are the buckets that live in the Replica; the delivery log
// stays local.
var replicated = [][]byte{bucketComponents, bucketIncidents, bucketMaintenances, bucketSubscribers, bucketOutbox, bucketSignals}

// maxProposal bounds the bytes of one proposal; a larger change (an outage
// notice to many thousands of buyers) is proposed in parts.
const maxProposal = 1 << 20

// persist makes a batch durable: in the local store, or through the
// Replica. The caller holds s.mu.
func (s *Service) persist(b *batch) error {
	if b.empty() {
		return nil
	}
	r := s.cfg.Replica
	if r == nil {
		return s.st.commit(b)
	}
	if len(b.logs) > 0 {
		if err := s.st.commit(&batch{logs: b.logs}); err != nil {
			s.log.Warn("could not write the delivery log", "err", err)
		}
	}
	if len(b.puts) == 0 && len(b.dels) == 0 {
		return nil
	}
	if !r.IsLeader() {
		s.resync = true
		return floodgate.Errorf(floodgate.EUnavailable, "This node is not the leader; status changes are taken by the leader. Retry in a moment.")
	}
	var ops []Op
	size := 0
	flush := func() error {
		if len(ops) == 0 {
			return nil
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err := r.Propose(ctx, ops)
		ops, size = nil, 0
		return err
	}
	add := func(op Op) error {
		if size+len(op.Key)+len(op.Value) > maxProposal {
			if err := flush(); err != nil {
				return err
			}
		}
		ops = append(ops, op)
		size += len(op.Key) + len(op.Value)
		return nil
	}
	var err error
	for _, p := range b.puts {
		buf, merr := json.Marshal(p.value)
		if merr != nil {
			err = merr
			break
		}
		if err = add(Op{Key: string(p.bucket) + "/" + p.key, Value: buf}); err != nil {
			break
		}
	}
	for _, d := range b.dels {
		if err != nil {
			break
		}
		err = add(Op{Key: string(d.bucket) + "/" + d.key, Del: true})
	}
	if err == nil {
		err = flush()
	}
	if err != nil {
		// What this node holds in memory may now be ahead of the log:
		// read everything back from the log before the next answer.
		s.resync = true
		if floodgate.ErrorCode(err) != "" {
			return err
		}
		return floodgate.Errorf(floodgate.EUnavailable, "The status change could not be committed (%v); retry in a moment.", err)
	}
	return nil
}

// follow keeps the in-memory records equal to the Replica's: at start, and
// whenever the log applies a status change.
func (s *Service) follow() {
	defer s.wg.Done()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		changed := s.cfg.Replica.Changed()
		s.syncReplica(false)
		select {
		case <-s.ctx.Done():
			return
		case <-changed:
			// Many sale commands may come at once; looking 20 times a
			// second is soon enough for the status page.
			select {
			case <-s.ctx.Done():
				return
			case <-time.After(50 * time.Millisecond):
			}
		case <-t.C:
		}
	}
}

// syncReplica reads what changed in the Replica since the last look. With
// full, or after a proposal failed, it reads everything afresh.
func (s *Service) syncReplica(full bool) {
	r := s.cfg.Replica
	s.mu.Lock()
	defer s.mu.Unlock()
	if !full && !s.resync && r.Seq() == s.seenSeq {
		return
	}
	if full || s.resync {
		s.components = map[string]*Component{}
		s.incidents = map[string]*Incident{}
		s.maintenances = map[string]*Maintenance{}
		s.subscribers = map[string]*Subscriber{}
		s.outbox = map[string]*Delivery{}
		s.signals = map[string]*signalState{}
		s.recSeq = map[string]uint64{}
		s.resync = false
	}
	seen := make(map[string]bool, len(s.recSeq))
	changed := false
	s.seenSeq = r.Scan(func(key string, seq uint64, value []byte) {
		seen[key] = true
		if s.recSeq[key] == seq {
			return
		}
		if err := s.loadRecordLocked(key, value); err != nil {
			s.log.Error("ignoring a status record that does not decode", "key", key, "err", err)
		}
		s.recSeq[key] = seq
		changed = true
	})
	for key := range s.recSeq {
		if !seen[key] {
			s.dropRecordLocked(key)
			delete(s.recSeq, key)
			changed = true
		}
	}
	s.addFixedLocked()
	if changed {
		s.kick()
	}
}

func (s *Service) loadRecordLocked(key string, value []byte) error {
	bucket, id, _ := strings.Cut(key, "/")
	switch bucket {
	case string(bucketComponents):
		return decodeInto(value, func(c *Component) { s.components[id] = c })
	case string(bucketIncidents):
		return decodeInto(value, func(i *Incident) { s.incidents[id] = i })
	case string(bucketMaintenances):
		return decodeInto(value, func(m *Maintenance) { s.maintenances[id] = m })
	case string(bucketSubscribers):
		return decodeInto(value, func(sub *Subscriber) { s.subscribers[id] = sub })
	case string(bucketOutbox):
		return decodeInto(value, func(d *Delivery) { s.loadDeliveryLocked(id, d) })
	case string(bucketSignals):
		return decodeInto(value, func(g *signalState) { s.signals[id] = g })
	}
	return nil
}

func (s *Service) dropRecordLocked(key string) {
	bucket, id, _ := strings.Cut(key, "/")
	switch bucket {
	case string(bucketComponents):
		delete(s.components, id)
	case string(bucketIncidents):
		delete(s.incidents, id)
	case string(bucketMaintenances):
		delete(s.maintenances, id)
	case string(bucketSubscribers):
		delete(s.subscribers, id)
	case string(bucketOutbox):
		delete(s.outbox, id)
		delete(s.unrecorded, id)
	case string(bucketSignals):
		delete(s.signals, id)
	}
}

func decodeInto[T any](value []byte, fn func(*T)) error {
	t := new(T)
	if err := json.Unmarshal(value, t); err != nil {
		return err
	}
	fn(t)
	return nil
}

// writer reports whether this node writes status records: always without a
// Replica, only as the leader with one.
func (s *Service) writer() bool {
	return s.cfg.Replica == nil || s.cfg.Replica.IsLeader()
}

// migrateLocal copies the records of a node-local store written before the
// status page was replicated into the Replica, once, on the first node to
// lead after the upgrade. Records the Replica already has are kept as they
// are there.
func (s *Service) migrateLocal() {
	if s.migrated || !s.cfg.Replica.IsLeader() {
		return
	}
	done, err := s.st.migrated()
	if err != nil || done {
		s.migrated = err == nil
		return
	}
	s.mu.Lock()
	var b batch
	n := 0
	for _, bucket := range replicated {
		_ = s.st.each(bucket, func(key string, value []byte) {
			if _, have := s.recSeq[string(bucket)+"/"+key]; have {
				return
			}
			b.put(bucket, key, json.RawMessage(append([]byte(nil), value...)))
			n++
		})
	}
	err = s.persist(&b)
	s.mu.Unlock()
	if err != nil {
		s.log.Warn("could not move the node's status records into the cluster; will retry", "err", err)
		return
	}
	if err := s.st.markMigrated(); err != nil {
		s.log.Warn("could not mark the node's status records as moved", "err", err)
		return
	}
	s.migrated = true
	if n > 0 {
		s.log.Info("moved the node's status records into the cluster", "records", n)
		s.syncReplica(false)
	}
}
