package http_test

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	fhttp "github.com/floodgate/floodgate/http"
	"github.com/floodgate/floodgate/identity"
	"github.com/floodgate/floodgate/queue"
	"github.com/floodgate/floodgate/store"
)

// BenchmarkForwardHold is what a follower spends on a write it forwards:
// the request in, the signed marker, the call to the leader and the answer
// back. The leader here answers at once with a hold's JSON, so the figure is
// the forwarding alone.
func BenchmarkForwardHold(b *testing.B) {
	answer := `{"id":"h_0123456789abcdef","drop":"lamp","quantity":1,"expires_at":"2026-11-30T05:00:00Z","state":"held"}` + "\n"
	leader := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, answer)
	}))
	var conns atomic.Int64
	leader.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	leader.Start()
	defer leader.Close()
	defer func() { b.ReportMetric(float64(conns.Load()), "conns") }()
	st, err := store.Open(store.Config{Dir: b.TempDir(), Bootstrap: true, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	for !st.IsLeader() {
		time.Sleep(10 * time.Millisecond)
	}
	srv := fhttp.New(fhttp.Config{
		Store: follower{st}, Queue: queue.New(queue.Config{Store: follower{st}}), Cluster: knownLeader{leader.URL},
		Sessions: identity.NewSessions(nil, time.Hour), AdminToken: handlerToken,
		Logger:      slog.New(slog.NewTextHandler(io.Discard, nil)),
		RequestRate: 1e9, RequestBurst: 1e9,
	})
	ticket := strings.Repeat("t", 330)
	b.ReportAllocs()
	// Enough requests in flight to keep the cores busy: ns/op is then
	// CPU time, not the latency of a round trip.
	b.SetParallelism(16)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest("POST", "/api/v1/drops/lamp/holds", strings.NewReader(`{"quantity":1}`))
			req.RemoteAddr = "127.0.0.1:5555"
			req.Header.Set("Authorization", "Bearer "+ticket)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-Forwarded-For", "198.18.0.7")
			w := httptest.NewRecorder()
			srv.ServeHTTP(w, req)
			if w.Code != http.StatusCreated || w.Body.String() != answer {
				b.Fatalf("forwarded hold: %d %s", w.Code, w.Body.String())
			}
		}
	})
}

// BenchmarkLoopbackBaseline is one plain net/http round trip on loopback,
// the unit BenchmarkForwardHold is to be read against: a forwarded write is
// one round trip in and one out.
func BenchmarkLoopbackBaseline(b *testing.B) {
	leader := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, "{}")
	}))
	defer leader.Close()
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	b.ReportAllocs()
	b.SetParallelism(16)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := c.Post(leader.URL, "application/json", strings.NewReader(`{"quantity":1}`))
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
}
