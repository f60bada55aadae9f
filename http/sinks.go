package http

import (
	"context"
	"net/http"
	"sort"
	"strconv"
	"time"

	"github.com/floodgate/floodgate"
	"github.com/floodgate/floodgate/internal/api"
	"github.com/floodgate/floodgate/sale"
	"github.com/floodgate/floodgate/sink"
)

// Limits of GET /api/v1/events.
const (
	DefaultEventsLimit = 100
	MaxEventsLimit     = 1000
	MaxEventsWait      = 30 // seconds
)

func errNoOrder(id string) error {
	return floodgate.Errorf(floodgate.ENotFound, "There is no order %q.", id)
}

// eventsPage is the answer of GET /api/v1/events.
type eventsPage struct {
	Events []floodgate.Event `json:"events"`
	// Next is the seq to pass as after= for the following page.
	Next uint64 `json:"next"`
	// Oldest is the first seq still retained (0: none): a puller whose
	// after= is below Oldest-1 missed events that were pruned.
	Oldest uint64 `json:"oldest"`
}

func queryUint(r *http.Request, name string, def, max uint64) (uint64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil || n > max {
		return 0, floodgate.Errorf(floodgate.EInvalid, "%q must be a whole number from 0 to %d.", name, max)
	}
	return n, nil
}

// listEvents answers GET /api/v1/events?after=&limit=&wait= (admin): the
// order feed after a seq; with wait, it holds the request until an event
// comes or wait seconds pass.
func (s *Server) listEvents(w http.ResponseWriter, r *http.Request) {
	after, err := queryUint(r, "after", 0, 1<<63-1)
	if err != nil {
		api.WriteError(w, err)
		return
	}
	limit, err := queryUint(r, "limit", DefaultEventsLimit, MaxEventsLimit)
	if err == nil && limit == 0 {
		err = floodgate.Errorf(floodgate.EInvalid, "\"limit\" must be from 1 to %d.", MaxEventsLimit)
	}
	if err != nil {
		api.WriteError(w, err)
		return
	}
	waitSec, err := queryUint(r, "wait", 0, MaxEventsWait)
	if err != nil {
		api.WriteError(w, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), time.Duration(waitSec)*time.Second)
	defer cancel()
	caller := CallerOf(r)
	for {
		changed := s.cfg.Store.Changed()
		page := eventsPage{Events: []floodgate.Event{}, Next: after}
		s.cfg.Store.Read(func(st *sale.State) {
			for _, e := range st.EventsAfter(after, int(limit), caller.Sees) {
				page.Events = append(page.Events, sink.Public(&e))
				page.Next = e.Seq
			}
			if e := st.Events.First(); e != nil {
				page.Oldest = e.Seq
			}
		})
		if len(page.Events) > 0 || waitSec == 0 {
			api.WriteJSON(w, http.StatusOK, page)
			return
		}
		select {
		case <-changed:
		case <-ctx.Done():
			if r.Context().Err() != nil {
				return // the client went away
			}
			api.WriteJSON(w, http.StatusOK, page)
			return
		}
	}
}

// sinkView is a sink as the API shows it: never its secret, nor the
// password of its DSN.
type sinkView struct {
	ID           string     `json:"id"`
	Kind         string     `json:"kind"`
	URL          string     `json:"url,omitempty"`
	DSN          string     `json:"dsn,omitempty"`
	Table        string     `json:"table,omitempty"`
	State        string     `json:"state"` // delivering, retrying, dead
	DeliveredSeq uint64     `json:"delivered_seq"`
	Backlog      uint64     `json:"backlog"`
	LastError    string     `json:"last_error"`
	LastErrorAt  *time.Time `json:"last_error_at,omitempty"`
	DeliveredAt  *time.Time `json:"delivered_at,omitempty"`
	Failures     int64      `json:"failures"`
	CreatedAt    time.Time  `json:"created_at"`
}

