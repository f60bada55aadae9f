package store

import (
	"sync"
	"sync/atomic"

	"github.com/floodgate/floodgate/sale"
)

// queueViews holds, per drop, the immutable view queue status reads
// (sale.Drop.QueueView), published after each applied batch, so that the
// many readers of queue status in a rush never wait for the state's lock.
type queueViews struct {
	m sync.Map // drop id → *atomic.Pointer[sale.Drop]
	n int      // entries in m; written only under the fsm's write lock
}

// publish refreshes the view of every drop in st whose status inputs
// changed; the caller holds the state's write lock.
func (q *queueViews) publish(st *sale.State) {
	for id, d := range st.Drops {
		p, ok := q.m.Load(id)
		if !ok {
			p, _ = q.m.LoadOrStore(id, new(atomic.Pointer[sale.Drop]))
			q.n++
		}
		ptr := p.(*atomic.Pointer[sale.Drop])
		prev := ptr.Load()
		if v := d.QueueView(prev); v != prev {
			ptr.Store(v)
		}
	}
	if q.n > len(st.Drops) {
		// A drop is gone (a snapshot restore): forget its view.
		q.m.Range(func(k, p any) bool {
			if _, ok := st.Drops[k.(string)]; !ok {
				p.(*atomic.Pointer[sale.Drop]).Store(nil)
				q.m.Delete(k)
				q.n--
			}
			return true
		})
	}
}

// get returns the drop's view, nil if this node has not applied the drop.
func (q *queueViews) get(drop string) *sale.Drop {
	p, ok := q.m.Load(drop)
	if !ok {
		return nil
	}
	return p.(*atomic.Pointer[sale.Drop]).Load()
}

// QueueView returns the immutable view of a drop that queue status reads
// (sale.Drop.QueueView) as of the last applied batch, without taking the
// state's lock; nil if this node has not applied the drop yet. Do not
// modify it.
func (s *Store) QueueView(drop string) *sale.Drop { return s.fsm.views.get(drop) }
