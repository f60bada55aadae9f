package http

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"sort"
	"time"

	"github.com/floodgate/floodgate"
	"github.com/floodgate/floodgate/internal/api"
	"github.com/floodgate/floodgate/sale"
)

// createDropRequest is the body of POST /api/v1/drops. Pointers tell an
// omitted field from a zero one.
type createDropRequest struct {
	ID                 string     `json:"id"`
	Name               string     `json:"name"`
	Price              *int64     `json:"price,omitempty"`
	Currency           string     `json:"currency,omitempty"`
	Stock              *int64     `json:"stock"`
	PerCustomerLimit   *int64     `json:"per_customer_limit,omitempty"`
	StartsAt           *time.Time `json:"starts_at,omitempty"`
	HoldSeconds        *int64     `json:"hold_seconds,omitempty"`
	AdmitPerSecond     *int64     `json:"admit_per_second,omitempty"`
	AdmitWindowSeconds *int64     `json:"admit_window_seconds,omitempty"`
	Vouchers           []string   `json:"vouchers,omitempty"`
	PaymentSeconds     *int64     `json:"payment_seconds,omitempty"`
	PaymentURL         string     `json:"payment_url,omitempty"`
	fairRequest
	// ChallengeDifficulty is "auto" or an integer 0-28 (challenge.go).
	ChallengeDifficulty json.RawMessage `json:"challenge_difficulty,omitempty"`
}

// DropSpecFromJSON decodes and validates a create-drop body into a spec;
// now fills starts_at when it is omitted.
func DropSpecFromJSON(body []byte, now time.Time) (*sale.DropSpec, error) {
	var req createDropRequest
	if err := api.DecodeBytes(body, &req); err != nil {
		return nil, err
	}
	if req.ID == "" {
		return nil, floodgate.Errorf(floodgate.EInvalid, "\"id\" is required.")
	}
	if req.Name == "" {
		return nil, floodgate.Errorf(floodgate.EInvalid, "\"name\" is required.")
	}
	if req.Stock == nil {
		return nil, floodgate.Errorf(floodgate.EInvalid, "\"stock\" is required.")
	}
	canon, _ := json.Marshal(req)
	sum := sha256.Sum256(canon)
	spec := &sale.DropSpec{
		ID:               req.ID,
		Name:             req.Name,
		Currency:         req.Currency,
		Stock:            *req.Stock,
		PerCustomerLimit: 1,
		StartsAt:         now.UnixMilli(),
		HoldSeconds:      sale.DefaultHoldSeconds,
		AdmitPerSecond:   sale.DefaultAdmitPerSecond,
		AdmitWindow:      sale.DefaultAdmitWindow,
		Vouchers:         req.Vouchers,
		Fingerprint:      hex.EncodeToString(sum[:16]),
	}
	if req.Price != nil {
		spec.Price = *req.Price
	}
	if req.PerCustomerLimit != nil {
		spec.PerCustomerLimit = *req.PerCustomerLimit
	}
	if err := setUnixMilli(&spec.StartsAt, "starts_at", req.StartsAt); err != nil {
		return nil, err
	}
	if req.HoldSeconds != nil {
		spec.HoldSeconds = *req.HoldSeconds
	}
	if req.AdmitPerSecond != nil {
		spec.AdmitPerSecond = *req.AdmitPerSecond
	}
	if req.AdmitWindowSeconds != nil {
		spec.AdmitWindow = *req.AdmitWindowSeconds
	}
	if req.PaymentSeconds != nil {
		spec.PaymentSeconds = *req.PaymentSeconds
	}
	spec.PaymentURL = req.PaymentURL
	if err := req.fairRequest.apply(spec); err != nil {
		return nil, err
	}
	challenge, err := challengeSetting(req.ChallengeDifficulty)
	if err != nil {
		return nil, err
	}
	spec.ChallengeDifficulty = challenge
	if err := sale.ValidateSpec(spec); err != nil {
		return nil, err
	}
	return spec, nil
}

// setUnixMilli sets *dst to t as the state keeps times, in unix ms, when a
// request has t; a year outside 1970-9999 is refused, naming the field.
func setUnixMilli(dst *int64, field string, t *time.Time) error {
	if t == nil {
		return nil
	}
	if t.Year() < 1970 || t.Year() > 9999 {
		return floodgate.Errorf(floodgate.EInvalid, "%q must be between 1970 and 9999.", field)
	}
	*dst = t.UnixMilli()
	return nil
}

