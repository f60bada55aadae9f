package main

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/floodgate/floodgate/identity"
	"github.com/floodgate/floodgate/sale"
	"github.com/floodgate/floodgate/status"
	"github.com/floodgate/floodgate/store"
)

// statusReplica replicates the status page's records through the sale log
// (sale.KindStatus), so every node serves the same page and a node's loss
// loses nothing (docs/architecture.md, "Status, replicated").
type statusReplica struct{ st *store.Store }

var _ status.Replica = statusReplica{}

func (r statusReplica) IsLeader() bool { return r.st.IsLeader() }

func (r statusReplica) Propose(ctx context.Context, ops []status.Op) error {
	c := &sale.Command{Kind: sale.KindStatus, Now: time.Now().UnixMilli(), StatusOps: make([]sale.StatusOp, len(ops))}
	for i, op := range ops {
		c.StatusOps[i] = sale.StatusOp{Key: op.Key, Value: op.Value, Del: op.Del}
	}
	_, err := r.st.Apply(ctx, c)
	return err
}

func (r statusReplica) Seq() (seq uint64) {
	r.st.Read(func(s *sale.State) { seq = s.StatusSeq })
	return seq
}

func (r statusReplica) Scan(fn func(key string, seq uint64, value []byte)) (seq uint64) {
	r.st.Read(func(s *sale.State) {
		for k, rec := range s.Status {
			fn(k, rec.Seq, rec.Value)
		}
		seq = s.StatusSeq
	})
	return seq
}

func (r statusReplica) Changed() <-chan struct{} { return r.st.Changed() }

// holdGrace tells the leader's ticks to pause holds while the identity
// provider is down, and while an acknowledged incident of impact major or
// critical touches checkout or login.
type holdGrace struct {
	idp    identity.Health
	status atomic.Pointer[status.Service]
}

func (g *holdGrace) Down() bool {
	if g.idp != nil && g.idp.Down() {
		return true
	}
	s := g.status.Load()
	return s != nil && s.HoldsPaused()
}
