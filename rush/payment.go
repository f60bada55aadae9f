package rush

import (
	"context"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"
)

// The payment phase. With PaymentSeconds > 0 the drop gives every order a
// payment deadline: a share of the buyers (UnpaidShare) never pay, so their
// orders expire and the units go back to the visitors still waiting; the
// others pay within PayDelay, which the shop confirms with
// POST /api/v1/orders/{id}/paid. The rush reports the units recycled and
// the time to the final sell-out (every unit paid).

// paymentCounters are the live numbers of the payment phase.
type paymentCounters struct {
	paid, late, unpaid atomic.Int64
}

// pay plays a buyer after the order: never paying, or paying after a pause.
func (r *run) pay(ctx context.Context, v *visitor, orderID string) {
	if r.cfg.PaymentSeconds <= 0 || v.bot {
		return
	}
	if rand.Float64() < r.cfg.UnpaidShare {
		r.pc.unpaid.Add(1)
		return
	}
	if d := r.cfg.PayDelay; d > 0 && !sleepCtx(ctx, rand.N(d)) {
		return
	}
	for tries := 0; tries < 5 && ctx.Err() == nil; tries++ {
		a := r.c.do(ctx, call{ep: epAdmin, method: "POST", path: "/api/v1/orders/" + url.PathEscape(orderID) + "/paid", bearer: r.cfg.AdminToken})
		switch {
		case a.status == http.StatusOK:
			r.pc.paid.Add(1)
			return
		case a.status == http.StatusConflict:
			r.pc.late.Add(1) // payment_expired: the buyer paid too late
			return
		case a.status == http.StatusServiceUnavailable || a.status == http.StatusTooManyRequests || a.status == 0:
			if !sleepCtx(ctx, retryPause(&a)) {
				return
			}
		default:
			return
		}
	}
}

// paymentSummary fills the payment fields of s.
func (r *run) paymentSummary(s *Summary) {
	if r.cfg.PaymentSeconds <= 0 {
		return
	}
	s.PaymentSeconds = r.cfg.PaymentSeconds
	s.Paid, s.PaidLate, s.Unpaid = r.pc.paid.Load(), r.pc.late.Load(), r.pc.unpaid.Load()
	s.FinalSelloutSeconds = -1
	if ns := r.monSold.Load(); ns > 0 {
		s.FinalSelloutSeconds = time.Duration(ns).Seconds()
	}
}
