package http

import (
	"net/http"
	"net/mail"
	"sync"
	"unicode/utf8"

	"github.com/floodgate/floodgate"
	"github.com/floodgate/floodgate/identity"
	"github.com/floodgate/floodgate/internal/api"
	"github.com/floodgate/floodgate/sale"
)

type holdRequest struct {
	Quantity *int64 `json:"quantity"`
}

func (s *Server) createHold(w http.ResponseWriter, r *http.Request) {
	drop := r.PathValue("drop")
	c, err := s.ticket(r, drop)
	if err != nil {
		api.WriteError(w, err)
		return
	}
	q, given, err := decodeHoldRequest(r)
	if err != nil {
		api.WriteError(w, err)
		return
	}
	if !given {
		q = 1
	} else if q < 1 || q > 1000 {
		api.WriteError(w, floodgate.Errorf(floodgate.EInvalid, "\"quantity\" must be at least 1 and within the per-customer limit."))
		return
	}
	res, err := s.apply(r.Context(), &sale.Command{Kind: sale.KindHold, Drop: drop, Visitor: c.Visitor, Early: c.Early, Seq: c.Seq, Quantity: q})
	if err != nil {
		api.WriteError(w, err)
		return
	}
	if res.Created {
		s.metrics.holds.Inc()
	}
	writeHold(w, res.Created, res.Hold)
}

// holdTicket verifies the ticket of a request about a hold: the ticket must
// be for the hold's drop, and the hold must be the ticket's.
//
// The ticket is checked first, so that without a valid ticket nobody learns
// whether a hold id exists; a hold of another ticket is "not found" alike.
func (s *Server) holdTicket(r *http.Request) (string, string, error) {
	id, visitor, _, err := s.lookupHold(r, false)
	return id, visitor, err
}

// lookupHold is holdTicket that, with public, also returns the hold as the
// API shows it, from the same read of the state as the check.
func (s *Server) lookupHold(r *http.Request, public bool) (string, string, floodgate.Hold, error) {
	id := r.PathValue("hold")
	c, err := s.ticket(r, "")
	if err != nil {
		return "", "", floodgate.Hold{}, err
	}
	l := holdLookups.Get().(*holdLookup)
	l.id, l.drop, l.visitor, l.public = id, c.Drop, c.Visitor, public
	s.cfg.Store.Read(l.read)
	ok, otherDrop, h := l.ok, l.otherDrop, l.hold
	*l = holdLookup{read: l.read}
	holdLookups.Put(l)
	if otherDrop {
		return "", "", floodgate.Hold{}, floodgate.Errorf(floodgate.EForbidden, "This ticket is for another drop (%s); use the ticket of the hold's drop.", c.Drop)
	}
	if !ok {
		return "", "", floodgate.Hold{}, floodgate.Errorf(floodgate.ENotFound, "There is no hold %q for this ticket.", id)
	}
	return id, c.Visitor, h, nil
}

// holdLookup is holdTicket's read of the state, reused: a closure handed
// to Store.Read would be allocated for every order.
type holdLookup struct {
	id, drop, visitor string
	public            bool // read the hold too, into hold
	ok, otherDrop     bool
	hold              floodgate.Hold
	read              func(st *sale.State)
}

var holdLookups = sync.Pool{New: func() any {
	l := new(holdLookup)
	l.read = func(st *sale.State) {
		h := st.Holds.Get(l.id)
		found := h != nil
		l.ok = found && h.Drop == l.drop && h.Visitor == l.visitor
		l.otherDrop = found && h.Drop != l.drop
		if l.ok && l.public {
			l.hold = sale.PublicHold(h)
		}
	}
	return l
}}

func (s *Server) getHold(w http.ResponseWriter, r *http.Request) {
	_, _, h, err := s.lookupHold(r, true)
	if err != nil {
		if floodgate.ErrorCode(err) == floodgate.ENotFound && s.askLeader(w, r) {
			return
		}
		api.WriteError(w, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, h)
}

// askLeader forwards a read that found nothing on a node that does not
// lead: a hold the leader acknowledged a moment ago may not be applied here
// yet, and a 404 would tell the buyer that their hold is gone. The leader,
// which has applied everything it acknowledged, answers for it. It reports
// whether the request was forwarded; the leader itself, a request already
// forwarded once, or a node with no leader known answer from what they have.
func (s *Server) askLeader(w http.ResponseWriter, r *http.Request) bool {
	return !s.cfg.Store.IsLeader() && s.toLeader(w, r)
}

func (s *Server) releaseHold(w http.ResponseWriter, r *http.Request) {
	id, visitor, err := s.holdTicket(r)
	if err != nil {
		api.WriteError(w, err)
		return
	}
	if _, err := s.apply(r.Context(), &sale.Command{Kind: sale.KindRelease, HoldID: id, Visitor: visitor}); err != nil {
		api.WriteError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type orderRequest struct {
	Session string `json:"session"`
}

func (s *Server) createOrder(w http.ResponseWriter, r *http.Request) {
	key := r.Header.Get("Idempotency-Key")
	if key == "" || len(key) > sale.MaxKeyLength || !utf8.ValidString(key) {
		api.WriteError(w, floodgate.Errorf(floodgate.EInvalid, "The header Idempotency-Key is required (1 to %d characters of UTF-8 text); send the same key when you retry.", sale.MaxKeyLength))
		return
	}
	id, visitor, err := s.holdTicket(r)
	if err != nil {
		api.WriteError(w, err)
		return
	}
	customer, err := s.orderCustomer(r)
	if err != nil {
		api.WriteError(w, err)
		return
	}
	res, err := s.apply(r.Context(), &sale.Command{Kind: sale.KindOrder, HoldID: id, Visitor: visitor, Customer: customer, IdemKey: key})
	if err != nil {
		api.WriteError(w, err)
		return
	}
	if res.Created {
		s.metrics.orders.Inc()
		s.writeCreatedOrder(w, res.Order)
		return
	}
	o := res.Order
	s.withReceipt(&o)
	writeOrder(w, false, o)
}

type sessionRequest struct {
	Email string `json:"email"`
}

// createSession is the dev identity provider's API: it trusts the email.
func (s *Server) createSession(w http.ResponseWriter, r *http.Request) {
	if !s.cfg.Dev {
		api.WriteError(w, floodgate.Errorf(floodgate.ENotFound, "POST /api/v1/session exists only with --dev; sign in through the login page."))
		return
	}
	var req sessionRequest
	if err := api.Decode(r, &req); err != nil {
		api.WriteError(w, err)
		return
	}
	addr, err := mail.ParseAddress(req.Email)
	if err != nil || addr.Address != req.Email || len(req.Email) > 254 {
		api.WriteError(w, floodgate.Errorf(floodgate.EInvalid, "\"email\" must be a plain email address such as a@example.com."))
		return
	}
	customer := identity.NormalizeEmail(req.Email)
	tok, err := s.cfg.Sessions.Issue(customer, "dev", s.cfg.Now())
	if err != nil {
		api.WriteError(w, err)
		return
	}
	api.WriteJSON(w, http.StatusCreated, map[string]string{"session": tok, "customer": customer})
}
