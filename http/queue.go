package http

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/floodgate/floodgate"
	"github.com/floodgate/floodgate/internal/api"
	"github.com/floodgate/floodgate/internal/handjson"
	"github.com/floodgate/floodgate/internal/sse"
	"github.com/floodgate/floodgate/queue"
	"github.com/floodgate/floodgate/sale"
)

// joinResponse is the answer of POST /api/v1/drops/{drop}/queue.
type joinResponse struct {
	Ticket string `json:"ticket"`
	queue.Status
}

func (s *Server) join(w http.ResponseWriter, r *http.Request) {
	drop := r.PathValue("drop")
	var req joinRequest
	if err := decodeOptional(r, &req); err != nil {
		api.WriteError(w, err)
		return
	}
	if !s.joins.allow(clientIPOf(r)) {
		s.metrics.joinsLimited.Inc()
		api.WriteErrorRetry(w, floodgate.Errorf(floodgate.ERateLimited, "Too many queue joins from your address; wait a few seconds. Your place is kept by the ticket you already have."), 5)
		return
	}
	var (
		tok string
		st  queue.Status
		ch  *queue.Challenge
		err error
	)
	if s.inPresale(drop) {
		// An invited customer or a one-time code: the join is accounted
		// for already, so no work is asked for.
		if err := s.presaleGate(r.Context(), drop, req.Presale); err != nil {
			api.WriteError(w, err)
			return
		}
		tok, st, err = s.cfg.Queue.Join(r.Context(), drop)
	} else {
		tok, st, ch, err = s.cfg.Queue.JoinChallenged(r.Context(), drop, clientIPOf(r), req.Challenge)
	}
	if turnedBack(w, ch, err) {
		return
	}
	s.metrics.joins.Inc()
	api.WriteJSONBytes(w, http.StatusCreated, appendJoinResponse(make([]byte, 0, len(tok)+200), tok, st))
}

// appendJoinResponse appends the join answer as encoding/json writes
// joinResponse, without reflection: every visitor joins once.
func appendJoinResponse(b []byte, tok string, st queue.Status) []byte {
	b = append(b, `{"ticket":`...)
	b = handjson.AppendString(b, tok)
	b = append(b, ',')
	n := len(b)
	b = st.AppendJSON(b)
	// Status's object, without its opening brace, continues ours.
	b = append(b[:n], b[n+1:]...)
	return append(b, '\n')
}

// ticket reads and verifies the ticket of a request: the Authorization
// bearer token, or ?ticket= for EventSource, which cannot send headers.
func (s *Server) ticket(r *http.Request, drop string) (*queue.Claims, error) {
	tok, err := api.Ticket(r)
	if err != nil {
		return nil, err
	}
	_, v, err := s.cfg.Queue.Keys()
	if err != nil {
		return nil, err
	}
	return v.Verify(tok, drop, s.cfg.Now())
}

func (s *Server) queueStatus(w http.ResponseWriter, r *http.Request) {
	c, err := s.ticket(r, r.PathValue("drop"))
	if err != nil {
		api.WriteError(w, err)
		return
	}
	if strings.Contains(r.Header.Get("Accept"), "text/event-stream") {
		s.queueEvents(w, r, c)
		return
	}
	st, err := s.queueStatusOf(r.Context(), c)
	if err != nil {
		api.WriteError(w, err)
		return
	}
	buf := st.AppendJSON(make([]byte, 0, 160))
	api.WriteJSONBytes(w, http.StatusOK, append(buf, '\n'))
}

// catchUpWait is how long a node behind the leader waits to apply a
// ticket's drop before it answers unavailable (with Retry-After).
const catchUpWait = time.Second

// queueStatusOf is the ticket's place; on a node that has not applied the
// ticket's drop yet (created on the leader a moment ago) it waits for its
// log to catch up rather than answer the visitor with an error at once.
func (s *Server) queueStatusOf(ctx context.Context, c *queue.Claims) (queue.Status, error) {
	// A node that has the drop answers at once, without a timer.
	st, err := s.cfg.Queue.Status(c)
	if err == nil || floodgate.ErrorCode(err) != floodgate.EUnavailable {
		return st, err
	}
	timeout := time.NewTimer(catchUpWait)
	defer timeout.Stop()
	for {
		changed := s.cfg.Store.Changed()
		st, err := s.cfg.Queue.Status(c)
		if err == nil || floodgate.ErrorCode(err) != floodgate.EUnavailable {
			return st, err
		}
		select {
		case <-changed:
		case <-timeout.C:
			return st, err
		case <-ctx.Done():
			return st, err
		}
	}
}

func final(state string) bool {
	return state == floodgate.QueueAdmitted || state == floodgate.QueueSoldOut || state == floodgate.QueueClosed
}

// sseInterval is the shortest time between two events on one stream: the
// state changes on every tick, and a waiting visitor needs no more.
const sseInterval = 500 * time.Millisecond

// queueEvents streams the ticket's status as server-sent events until the
// state is final or the client goes away.
func (s *Server) queueEvents(w http.ResponseWriter, r *http.Request, c *queue.Claims) {
	release, ok := s.openStream(w, r, "Too many open queue streams from your address; close some tabs, or poll GET /queue without text/event-stream.")
	if !ok {
		return
	}
	defer release()
	err := sse.Stream(w, r, sse.Options{Retry: 2 * time.Second, MinInterval: sseInterval}, func() ([]byte, bool, <-chan struct{}) {
		changed := s.cfg.Store.Changed()
		st, err := s.cfg.Queue.Status(c)
		if err != nil {
			// Not applied here yet: say nothing until it is.
			return nil, false, changed
		}
		return st.AppendJSON(nil), final(st.State), changed
	})
	if err != nil {
		api.WriteError(w, floodgate.Errorf(floodgate.EInternal, "streaming is not supported"))
	}
}

// meResponse is GET /api/v1/drops/{drop}/me: everything a page needs to come
// back to the same place after a reload.
type meResponse struct {
	queue.Status
	Hold  *floodgate.Hold  `json:"hold"`
	Order *floodgate.Order `json:"order"`
	// PayURL is the buyer's "pay now" link while the order awaits payment.
	PayURL string `json:"pay_url,omitempty"`
}

func (s *Server) me(w http.ResponseWriter, r *http.Request) {
	drop := r.PathValue("drop")
	c, err := s.ticket(r, drop)
	if err != nil {
		api.WriteError(w, err)
		return
	}
	st, err := s.queueStatusOf(r.Context(), c)
	if err != nil {
		api.WriteError(w, err)
		return
	}
	resp := meResponse{Status: st}
	s.cfg.Store.Read(func(st *sale.State) {
		h := st.Tickets.Get(drop, c.Visitor)
		if h == nil {
			return
		}
		ph := sale.PublicHold(h)
		resp.Hold = &ph
		if o := st.Orders.Get(h.OrderID); o != nil {
			po := sale.PublicOrder(o)
			resp.Order = &po
			resp.PayURL = s.payURL(st.Drops[drop], o)
		}
	})
	if resp.Order != nil {
		o := []floodgate.Order{*resp.Order}
		s.withReceipts(o)
		resp.Order = &o[0]
	}
	api.WriteJSON(w, http.StatusOK, resp)
}
