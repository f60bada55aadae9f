package testkit

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/floodgate/floodgate"
	"github.com/floodgate/floodgate/internal/client"
	"github.com/floodgate/floodgate/internal/pow"
)

// Client calls the HTTP API v1 of one node through internal/client. Its
// methods are safe for concurrent use and never fail the test themselves.
type Client struct {
	*client.Client
	AdminToken string
}

// NewClient returns a client for the API at baseURL (http://host:port).
func NewClient(baseURL, adminToken string) *Client {
	c := client.New(baseURL)
	c.HTTP.Transport = &http.Transport{
		MaxIdleConns:        1024,
		MaxIdleConnsPerHost: 1024,
		IdleConnTimeout:     30 * time.Second,
	}
	return &Client{Client: c, AdminToken: adminToken}
}

// Response is a raw answer.
type Response = client.Response

// APIError is a non-2xx answer in the API's error shape.
type APIError = client.Error

// Code returns the API error code of err ("" when err is not an *APIError).
func Code(err error) string { return client.Code(err) }

// Retryable reports whether err asks the caller to retry the same request:
// 429, 503, or no answer at all (connection refused or reset, timeout).
func Retryable(err error) bool { return client.Retryable(err) }

// ParseError reads a non-2xx answer as an *APIError.
func ParseError(resp *Response) *APIError { return client.ParseError(resp) }

// Bearer returns headers with "Authorization: Bearer token".
func Bearer(token string) http.Header { return client.Bearer(token) }

func (c *Client) admin() http.Header { return Bearer(c.AdminToken) }

// DropRequest is the body of POST /api/v1/drops. Zero fields are left out,
// so the server's defaults apply.
type DropRequest struct {
	ID                 string     `json:"id"`
	Name               string     `json:"name"`
	Price              int64      `json:"price,omitempty"`
	Currency           string     `json:"currency,omitempty"`
	Stock              int64      `json:"stock"`
	PerCustomerLimit   int64      `json:"per_customer_limit,omitempty"`
	StartsAt           *time.Time `json:"starts_at,omitempty"`
	HoldSeconds        int64      `json:"hold_seconds,omitempty"`
	AdmitPerSecond     int64      `json:"admit_per_second,omitempty"`
	AdmitWindowSeconds int64      `json:"admit_window_seconds,omitempty"`
	Vouchers           []string   `json:"vouchers,omitempty"`
	PaymentSeconds     int64      `json:"payment_seconds,omitempty"`
	PaymentURL         string     `json:"payment_url,omitempty"`
	// ChallengeDifficulty is "auto" or an integer; nil leaves it out.
	ChallengeDifficulty any `json:"challenge_difficulty,omitempty"`
}

// Ticket is the answer of POST /api/v1/drops/{drop}/queue.
type Ticket struct {
	Ticket   string `json:"ticket"`
	State    string `json:"state"`
	Position int64  `json:"position"`
}

// QueueStatus is the answer of GET /api/v1/drops/{drop}/queue.
type QueueStatus struct {
	State       string `json:"state"`
	Position    int64  `json:"position"`
	Ahead       int64  `json:"ahead"`
	ETASeconds  int64  `json:"eta_seconds"`
	BeyondStock bool   `json:"beyond_stock"`
}

// CreateDrop creates a drop (admin). The status tells 201 (created) from
// 200 (the same request again).
func (c *Client) CreateDrop(ctx context.Context, req DropRequest) (floodgate.Drop, int, error) {
	var d floodgate.Drop
	st, err := c.Call(ctx, http.MethodPost, "/api/v1/drops", c.admin(), req, &d)
	return d, st, err
}

// Drop reads the public view of a drop.
func (c *Client) Drop(ctx context.Context, id string) (floodgate.Drop, error) {
	var d floodgate.Drop
	_, err := c.Call(ctx, http.MethodGet, "/api/v1/drops/"+url.PathEscape(id), nil, nil, &d)
	return d, err
}

// Drops lists the drops the node shows to anyone.
func (c *Client) Drops(ctx context.Context) ([]floodgate.Drop, error) {
	var out struct {
		Drops []floodgate.Drop `json:"drops"`
	}
	_, err := c.Call(ctx, http.MethodGet, "/api/v1/drops", nil, nil, &out)
	return out.Drops, err
}

// Orders lists the orders of a drop (admin).
func (c *Client) Orders(ctx context.Context, drop string) ([]floodgate.Order, error) {
	var out struct {
		Orders []floodgate.Order `json:"orders"`
	}
	_, err := c.Call(ctx, http.MethodGet, "/api/v1/drops/"+url.PathEscape(drop)+"/orders", c.admin(), nil, &out)
	return out.Orders, err
}

