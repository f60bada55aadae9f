// Package client calls the HTTP API of a Floodgate node. It is the one
// client of the project: the CLI subcommands, the calls nodes make to each
// other (joining a cluster, recording their address) and the tests all send
// requests and read error answers through it, so the error shape of
// shared/API.md is decoded in exactly one place.
//
//	c := client.New("http://127.0.0.1:8080")
//	c.Authorize = client.BearerToken(adminToken)
//	var info http.ClusterInfo
//	_, err := c.Call(ctx, "GET", "/api/v1/cluster", nil, nil, &info)
//
// A non-2xx answer is an *Error, which unwraps to the *floodgate.Error of its
// code, so floodgate.ErrorCode works on it.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/floodgate/floodgate"
)

// MaxAnswer is the largest answer read; the rest is dropped.
const MaxAnswer = 16 << 20

// Client calls the API at BaseURL. It is safe for concurrent use.
type Client struct {
	BaseURL string // http://host:port, without a trailing slash
	HTTP    *http.Client
	// Authorize, when set, is called on every request before it is sent,
	// with its body: to add a bearer token, or to sign a call between nodes.
	Authorize func(req *http.Request, body []byte)
}

// New returns a client for the API at baseURL with a 30-second timeout.
func New(baseURL string) *Client {
	return &Client{BaseURL: baseURL, HTTP: &http.Client{Timeout: 30 * time.Second}}
}

// BearerToken returns an Authorize function that sends token as a bearer.
func BearerToken(token string) func(*http.Request, []byte) {
	return func(req *http.Request, _ []byte) {
		if req.Header.Get("Authorization") == "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
	}
}

// Bearer returns headers with "Authorization: Bearer token".
func Bearer(token string) http.Header {
	return http.Header{"Authorization": {"Bearer " + token}}
}

// Response is a raw answer.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Error is a non-2xx answer. Code and Message are set when the body is in
// the API's error shape {"error":{"code","message"}}, and only then.
type Error struct {
	Status     int
	Code       string
	Message    string
	RetryAfter string
	Body       string
}

func (e *Error) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("HTTP %d: %.200s", e.Status, e.Body)
	}
	return fmt.Sprintf("HTTP %d %s: %s", e.Status, e.Code, e.Message)
}

// Unwrap returns the coded error of the answer, or nil when it had none.
func (e *Error) Unwrap() error {
	if e.Code == "" {
		return nil
	}
	return &floodgate.Error{Code: e.Code, Message: e.Message}
}

// Code returns the API error code of err ("" when err is not an answer in
// the error shape).
func Code(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// Retryable reports whether err asks the caller to retry the same request:
// 429, 503, or no answer at all (connection refused or reset, timeout).
func Retryable(err error) bool {
	if err == nil {
		return false
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Status == http.StatusTooManyRequests || e.Status == http.StatusServiceUnavailable
	}
	return true
}

// Do sends one request and returns the raw answer. Only transport errors
// are errors.
func (c *Client) Do(ctx context.Context, method, path string, hdr http.Header, body []byte) (*Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, rd)
	if err != nil {
		return nil, err
	}
	for k, vs := range hdr {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if body != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.Authorize != nil {
		c.Authorize(req, body)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, MaxAnswer))
	if err != nil {
		return nil, err
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: b}, nil
}

// Call sends in (JSON-encoded; a []byte is sent as is; nil sends no body) and
// decodes a 2xx answer into out (may be nil). A non-2xx answer is an *Error.
func (c *Client) Call(ctx context.Context, method, path string, hdr http.Header, in, out any) (int, error) {
	var body []byte
	switch v := in.(type) {
	case nil:
	case []byte:
		body = v
	default:
		var err error
		if body, err = json.Marshal(v); err != nil {
			return 0, err
		}
	}
	resp, err := c.Do(ctx, method, path, hdr, body)
	if err != nil {
		return 0, err
	}
	if resp.Status < 200 || resp.Status > 299 {
		return resp.Status, ParseError(resp)
	}
	if out != nil && resp.Status != http.StatusNoContent && len(resp.Body) > 0 {
		if err := json.Unmarshal(resp.Body, out); err != nil {
			return resp.Status, fmt.Errorf("decode the answer of %s %s (%d): %v: %.200s", method, path, resp.Status, err, resp.Body)
		}
	}
	return resp.Status, nil
}

// ParseError reads a non-2xx answer as an *Error. The code is left empty
// when the body is not exactly {"error":{"code","message"}}.
func ParseError(resp *Response) *Error {
	e := &Error{Status: resp.Status, Body: string(resp.Body), RetryAfter: resp.Header.Get("Retry-After")}
	var eb struct {
		Error *struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	dec := json.NewDecoder(bytes.NewReader(resp.Body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&eb); err == nil && eb.Error != nil && eb.Error.Code != "" && eb.Error.Message != "" {
		e.Code, e.Message = eb.Error.Code, eb.Error.Message
	}
	return e
}
