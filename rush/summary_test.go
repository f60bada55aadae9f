package rush

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
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

// TestPaceFollowsTheServersShare: each lane's statement follows the share
// of its exchange the server accounts for, and the terminal summary says
// when the server's figures were not read.
func TestPaceFollowsTheServersShare(t *testing.T) {
	s := Summary{ServerJoins: 10, ServerJoinShare: 0.95, ServerStatusShare: 0.6, ServerBuyShare: 0.2,
		GeneratorJoinQueueP99: 3400, GeneratorStatusQueueP99: 900, GeneratorBuyQueueP99: 500, GeneratorJoinExchangeP99MS: 1000, GeneratorStatusExchangeP99MS: 50, GeneratorBuyExchangeP99MS: 20}
	for i, want := range []string{"waiting on the server, and the lane's wait for a worker (p99 3400 ms) was the server's pace", "was the server's pace in part", "not by the server's handlers"} {
		if got := s.paces()[i].verdict(); !strings.Contains(got, want) {
			t.Errorf("%s: %q, want it to say %q", s.paces()[i].Lane, got, want)
		}
	}
	s.GeneratorJoinQueueP99 = 900 // within the exchanges' p99: no one set the pace
	if got := s.paces()[0].verdict(); !strings.Contains(got, "the lane kept up") {
		t.Errorf("joins that hardly waited: %q", got)
	}
	var buf bytes.Buffer
	s.WriteText(&buf)
	if !strings.Contains(buf.String(), "pace of joins") {
		t.Errorf("the summary has no pace of joins:\n%s", buf.String())
	}
	buf.Reset()
	Summary{}.WriteText(&buf)
	if !strings.Contains(buf.String(), "server time       not read") || strings.Contains(buf.String(), "pace of") {
		t.Errorf("without the server's figures the summary must say so and judge no pace:\n%s", buf.String())
	}
}
