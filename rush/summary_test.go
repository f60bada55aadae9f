package rush

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

// TestGetAgainAfterABrokenConnection: a GET whose connection is closed
// before any answer is sent again; a real answer, even an error, is not.
func TestGetAgainAfterABrokenConnection(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch calls.Add(1) {
		case 1, 2:
			// The connection closes under the request, nothing answered.
			conn, _, err := http.NewResponseController(w).Hijack()
			if err != nil {
				t.Error(err)
				return
			}
			_ = conn.Close()
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	defer srv.Close()
	c := newClient(srv.URL, 1)
	defer c.close()
	a := getAgain(context.Background(), c, call{ep: epAdmin, method: "GET", path: "/api/v1/drops/x"})
	if a.status != http.StatusNotFound {
		t.Fatalf("answer %d (%v) after %d calls; want the 404 of the third", a.status, a.err, calls.Load())
	}
	n := calls.Load()
	a = getAgain(context.Background(), c, call{ep: epAdmin, method: "GET", path: "/api/v1/drops/x"})
	if a.status != http.StatusNotFound || calls.Load() != n+1 {
		t.Fatalf("an answered GET was sent %d times; want once", calls.Load()-n)
	}
}