func viewSink(sk *sale.Sink, lastSeq uint64) sinkView {
	v := sinkView{
		ID: sk.ID, Kind: sk.Spec.Kind, URL: sk.Spec.URL, Table: sk.Spec.Table,
		DeliveredSeq: sk.DeliveredSeq, LastError: sk.LastError, Failures: sk.Failures,
		CreatedAt: sale.Time(sk.CreatedAt), State: "delivering",
	}
	if lastSeq > sk.DeliveredSeq {
		v.Backlog = lastSeq - sk.DeliveredSeq
	}
	if sk.Spec.DSN != "" {
		v.DSN = sink.RedactDSN(sk.Spec.DSN)
	}
	if sk.LastErrorAt != 0 {
		t := sale.Time(sk.LastErrorAt)
		v.LastErrorAt = &t
	}
	if sk.DeliveredAt != 0 {
		t := sale.Time(sk.DeliveredAt)
		v.DeliveredAt = &t
	}
	switch {
	case sk.Dead:
		v.State = "dead"
	case sk.Failures > 0:
		v.State = "retrying"
	}
	return v
}

func (s *Server) createSink(w http.ResponseWriter, r *http.Request) {
	var spec sale.SinkSpec
	if err := api.Decode(r, &spec); err != nil {
		api.WriteError(w, err)
		return
	}
	if spec.Tenant != "" {
		api.WriteError(w, floodgate.Errorf(floodgate.EInvalid, "Unknown field \"tenant\": a sink belongs to the tenant of the key that adds it."))
		return
	}
	spec.Tenant = CallerOf(r).Tenant
	spec, err := sink.ValidateSpec(spec, s.cfg.Dev)
	if err != nil {
		api.WriteError(w, err)
		return
	}
	res, err := s.apply(r.Context(), s.audited(r, &sale.Command{Kind: sale.KindAddSink, Sink: &spec}))
	if err != nil {
		api.WriteError(w, err)
		return
	}
	s.log.Info("sink added", "sink", res.Sink.ID, "kind", spec.Kind)
	api.WriteJSON(w, http.StatusCreated, s.viewApplied(res.Sink))
}

func (s *Server) listSinks(w http.ResponseWriter, r *http.Request) {
	views := []sinkView{}
	c := CallerOf(r)
	s.cfg.Store.Read(func(st *sale.State) {
		for _, sk := range st.Sinks {
			if !c.Sees(sk.Spec.Tenant) {
				continue
			}
			views = append(views, viewSink(sk, st.EventSeq))
		}
	})
	sort.Slice(views, func(i, j int) bool {
		return views[i].CreatedAt.Before(views[j].CreatedAt) || views[i].CreatedAt.Equal(views[j].CreatedAt) && views[i].ID < views[j].ID
	})
	api.WriteJSON(w, http.StatusOK, map[string]any{"sinks": views})
}

func (s *Server) getSink(w http.ResponseWriter, r *http.Request) {
	v, err := s.visibleSink(r)
	if err != nil {
		api.WriteError(w, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, v)
}

// visibleSink returns the sink of the request's path, or not_found when it
// does not exist or belongs to another tenant.
func (s *Server) visibleSink(r *http.Request) (sinkView, error) {
	id, c := r.PathValue("id"), CallerOf(r)
	var (
		v  sinkView
		ok bool
	)
	s.cfg.Store.Read(func(st *sale.State) {
		if sk := st.Sinks[id]; sk != nil && c.Sees(sk.Spec.Tenant) {
			v, ok = viewSink(sk, st.EventSeq), true
		}
	})
	if !ok {
		return v, floodgate.Errorf(floodgate.ENotFound, "There is no sink %q.", id)
	}
	return v, nil
}

func (s *Server) deleteSink(w http.ResponseWriter, r *http.Request) {
	if _, err := s.visibleSink(r); err != nil {
		api.WriteError(w, err)
		return
	}
	if _, err := s.apply(r.Context(), s.audited(r, &sale.Command{Kind: sale.KindRemoveSink, SinkID: r.PathValue("id")})); err != nil {
		api.WriteError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// retrySink takes a dead-lettered sink back into delivery from its cursor.
func (s *Server) retrySink(w http.ResponseWriter, r *http.Request) {
	if _, err := s.visibleSink(r); err != nil {
		api.WriteError(w, err)
		return
	}
	res, err := s.apply(r.Context(), s.audited(r, &sale.Command{Kind: sale.KindRetrySink, SinkID: r.PathValue("id")}))
	if err != nil {
		api.WriteError(w, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, s.viewApplied(res.Sink))
}

// viewApplied is the view of the sink a command returned, against the end
// of the order feed now.
func (s *Server) viewApplied(sk *sale.Sink) sinkView {
	var last uint64
	s.cfg.Store.Read(func(st *sale.State) { last = st.EventSeq })
	return viewSink(sk, last)
}