// Join joins the queue of a drop, solving the join challenge when the
// server asks for one, as a browser does.
func (c *Client) Join(ctx context.Context, drop string) (Ticket, error) {
	var t Ticket
	path := "/api/v1/drops/" + url.PathEscape(drop) + "/queue"
	resp, err := c.Do(ctx, http.MethodPost, path, nil, nil)
	if err != nil {
		return t, err
	}
	if resp.Status == http.StatusPreconditionRequired {
		ch, err := ParseChallenge(resp)
		if err != nil {
			return t, err
		}
		body, _ := json.Marshal(map[string]any{"challenge": map[string]string{"id": ch.ID, "nonce": Solve(ch)}})
		if resp, err = c.Do(ctx, http.MethodPost, path, nil, body); err != nil {
			return t, err
		}
	}
	if resp.Status/100 != 2 {
		return t, ParseError(resp)
	}
	return t, json.Unmarshal(resp.Body, &t)
}

// Challenge is the join challenge of a 428 answer.
type Challenge = pow.Challenge

// ParseChallenge reads the challenge of a 428 challenge_required answer.
func ParseChallenge(resp *Response) (Challenge, error) {
	var b struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
		Challenge *Challenge `json:"challenge"`
	}
	if err := json.Unmarshal(resp.Body, &b); err != nil || b.Error.Code != "challenge_required" || b.Challenge == nil {
		return Challenge{}, fmt.Errorf("testkit: a 428 answer without a challenge: %s", resp.Body)
	}
	return *b.Challenge, nil
}

// Solve finds a nonce such that SHA-256(prefix ‖ nonce) begins with
// ch.Difficulty zero bits, counting in base 36.
func Solve(ch Challenge) string {
	prefix, _ := base64.RawURLEncoding.DecodeString(ch.Prefix)
	for i := int64(0); ; i++ {
		n := strconv.FormatInt(i, 36)
		if pow.Solves(prefix, n, ch.Difficulty) {
			return n
		}
	}
}

// WrongNonce returns a nonce that does not solve ch. A fixed wrong nonce
// would solve a challenge of d bits once in 2^d.
func WrongNonce(ch Challenge) string {
	prefix, _ := base64.RawURLEncoding.DecodeString(ch.Prefix)
	for i := 0; ; i++ {
		if n := "w" + strconv.Itoa(i); !pow.Solves(prefix, n, ch.Difficulty) {
			return n
		}
	}
}

// QueueStatus asks for a ticket's place in the queue.
func (c *Client) QueueStatus(ctx context.Context, drop, ticket string) (QueueStatus, error) {
	var s QueueStatus
	_, err := c.Call(ctx, http.MethodGet, "/api/v1/drops/"+url.PathEscape(drop)+"/queue", Bearer(ticket), nil, &s)
	return s, err
}

// WaitAdmitted polls the queue status every poll until the state is final
// (admitted, sold_out or closed) and returns it. Retryable errors are
// retried; ctx bounds the wait.
func (c *Client) WaitAdmitted(ctx context.Context, drop, ticket string, poll time.Duration) (QueueStatus, error) {
	for {
		s, err := c.QueueStatus(ctx, drop, ticket)
		if err != nil && !Retryable(err) {
			return s, err
		}
		if err == nil && s.State != floodgate.QueueWaiting {
			return s, nil
		}
		select {
		case <-ctx.Done():
			return s, fmt.Errorf("still %q when the wait ended: %w", s.State, ctx.Err())
		case <-time.After(poll):
		}
	}
}

// Hold asks for a hold of quantity units with an admitted ticket.
func (c *Client) Hold(ctx context.Context, drop, ticket string, quantity int64) (floodgate.Hold, int, error) {
	var h floodgate.Hold
	st, err := c.Call(ctx, http.MethodPost, "/api/v1/drops/"+url.PathEscape(drop)+"/holds", Bearer(ticket),
		map[string]int64{"quantity": quantity}, &h)
	return h, st, err
}

// Release gives a hold back.
func (c *Client) Release(ctx context.Context, hold, ticket string) error {
	_, err := c.Call(ctx, http.MethodDelete, "/api/v1/holds/"+url.PathEscape(hold), Bearer(ticket), nil, nil)
	return err
}

// Session signs a buyer in with the dev identity provider (--dev).
func (c *Client) Session(ctx context.Context, email string) (string, error) {
	var out struct {
		Session string `json:"session"`
	}
	_, err := c.Call(ctx, http.MethodPost, "/api/v1/session", nil, map[string]string{"email": email}, &out)
	return out.Session, err
}

// Order orders a hold with an Idempotency-Key.
func (c *Client) Order(ctx context.Context, hold, ticket, session, key string) (floodgate.Order, int, error) {
	var o floodgate.Order
	h := Bearer(ticket)
	h.Set("Idempotency-Key", key)
	st, err := c.Call(ctx, http.MethodPost, "/api/v1/holds/"+url.PathEscape(hold)+"/order", h,
		map[string]string{"session": session}, &o)
	return o, st, err
}

