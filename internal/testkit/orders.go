package testkit

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/floodgate/floodgate"
)

// EventsPage is the answer of GET /api/v1/events.
type EventsPage struct {
	Events []floodgate.Event `json:"events"`
	Next   uint64            `json:"next"`
	Oldest uint64            `json:"oldest"`
}

// SinkRequest is the body of POST /api/v1/sinks.
type SinkRequest struct {
	Kind   string `json:"kind"`
	URL    string `json:"url,omitempty"`
	Secret string `json:"secret,omitempty"`
	DSN    string `json:"dsn,omitempty"`
	Table  string `json:"table,omitempty"`
}

// Sink is a sink as GET /api/v1/sinks shows it.
type Sink struct {
	ID           string `json:"id"`
	Kind         string `json:"kind"`
	URL          string `json:"url"`
	DSN          string `json:"dsn"`
	Table        string `json:"table"`
	State        string `json:"state"`
	DeliveredSeq uint64 `json:"delivered_seq"`
	Backlog      uint64 `json:"backlog"`
	LastError    string `json:"last_error"`
	Failures     int64  `json:"failures"`
}

// Events reads the order feed (admin); wait > 0 long-polls.
func (c *Client) Events(ctx context.Context, after uint64, limit, wait int) (EventsPage, error) {
	var p EventsPage
	_, err := c.Call(ctx, "GET", fmt.Sprintf("/api/v1/events?after=%d&limit=%d&wait=%d", after, limit, wait), c.admin(), nil, &p)
	return p, err
}

// AddSink adds a sink (admin).
func (c *Client) AddSink(ctx context.Context, req SinkRequest) (Sink, int, error) {
	var s Sink
	status, err := c.Call(ctx, "POST", "/api/v1/sinks", c.admin(), req, &s)
	return s, status, err
}

// Sinks lists the sinks (admin).
func (c *Client) Sinks(ctx context.Context) ([]Sink, error) {
	var out struct {
		Sinks []Sink `json:"sinks"`
	}
	_, err := c.Call(ctx, "GET", "/api/v1/sinks", c.admin(), nil, &out)
	return out.Sinks, err
}

// Pay marks an order paid (admin).
func (c *Client) Pay(ctx context.Context, order string) (floodgate.Order, int, error) {
	var o floodgate.Order
	status, err := c.Call(ctx, "POST", "/api/v1/orders/"+order+"/paid", c.admin(), nil, &o)
	return o, status, err
}

// Cancel cancels an order (admin).
func (c *Client) Cancel(ctx context.Context, order string) (floodgate.Order, int, error) {
	var o floodgate.Order
	status, err := c.Call(ctx, "POST", "/api/v1/orders/"+order+"/cancel", c.admin(), nil, &o)
	return o, status, err
}

// MustAddSink adds a sink and fails the test if it is refused.
func (c *Client) MustAddSink(tb testing.TB, req SinkRequest) (s Sink) {
	tb.Helper()
	must(tb, "add sink", func(ctx context.Context) (err error) { s, _, err = c.AddSink(ctx, req); return err })
	return s
}

// MustPay pays an order and fails the test if it is refused.
func (c *Client) MustPay(tb testing.TB, order string) (o floodgate.Order) {
	tb.Helper()
	must(tb, fmt.Sprintf("pay order %s", order), func(ctx context.Context) (err error) { o, _, err = c.Pay(ctx, order); return err })
	return o
}

// Unsigned is o with its receipt cut to what it signs (the protected header
// and the payload, the signature left out). A node signs the receipt in the
// answer that creates an order from a nonce prepared ahead when it has one,
// and later answers about the order (a replay of its Idempotency-Key, a
// read) deterministically, so two answers about one order may carry the
// same leaf under other signature bytes: compare orders as Unsigned, and
// check signatures with fairness.VerifyReceipt.
func Unsigned(o floodgate.Order) floodgate.Order {
	if i := strings.LastIndexByte(o.Receipt, '.'); i >= 0 {
		o.Receipt = o.Receipt[:i]
	}
	return o
}
