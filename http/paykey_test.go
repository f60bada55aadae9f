package http

import (
	"log/slog"
	"testing"

	"github.com/floodgate/floodgate"
	"github.com/floodgate/floodgate/internal/testkit/localstore"
	"github.com/floodgate/floodgate/sale"
)

// TestPaymentKeyIsTheAdminTokenWhenUnset: payment links are signed with
// the payment key, and with the admin token when none is set.
func TestPaymentKeyIsTheAdminTokenWhenUnset(t *testing.T) {
	st := localstore.Leader(t)
	quiet := slog.New(slog.DiscardHandler)
	const admin = "a-long-enough-admin-token"
	d := &sale.Drop{Spec: sale.DropSpec{PaymentURL: "https://pay.example/{order}?t={token}"}}
	o := &sale.Order{ID: "o1", Status: floodgate.OrderAwaitingPayment}
	for key, signer := range map[string]string{"": admin, "shop-payment-secret": "shop-payment-secret"} {
		s := New(Config{Store: st, AdminToken: admin, PaymentKey: []byte(key), Logger: quiet})
		if got, want := s.payURL(d, o), "https://pay.example/o1?t="+PaymentToken([]byte(signer), "o1"); got != want {
			t.Errorf("payment key %q: link %s, want %s", key, got, want)
		}
	}
}
