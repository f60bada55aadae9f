package store

import (
	"context"
	"time"

	"github.com/floodgate/floodgate/sale"
	"github.com/floodgate/floodgate/status"
)

// StatusReplica is the store as the status page sees it: it replicates the
// page's records through the sale log (sale.KindStatus), so every node serves
// the same page and a node's loss loses nothing (docs/architecture.md,
// "Status, replicated"), and it tells who was affected by an incident.
type StatusReplica struct{ *Store }

var (
	_ status.Replica              = StatusReplica{}
	_ status.AffectedSource       = StatusReplica{}
	_ status.TenantAffectedSource = StatusReplica{}
)

// Propose commits ops in one command of the sale log.
func (r StatusReplica) Propose(ctx context.Context, ops []status.Op) error {
	c := &sale.Command{Kind: sale.KindStatus, Now: time.Now().UnixMilli(), StatusOps: make([]sale.StatusOp, len(ops))}
	for i, op := range ops {
		c.StatusOps[i] = sale.StatusOp{Key: op.Key, Value: op.Value, Del: op.Del}
	}
	_, err := r.Apply(ctx, c)
	return err
}

// Seq is the number of status changes applied on this node.
func (r StatusReplica) Seq() (seq uint64) {
	r.Read(func(s *sale.State) { seq = s.StatusSeq })
	return seq
}

// Scan calls fn with every status record applied on this node.
func (r StatusReplica) Scan(fn func(key string, seq uint64, value []byte)) (seq uint64) {
	r.Read(func(s *sale.State) {
		for k, rec := range s.Status {
			fn(k, rec.Seq, rec.Value)
		}
		seq = s.StatusSeq
	})
	return seq
}

// Affected lists the buyers who held or ordered between from and to, for
// the notices of an incident (status.AffectedSource).
func (r StatusReplica) Affected(from, to time.Time) ([]status.Buyer, error) {
	return r.AffectedOf("", from, to)
}

// AffectedOf is Affected limited to the drops of one tenant ("" is every
// drop; status.TenantAffectedSource).
func (r StatusReplica) AffectedOf(tenant string, from, to time.Time) ([]status.Buyer, error) {
	var out []status.Buyer
	r.Read(func(s *sale.State) {
		for _, b := range s.AffectedOf(tenant, from.UnixMilli(), to.UnixMilli()) {
			out = append(out, status.Buyer{Customer: b.Customer, Email: b.Email})
		}
	})
	return out, nil
}