// Retry calls fn until it returns nil or an error that is not Retryable,
// waiting a little between tries, or until ctx ends.
func Retry(ctx context.Context, fn func() error) error {
	wait := 10 * time.Millisecond
	for {
		err := fn()
		if !Retryable(err) {
			return err
		}
		var ae *APIError
		if errors.As(err, &ae) && ae.RetryAfter != "" {
			if s, perr := strconv.Atoi(ae.RetryAfter); perr == nil && time.Duration(s)*time.Second < wait {
				wait = time.Duration(s) * time.Second
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last error: %v)", ctx.Err(), err)
		case <-time.After(wait):
		}
		wait = min(wait*2, 500*time.Millisecond)
	}
}

// mustCtx is the context of the Must helpers: bounded, so a hung server
// fails the test instead of hanging it.
func mustCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 30*time.Second)
}

// must runs call with retries (Retry) within the Must helpers' bound, and
// fails the test with what and the last error.
func must(tb testing.TB, what string, call func(ctx context.Context) error) {
	tb.Helper()
	ctx, cancel := mustCtx()
	defer cancel()
	if err := Retry(ctx, func() error { return call(ctx) }); err != nil {
		tb.Fatalf("%s: %v", what, err)
	}
}

// MustCreateDrop creates a drop and fails the test unless it is created.
func (c *Client) MustCreateDrop(tb testing.TB, req DropRequest) (d floodgate.Drop) {
	tb.Helper()
	must(tb, fmt.Sprintf("create drop %s", req.ID), func(ctx context.Context) (err error) { d, _, err = c.CreateDrop(ctx, req); return err })
	return d
}

// MustDrop reads a drop and fails the test on any error.
func (c *Client) MustDrop(tb testing.TB, id string) (d floodgate.Drop) {
	tb.Helper()
	must(tb, fmt.Sprintf("get drop %s", id), func(ctx context.Context) (err error) { d, err = c.Drop(ctx, id); return err })
	return d
}

// MustOrders lists the orders of a drop and fails the test on any error.
func (c *Client) MustOrders(tb testing.TB, drop string) (os []floodgate.Order) {
	tb.Helper()
	must(tb, fmt.Sprintf("list orders of %s", drop), func(ctx context.Context) (err error) { os, err = c.Orders(ctx, drop); return err })
	return os
}

// MustJoin joins the queue and fails the test on any error.
func (c *Client) MustJoin(tb testing.TB, drop string) (t Ticket) {
	tb.Helper()
	must(tb, fmt.Sprintf("join the queue of %s", drop), func(ctx context.Context) (err error) { t, err = c.Join(ctx, drop); return err })
	return t
}

// MustWaitAdmitted waits until the ticket is admitted and fails the test if
// it ends in another state or is not admitted within 30s.
func (c *Client) MustWaitAdmitted(tb testing.TB, drop, ticket string) {
	tb.Helper()
	ctx, cancel := mustCtx()
	defer cancel()
	s, err := c.WaitAdmitted(ctx, drop, ticket, 20*time.Millisecond)
	if err != nil {
		tb.Fatalf("wait for admission to %s: %v", drop, err)
	}
	if s.State != floodgate.QueueAdmitted {
		tb.Fatalf("wait for admission to %s: the ticket ended %q, not admitted", drop, s.State)
	}
}

// MustHold takes a hold and fails the test on any error.
func (c *Client) MustHold(tb testing.TB, drop, ticket string, quantity int64) (h floodgate.Hold) {
	tb.Helper()
	must(tb, fmt.Sprintf("hold %d of %s", quantity, drop), func(ctx context.Context) (err error) { h, _, err = c.Hold(ctx, drop, ticket, quantity); return err })
	return h
}

// MustSession signs in a dev buyer and fails the test on any error.
func (c *Client) MustSession(tb testing.TB, email string) (s string) {
	tb.Helper()
	must(tb, fmt.Sprintf("sign in %s", email), func(ctx context.Context) (err error) { s, err = c.Session(ctx, email); return err })
	return s
}

// MustOrder orders a hold and fails the test on any error. Retries use the
// same Idempotency-Key, as a real client must.
func (c *Client) MustOrder(tb testing.TB, hold, ticket, session, key string) (o floodgate.Order) {
	tb.Helper()
	must(tb, fmt.Sprintf("order hold %s", hold), func(ctx context.Context) (err error) {
		o, _, err = c.Order(ctx, hold, ticket, session, key)
		return err
	})
	return o
}

// MustBuy is the whole happy path of one buyer: join, wait for admission,
// hold one unit, sign in as email and order with key.
func (c *Client) MustBuy(tb testing.TB, drop, email, key string) floodgate.Order {
	tb.Helper()
	t := c.MustJoin(tb, drop)
	c.MustWaitAdmitted(tb, drop, t.Ticket)
	h := c.MustHold(tb, drop, t.Ticket, 1)
	return c.MustOrder(tb, h.ID, t.Ticket, c.MustSession(tb, email), key)
}
