package client_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/floodgate/floodgate"
	"github.com/floodgate/floodgate/internal/api"
	"github.com/floodgate/floodgate/internal/client"
)

func TestCallDecodesAnswersAndErrorsOnce(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		switch r.URL.Path {
		case "/ok":
			if r.Header.Get("X-Signed") != string(body) || r.Header.Get("Content-Type") != "application/json" {
				api.WriteError(w, floodgate.Errorf(floodgate.EUnauthenticated, "Not signed."))
				return
			}
			api.WriteJSON(w, http.StatusOK, map[string]string{"got": string(body)})
		case "/busy":
			api.WriteErrorRetry(w, floodgate.Errorf(floodgate.EUnavailable, "No leader."), 3)
		default:
			http.Error(w, "teapot", http.StatusTeapot)
		}
	}))
	defer srv.Close()
	c := client.New(srv.URL)
	c.Authorize = func(req *http.Request, body []byte) { req.Header.Set("X-Signed", string(body)) }
	ctx := context.Background()

	var out struct{ Got string }
	if st, err := c.Call(ctx, "POST", "/ok", nil, map[string]int{"n": 1}, &out); err != nil || st != 200 || out.Got != `{"n":1}` {
		t.Fatalf("Call /ok = %d, %v, %+v; want 200 and the signed body echoed", st, err, out)
	}

	st, err := c.Call(ctx, "GET", "/busy", nil, nil, nil)
	if st != http.StatusServiceUnavailable || client.Code(err) != floodgate.EUnavailable || !client.Retryable(err) {
		t.Fatalf("Call /busy = %d, %v; want a retryable 503 unavailable", st, err)
	}
	if floodgate.ErrorCode(err) != floodgate.EUnavailable || floodgate.ErrorMessage(err) != "No leader." {
		t.Fatalf("the answer does not unwrap to its coded error: code %q, message %q", floodgate.ErrorCode(err), floodgate.ErrorMessage(err))
	}
	if e := err.(*client.Error); e.RetryAfter != "3" {
		t.Fatalf("Retry-After = %q; want 3", e.RetryAfter)
	}

	_, err = c.Call(ctx, "GET", "/other", nil, nil, nil)
	if client.Code(err) != "" || floodgate.ErrorCode(err) != floodgate.EInternal || client.Retryable(err) {
		t.Fatalf("an answer outside the error shape: code %q, retryable %v; want no code, not retryable", client.Code(err), client.Retryable(err))
	}
}
