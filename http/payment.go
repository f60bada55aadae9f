package http

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"

	"github.com/floodgate/floodgate"

	"github.com/floodgate/floodgate/internal/api"
	"github.com/floodgate/floodgate/sale"
)

// orderPaid marks an order paid (admin): paying twice answers the same
// order; after pay_by it answers 409 payment_expired.
func (s *Server) orderPaid(w http.ResponseWriter, r *http.Request) {
	s.orderCommand(w, r, sale.KindOrderPaid)
}

// orderCancel cancels an order (admin); its units return to available.
func (s *Server) orderCancel(w http.ResponseWriter, r *http.Request) {
	s.orderCommand(w, r, sale.KindOrderCancel)
}

func (s *Server) orderCommand(w http.ResponseWriter, r *http.Request, kind sale.Kind) {
	id := r.PathValue("id")
	if id == "" || len(id) > sale.MaxKeyLength {
		api.WriteError(w, errNoOrder(id))
		return
	}
	// Another tenant's order is not found, as if it did not exist.
	c, seen, tenant := CallerOf(r), false, ""
	s.cfg.Store.Read(func(st *sale.State) {
		if o := st.Orders.Get(id); o != nil {
			if d := st.Drops[o.Drop]; d != nil {
				seen, tenant = c.Sees(d.Tenant), d.Tenant
			}
		}
	})
	if !seen {
		api.WriteError(w, errNoOrder(id))
		return
	}
	cmd := s.audited(r, &sale.Command{Kind: kind, OrderID: id})
	if cmd.Op.Tenant == "" {
		// The root token acting on a tenant's order: the tenant sees it too.
		cmd.Op.Tenant = tenant
	}
	res, err := s.apply(r.Context(), cmd)
	if err != nil {
		api.WriteError(w, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, res.Order)
}

// PaymentToken is the token in an order's payment link: the hex
// HMAC-SHA256 of the order id under the payment key (--payment-secret), so
// the shop's payment page can tell a link Floodgate made from a forged one.
func PaymentToken(key []byte, orderID string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(orderID))
	return hex.EncodeToString(m.Sum(nil))
}

// payURL fills the drop's payment_url template for an order awaiting
// payment: {order} is the order id, {token} its PaymentToken.
func (s *Server) payURL(d *sale.Drop, o *sale.Order) string {
	if d == nil || d.Spec.PaymentURL == "" || o.Status != floodgate.OrderAwaitingPayment {
		return ""
	}
	return strings.NewReplacer(
		"{order}", url.QueryEscape(o.ID),
		"{token}", PaymentToken(s.cfg.PaymentKey, o.ID),
	).Replace(d.Spec.PaymentURL)
}
