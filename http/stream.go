package http

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/floodgate/floodgate"
	"github.com/floodgate/floodgate/sale"
)

// AdmissionEvent is one event of GET /api/v1/drops/{drop}/admission: what an
// edge needs to answer queue status and drop reads without asking the
// cluster per visitor.
type AdmissionEvent struct {
	// Public is the drop as GET /api/v1/drops/{drop} shows it.
	Public floodgate.Drop `json:"public"`
	// Queue holds the replicated counters queue.StatusOf reads. The maps of
	// customers and active holds and the voucher codes are left out, and the
	// admission batches still inside their window are folded into one with
	// the same count of unresolved admissions.
	Queue sale.Drop `json:"queue"`
	// Applied is the count of commands the node had applied, to see lag.
	Applied uint64 `json:"applied"`
}

// admissionInterval is the shortest time between two events on one stream:
// the leader moves admission once per tick (100 ms by default).
const admissionInterval = 100 * time.Millisecond

// admissionKeepalive keeps load balancers from closing a quiet stream.
const admissionKeepalive = 15 * time.Second

// AdmissionEventOf builds the event for drop d at now (unix ms).
func AdmissionEventOf(d *sale.Drop, applied uint64, now int64) AdmissionEvent {
	q := *d
	q.Spec.Vouchers = nil
	q.Customers = nil
	q.Active = nil
	if len(d.Batches) > 0 {
		folded := sale.AdmitBatch{From: d.Batches[0].From, To: d.Batches[0].From + d.Unresolved(), At: d.Batches[len(d.Batches)-1].At}
		q.Batches = []sale.AdmitBatch{folded}
	} else {
		q.Batches = nil
	}
	return AdmissionEvent{Public: sale.PublicDrop(d, now), Queue: q, Applied: applied}
}

// admissionStream streams a drop's admission state as server-sent events, one
// "data:" line with an AdmissionEvent each time it changes (at most every
// 100 ms). Any node answers from its applied state, so edges follow the
// counters with one stream per drop instead of one request per visitor.
func (s *Server) admissionStream(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("drop")
	event := func() ([]byte, bool) {
		var (
			ev AdmissionEvent
			ok bool
		)
		now := s.cfg.Now().UnixMilli()
		s.cfg.Store.Read(func(st *sale.State) {
			var d *sale.Drop
			if d, ok = st.Drops[id]; ok {
				ev = AdmissionEventOf(d, st.Applied, now)
			}
		})
		if !ok {
			return nil, false
		}
		b, _ := json.Marshal(ev)
		return b, true
	}
	first, ok := event()
	if !ok {
		writeErr(w, floodgate.Errorf(floodgate.ENotFound, "There is no drop %q.", id))
		return
	}
	fl, ok := w.(http.Flusher)
	if !ok {
		writeErr(w, floodgate.Errorf(floodgate.EInternal, "streaming is not supported"))
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	s.metrics.sseStreams.Inc()
	defer s.metrics.sseStreams.Dec()
	last := first
	if _, err := fmt.Fprintf(w, "retry: 1000\n\ndata: %s\n\n", first); err != nil {
		return
	}
	fl.Flush()
	keepalive := time.NewTicker(admissionKeepalive)
	defer keepalive.Stop()
	for {
		changed := s.cfg.Store.Changed()
		select {
		case <-r.Context().Done():
			return
		case <-keepalive.C:
			if _, err := fmt.Fprint(w, ": keepalive\n\n"); err != nil {
				return
			}
			fl.Flush()
			continue
		case <-changed:
		}
		b, ok := event()
		if !ok {
			// The drop is gone from this node's state (it never is today);
			// end the stream so the edge asks again.
			return
		}
		if string(b) != string(last) {
			if _, err := fmt.Fprintf(w, "data: %s\n\n", b); err != nil {
				return
			}
			fl.Flush()
			last = b
		}
		select {
		case <-r.Context().Done():
			return
		case <-time.After(admissionInterval):
		}
	}
}
