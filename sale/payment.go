package sale

import (
	"cmp"
	"math"
	"slices"
	"strconv"

	"github.com/floodgate/floodgate"
)

// MaxPaymentSeconds is the longest payment deadline a drop may give.
const MaxPaymentSeconds = 7 * 24 * 3600

// The payment step. A drop with payment_seconds > 0 gives every new order
// the status awaiting_payment and a deadline, pay_by; its units are counted
// in the drop's AwaitingPayment until the order is paid (they become sold),
// or expires or is cancelled (they return to available, and admission moves
// on for the buyers still waiting). Expiry happens inside Tick, the same way
// for every replica, like the expiry of holds.

// startOrder sets the status of a new order and moves its units from held
// to where they now belong.
func (s *State) startOrder(d *Drop, o *Order, now int64) {
	if d.Spec.PaymentSeconds <= 0 {
		o.Status = floodgate.OrderPaid
		d.Sold += o.Quantity
		return
	}
	o.Status = floodgate.OrderAwaitingPayment
	o.PayBy = now + d.Spec.PaymentSeconds*1000
	d.AwaitingPayment += o.Quantity
	if d.Unpaid == nil {
		d.Unpaid = map[string]bool{}
	}
	d.Unpaid[o.ID] = true
	if d.NextPayBy > o.PayBy {
		d.NextPayBy = o.PayBy
	}
}

// endOrder moves an order that is awaiting payment or paid to expired or
// cancelled: its units return to available and no longer count towards the
// customer's limit.
func (s *State) endOrder(o *Order, status string, now int64) {
	d := s.Drops[o.Drop]
	switch o.Status {
	case floodgate.OrderAwaitingPayment:
		d.AwaitingPayment -= o.Quantity
		delete(d.Unpaid, o.ID)
	case floodgate.OrderPaid:
		d.Sold -= o.Quantity
	default:
		return
	}
	d.Available += o.Quantity
	d.Customers.add(o.Customer, -min(o.Quantity, d.Customers.Get(o.Customer)))
	o.Status = status
	o.EndedAt = now
	typ := floodgate.OrderEventCancelled
	if status == floodgate.OrderExpired {
		typ = floodgate.OrderEventExpired
	}
	s.emit(typ, o, -1, now)
}

// expirePayments expires the unpaid orders whose deadline has passed, in
// the order they were created (so that every replica gives their events the
// same seq), and recomputes each drop's earliest deadline.
func (s *State) expirePayments(now int64) {
	var due []*Order
	for _, d := range s.Drops {
		if d.AwaitingPayment == 0 || now < d.NextPayBy {
			continue
		}
		next := int64(math.MaxInt64)
		for id := range d.Unpaid {
			o := s.Orders.Get(id)
			if now >= o.PayBy {
				due = append(due, o)
			} else {
				next = min(next, o.PayBy)
			}
		}
		d.NextPayBy = next
	}
	sortOrders(due)
	for _, o := range due {
		s.endOrder(o, floodgate.OrderExpired, now)
	}
}

// sortOrders sorts orders by creation (their ids carry the counter).
func sortOrders(os []*Order) {
	slices.SortFunc(os, func(a, b *Order) int {
		if c := cmp.Compare(orderNumber(a.ID), orderNumber(b.ID)); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
}

// orderNumber is the counter part of an order id ("o_<base36>_...").
func orderNumber(id string) uint64 {
	if len(id) < 3 {
		return 0
	}
	rest := id[2:]
	for i := 0; i < len(rest); i++ {
		if rest[i] == '_' {
			rest = rest[:i]
			break
		}
	}
	n, _ := strconv.ParseUint(rest, 36, 64)
	return n
}

func (s *State) orderPaid(c *Command) Result {
	o, refused := s.orderAsOf(c)
	if o == nil {
		return refused
	}
	switch o.Status {
	case floodgate.OrderPaid:
		return Result{Order: publicOrder(o)}
	case floodgate.OrderExpired:
		return refuse(floodgate.EPaymentExpired, "Order %s was not paid by its deadline and has expired; its units went back on sale.", o.ID)
	case floodgate.OrderCancelled:
		return refuse(floodgate.EConflict, "Order %s was cancelled and cannot be paid.", o.ID)
	}
	d := s.Drops[o.Drop]
	d.AwaitingPayment -= o.Quantity
	d.Sold += o.Quantity
	delete(d.Unpaid, o.ID)
	o.Status = floodgate.OrderPaid
	o.PaidAt = c.Now
	d.noteSold(c.Now)
	s.emit(floodgate.OrderEventPaid, o, -1, c.Now)
	return Result{Created: true, Order: publicOrder(o)}
}

// orderAsOf finds the order a paid or cancel command names, expired first
// if its deadline passed before the command (a tick may not have run yet),
// so paying and cancelling judge the order as of the command's time.
func (s *State) orderAsOf(c *Command) (*Order, Result) {
	o := s.Orders.Get(c.OrderID)
	if o == nil {
		return nil, refuse(floodgate.ENotFound, "There is no order %q.", c.OrderID)
	}
	if o.Status == floodgate.OrderAwaitingPayment && c.Now >= o.PayBy {
		s.endOrder(o, floodgate.OrderExpired, c.Now)
	}
	return o, Result{}
}

func (s *State) orderCancel(c *Command) Result {
	o, refused := s.orderAsOf(c)
	if o == nil {
		return refused
	}
	switch o.Status {
	case floodgate.OrderCancelled:
		return Result{Order: publicOrder(o)}
	case floodgate.OrderExpired:
		return refuse(floodgate.EConflict, "Order %s has already expired; its units went back on sale.", o.ID)
	}
	s.endOrder(o, floodgate.OrderCancelled, c.Now)
	return Result{Created: true, Order: publicOrder(o)}
}