func (s *Server) createDrop(w http.ResponseWriter, r *http.Request) {
	body, err := api.ReadBody(r)
	if err != nil {
		api.WriteError(w, err)
		return
	}
	spec, err := DropSpecFromJSON(body, s.cfg.Now())
	if err != nil {
		api.WriteError(w, err)
		return
	}
	cmd := &sale.Command{Kind: sale.KindCreateDropV2, Drop: spec.ID, Spec: spec, ShuffleSeed: newShuffleSeed()}
	if c := CallerOf(r); c.Tenant != "" {
		cmd.Kind, cmd.Tenant = sale.KindCreateTenantDrop, c.Tenant
	}
	res, err := s.apply(r.Context(), s.audited(r, cmd))
	if err != nil {
		api.WriteError(w, err)
		return
	}
	if res.Created {
		s.log.Info("drop created", "drop", spec.ID, "stock", spec.Stock, "starts_at", sale.Time(spec.StartsAt))
	}
	api.WriteCreated(w, res.Created, res.Drop)
}

func (s *Server) closeDrop(w http.ResponseWriter, r *http.Request) {
	if err := s.visibleDrop(r, r.PathValue("drop")); err != nil {
		api.WriteError(w, err)
		return
	}
	res, err := s.apply(r.Context(), s.audited(r, &sale.Command{Kind: sale.KindCloseDrop, Drop: r.PathValue("drop")}))
	if err != nil {
		api.WriteError(w, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, res.Drop)
}

func (s *Server) getDrop(w http.ResponseWriter, r *http.Request) {
	d, err := s.Drop(r.Context(), r.PathValue("drop"))
	if err != nil {
		api.WriteError(w, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, d)
}

// DropReader reads the public view of drops from the applied state; the
// buyer pages use it to render a drop's name, price and start.
type DropReader struct {
	Store Store
	Now   func() time.Time
}

// Drop returns the public view of a drop (web.DropReader).
func (s *Server) Drop(ctx context.Context, id string) (floodgate.Drop, error) {
	return DropReader{s.cfg.Store, s.cfg.Now}.Drop(ctx, id)
}

// Drops lists every drop, oldest first.
func (s *Server) Drops() []floodgate.Drop { return DropReader{s.cfg.Store, s.cfg.Now}.Drops() }

// Drop returns the public view of a drop.
func (s DropReader) Drop(_ context.Context, id string) (floodgate.Drop, error) {
	var (
		d  floodgate.Drop
		ok bool
	)
	now := s.Now().UnixMilli()
	s.Store.Read(func(st *sale.State) {
		var sd *sale.Drop
		if sd, ok = st.Drops[id]; ok {
			d = sale.PublicDrop(sd, now)
		}
	})
	if !ok {
		return d, floodgate.Errorf(floodgate.ENotFound, "There is no drop %q.", id)
	}
	return d, nil
}

// Drops lists every drop, oldest first.
func (s DropReader) Drops() []floodgate.Drop {
	var out []floodgate.Drop
	now := s.Now().UnixMilli()
	s.Store.Read(func(st *sale.State) {
		for _, d := range st.Drops {
			out = append(out, sale.PublicDrop(d, now))
		}
	})
	sort.Slice(out, func(i, j int) bool {
		if !out[i].StartsAt.Equal(out[j].StartsAt) {
			return out[i].StartsAt.Before(out[j].StartsAt)
		}
		return out[i].ID < out[j].ID
	})
	return out
}

func (s *Server) listDrops(w http.ResponseWriter, r *http.Request) {
	drops := s.Drops()
	if drops == nil {
		drops = []floodgate.Drop{}
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"drops": drops})
}

func (s *Server) listOrders(w http.ResponseWriter, r *http.Request) {
	orders, err := s.Orders(CallerOf(r), r.PathValue("drop"), "")
	if err != nil {
		api.WriteError(w, err)
		return
	}
	if orders == nil {
		orders = []floodgate.Order{}
	}
	s.withReceipts(orders)
	api.WriteJSON(w, http.StatusOK, map[string]any{"orders": orders})
}
