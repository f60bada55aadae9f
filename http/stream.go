package http

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/floodgate/floodgate"
	"github.com/floodgate/floodgate/internal/api"
	"github.com/floodgate/floodgate/internal/sse"
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
	q.Customers = sale.CustomerCounts{}
	q.Active = sale.ActiveHolds{}
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
	if _, ok := event(); !ok {
		api.WriteError(w, floodgate.Errorf(floodgate.ENotFound, "There is no drop %q.", id))
		return
	}
	// Capped per address like the queue's streams: an edge follows one
	// stream per drop, nobody needs thousands.
	release, ok := s.openStream(w, r, "Too many open event streams from your address; close some first.")
	if !ok {
		return
	}
	defer release()
	opts := sse.Options{Retry: time.Second, MinInterval: admissionInterval, Keepalive: admissionKeepalive}
	err := sse.Stream(w, r, opts, func() ([]byte, bool, <-chan struct{}) {
		changed := s.cfg.Store.Changed()
		b, ok := event()
		// A drop gone from the state (it never is today) ends the stream so
		// that the edge asks again.
		return b, !ok, changed
	})
	if err != nil {
		api.WriteError(w, floodgate.Errorf(floodgate.EInternal, "streaming is not supported"))
	}
}

// openStream takes one of the client address's stream slots and counts the
// stream; release gives both back. When the address has none left it
// answers 429 with tooMany and ok is false.
func (s *Server) openStream(w http.ResponseWriter, r *http.Request, tooMany string) (release func(), ok bool) {
	free, ok := s.streams.Acquire(clientIPOf(r))
	if !ok {
		api.WriteErrorRetry(w, floodgate.Errorf(floodgate.ERateLimited, "%s", tooMany), 5)
		return nil, false
	}
	s.metrics.sseStreams.Inc()
	return func() {
		s.metrics.sseStreams.Dec()
		free()
	}, true
}
