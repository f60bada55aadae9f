//go:build unix

package http_test

// The package's benchmarks of what a request costs: through the handler
// alone (the hot paths of a rush, committed writes on a real store) and
// through a follower that forwards it to the leader.

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	fhttp "github.com/floodgate/floodgate/http"
	"github.com/floodgate/floodgate/identity"
	"github.com/floodgate/floodgate/internal/nice"
	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/internal/testkit/localstore"
	"github.com/floodgate/floodgate/queue"
	"github.com/floodgate/floodgate/sale"
	"github.com/floodgate/floodgate/store"
	"github.com/prometheus/client_golang/prometheus"
)

var committedWritesSignAhead = flag.Int("committed-writes-sign-ahead", 0, "BenchmarkCommittedWrites: the queue's SignAhead (0: the default; -1: none)")

// discardWriter is the cheapest ResponseWriter: what a benchmark of the
// handlers measures is the server's own work, not a recorder's.
type discardWriter struct {
	h      http.Header
	status int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) WriteHeader(code int)        { w.status = code }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }

// benchHandler is the handler of st, a single-node leader, as the
// benchmarks run it: cfg's queue and sessions, no rate limit in the way,
// nothing logged, and the cluster's secret set.
func benchHandler(b *testing.B, st *store.Store, cfg fhttp.Config) *fhttp.Server {
	cfg.Store, cfg.AdminToken, cfg.Logger = st, handlerToken, slog.New(slog.DiscardHandler)
	cfg.RequestRate, cfg.RequestBurst, cfg.JoinRate, cfg.JoinBurst = 1e9, 1e9, 1e9, 1e9
	srv := fhttp.New(cfg)
	if _, err := st.Apply(context.Background(), &sale.Command{Kind: sale.KindInitSecret, Now: time.Now().UnixMilli(), Secret: []byte("http-benchmarks-secret-32-bytes!")}); err != nil {
		b.Fatal(err)
	}
	return srv
}

// serve sends one JSON request from a client address through srv and
// returns the answer's status and body (token and key when not empty).
func serve(srv http.Handler, method, path, token, key, body string) (int, string) {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.RemoteAddr = "198.18.0.7:4000"
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, req)
	return rec.Code, rec.Body.String()
}

// cpuPerOp starts counting the process's CPU time; the function it returns
// reports it per op as cpu-µs/op, which a busy machine disturbs much less
// than ns/op.
func cpuPerOp(b *testing.B) (report func()) {
	cpu0 := nice.ProcessCPU()
	return func() {
		b.ReportMetric(float64(nice.ProcessCPU()-cpu0)/float64(time.Microsecond)/float64(b.N), "cpu-µs/op")
	}
}

// BenchmarkHotPaths runs the requests a rush sends most through the
// server's handler (middleware, routing, handler, encoding) in one
// goroutine, without the network: cpu-µs/op is the process's CPU time per
// request, which a busy machine disturbs much less than ns/op.
func BenchmarkHotPaths(b *testing.B) {
	st := localstore.Leader(b)
	srv := benchHandler(b, st, fhttp.Config{
		Queue:    queue.New(queue.Config{Store: st, Logger: slog.New(slog.DiscardHandler)}),
		Sessions: identity.NewSessions(nil, time.Hour),
	})
	if code, body := serve(srv, "POST", "/api/v1/drops", handlerToken, "", `{"id":"hot","name":"Hot","stock":3000,"per_customer_limit":1,"admit_per_second":1,"challenge_difficulty":0}`); code != http.StatusCreated {
		b.Fatalf("create drop: %d %s", code, body)
	}
	var ticket string
	for i := 0; i < 20; i++ {
		code, body := serve(srv, "POST", "/api/v1/drops/hot/queue", "", "", "")
		if code != http.StatusCreated {
			b.Fatalf("join: %d %s", code, body)
		}
		var j struct{ Ticket string }
		if err := json.Unmarshal([]byte(body), &j); err != nil {
			b.Fatal(err)
		}
		ticket = j.Ticket
	}
	run := func(b *testing.B, method, path, token, body string, want int) {
		req := httptest.NewRequest(method, path, nil)
		req.RemoteAddr = "198.18.0.7:4000"
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		req.Header.Set("Accept", "application/json")
		w := &discardWriter{}
		b.ReportAllocs()
		b.ResetTimer()
		defer cpuPerOp(b)()
		for i := 0; i < b.N; i++ {
			r := req.Clone(req.Context())
			if body != "" {
				r.Body = io.NopCloser(strings.NewReader(body))
				r.ContentLength = int64(len(body))
			}
			w.h = http.Header{}
			srv.ServeHTTP(w, r)
			if want != 0 && w.status != want {
				b.Fatalf("%s %s: %d", method, path, w.status)
			}
		}
	}
	b.Run("status", func(b *testing.B) { run(b, "GET", "/api/v1/drops/hot/queue", ticket, "", http.StatusOK) })
	b.Run("join", func(b *testing.B) { run(b, "POST", "/api/v1/drops/hot/queue", "", "", http.StatusCreated) })
	b.Run("hold-refused", func(b *testing.B) {
		// Not admitted yet: the whole path up to the state, refused there.
		run(b, "POST", "/api/v1/drops/hot/holds", ticket, fmt.Sprintf(`{"quantity":1,"session":%q}`, "s"), 0)
	})
}

// harnessSink keeps what BenchmarkCommittedWrites makes to count its
// allocations on the heap, as serving it would.
var harnessSink any

// BenchmarkCommittedWrites sends committed holds and orders through the
// server's handler from 64 callers at once, as bench/run.sh's wrk runs do
// over 64 connections, against a real single-node store (Raft, the WAL, an
// fsync per log entry), without the network. Each op is one request
// answered 201; cpu-µs/op is the process's CPU per request (handler, Raft,
// the state machine, the garbage collector), which a busy machine disturbs
// much less than ns/op. Run it with a fixed count, e.g. -benchtime=20000x:
// the tickets and holds of each run are prepared before its clock starts.
// -committed-writes-sign-ahead=-1 runs it without signatures prepared ahead
// (every receipt signed in full, as on a node that prepares none).
func BenchmarkCommittedWrites(b *testing.B) {
	const callers = 64
	st := localstore.Leader(b)
	quiet := slog.New(slog.DiscardHandler)
	// Signatures prepared ahead (the default --sign-ahead), as a leader has
	// them while a drop is on sale: each run waits for the pool to be full
	// before its clock starts, so that its refill after the setup's joins
	// does not run during the timed writes.
	q := queue.New(queue.Config{Store: st, Logger: quiet, TickInterval: 20 * time.Millisecond, SignAhead: *committedWritesSignAhead})
	reg := prometheus.NewRegistry()
	sessions := identity.NewSessions([]byte("committed-writes-benchmark-key-32"), time.Hour)
	sessions.SetRevoked(st.SessionRevoked)
	srv := benchHandler(b, st, fhttp.Config{Queue: q, Sessions: sessions, Registry: reg})
	testkit.Background(b, q.Run)
	// request and writer make a timed request and the cheapest writer,
	// nothing kept; they stand for what net/http allocates to read a
	// request and answer it.
	request := func(path, token, key, body string) *http.Request {
		req := httptest.NewRequest("POST", path, strings.NewReader(body))
		req.RemoteAddr = "198.18.0.7:4000"
		req.Header.Set("Authorization", "Bearer "+token)
		if key != "" {
			req.Header.Set("Idempotency-Key", key)
		}
		req.Header.Set("Content-Type", "application/json")
		return req
	}
	writer := func() *discardWriter { return &discardWriter{h: http.Header{}} }
	drops := 0
	// admitted makes a drop and n admitted tickets of it.
	admitted := func(b *testing.B, n int) (string, []string) {
		drops++
		drop := fmt.Sprintf("writes-%d", drops)
		body := fmt.Sprintf(`{"id":%q,"name":"Writes","stock":%d,"per_customer_limit":1,"admit_per_second":1000000,"hold_seconds":3600,"admit_window_seconds":3600,"challenge_difficulty":0}`, drop, n)
		if code, body := serve(srv, "POST", "/api/v1/drops", handlerToken, "", body); code != http.StatusCreated {
			b.Fatalf("create drop: %d %s", code, body)
		}
		tickets := make([]string, n)
		for i := range tickets {
			code, body := serve(srv, "POST", "/api/v1/drops/"+drop+"/queue", "", "", "")
			var j struct{ Ticket string }
			if err := json.Unmarshal([]byte(body), &j); code != http.StatusCreated || err != nil {
				b.Fatalf("join: %d %s", code, body)
			}
			tickets[i] = j.Ticket
		}
		testkit.WaitFor(b, "every ticket admitted", func() bool {
			var up int64
			st.Read(func(s *sale.State) {
				if d := s.Drops[drop]; d != nil {
					up = d.AdmittedUpTo
				}
			})
			return up >= int64(n)
		})
		return drop, tickets
	}
	// measure sends b.N requests made by req. harness-allocs/op is what
	// making a request and its writer allocates, counted apart before the
	// clock starts: allocs/op less that is the server's share.
	measure := func(b *testing.B, req func(i int) *http.Request) {
		var m0, m1 runtime.MemStats
		n := min(b.N, 2000)
		runtime.ReadMemStats(&m0)
		for i := range n {
			harnessSink, harnessSink = req(i), writer()
		}
		runtime.ReadMemStats(&m1)
		harnessSink = nil
		testkit.WaitFor(b, "the signatures prepared ahead", func() bool {
			keys, _, err := q.Keys()
			return err == nil && (keys.Presigned() == nil || keys.Presigned().Full())
		})
		b.ReportAllocs()
		report := cpuPerOp(b)
		codes, _ := testkit.Callers(b, callers, func(i int) int {
			r, w := req(i), writer()
			srv.ServeHTTP(w, r)
			return w.status
		})
		report()
		b.ReportMetric(float64(m1.Mallocs-m0.Mallocs)/float64(n), "harness-allocs/op")
		for _, c := range codes {
			if c != http.StatusCreated {
				b.Fatalf("answered %d, want 201", c)
			}
		}
	}
	b.Run("hold", func(b *testing.B) {
		drop, tickets := admitted(b, b.N)
		measure(b, func(i int) *http.Request {
			return request("/api/v1/drops/"+drop+"/holds", tickets[i], "", `{"quantity":1}`)
		})
	})
	b.Run("order", func(b *testing.B) {
		drop, tickets := admitted(b, b.N)
		type prepared struct{ path, ticket, body string }
		orders := make([]prepared, b.N)
		for i, t := range tickets {
			code, body := serve(srv, "POST", "/api/v1/drops/"+drop+"/holds", t, "", `{"quantity":1}`)
			var h struct{ ID string }
			if err := json.Unmarshal([]byte(body), &h); code != http.StatusCreated || err != nil {
				b.Fatalf("hold: %d %s", code, body)
			}
			tok, err := sessions.Issue(fmt.Sprintf("b%d-%s@example.com", i, drop), "dev", time.Now())
			if err != nil {
				b.Fatal(err)
			}
			orders[i] = prepared{"/api/v1/holds/" + h.ID + "/order", t, fmt.Sprintf(`{"session":%q}`, tok)}
		}
		inline0 := counter(b, reg, "floodgate_receipt_signatures_inline_total")
		measure(b, func(i int) *http.Request {
			return request(orders[i].path, orders[i].ticket, fmt.Sprintf("%s-%d", drop, i), orders[i].body)
		})
		// Receipts signed in full for lack of a prepared nonce (none
		// expected: the pool holds more than a run's orders).
		b.ReportMetric(counter(b, reg, "floodgate_receipt_signatures_inline_total")-inline0, "inline-receipts")
	})
}

// benchNodes starts a leader API on a real store and a follower API that
// forwards its writes to it, both over loopback.
func benchNodes(b *testing.B) (leaderAPI, followerAPI *httptest.Server) {
	st := localstore.Leader(b)
	cfg := func(s queue.Store, c fhttp.Cluster) fhttp.Config {
		return fhttp.Config{
			Store: s.(fhttp.Store), Queue: queue.New(queue.Config{Store: s}), Cluster: c,
			Sessions: identity.NewSessions(nil, time.Hour), AdminToken: handlerToken,
			Logger:      slog.New(slog.DiscardHandler),
			RequestRate: 1e9, RequestBurst: 1e9,
		}
	}
	leaderAPI = httptest.NewServer(fhttp.New(cfg(st, nil)))
	b.Cleanup(leaderAPI.Close)
	followerAPI = httptest.NewServer(fhttp.New(cfg(follower{st}, knownLeader{leaderAPI.URL})))
	b.Cleanup(followerAPI.Close)
	return leaderAPI, followerAPI
}

// benchWrites sends orders the leader refuses at once (400: no
// Idempotency-Key), from 32 callers at once: enough in flight to keep the
// cores busy, so ns/op is CPU time per request of client and nodes. A
// committed write adds the same Raft work either way.
func benchWrites(b *testing.B, url string) {
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	ticket := strings.Repeat("t", 330)
	b.ReportAllocs()
	b.SetParallelism(16)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest("POST", url+"/api/v1/holds/h1/order", strings.NewReader(`{"session":"s"}`))
			req.Header.Set("Authorization", "Bearer "+ticket)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-Forwarded-For", "198.18.0.7")
			resp, err := c.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest {
				b.Fatalf("order: %d", resp.StatusCode)
			}
		}
	})
}

// BenchmarkWriteToLeader and BenchmarkWriteThroughFollower are the same write
// sent to the leader and through a follower; their ratio is what
// forwarding costs.
func BenchmarkWriteToLeader(b *testing.B) {
	leader, _ := benchNodes(b)
	benchWrites(b, leader.URL)
}

func BenchmarkWriteThroughFollower(b *testing.B) {
	for _, batched := range []bool{true, false} {
		name := "alone"
		if batched {
			name = "batched"
		}
		b.Run(name, func(b *testing.B) {
			defer fhttp.SetBatchForwarding(batched)()
			_, follower := benchNodes(b)
			benchWrites(b, follower.URL)
		})
	}
}

// BenchmarkRunForwarded is the leader's part of a write forwarded in a
// stream, after the frame is read: the request built from it, the
// middleware, the router and the handler (which refuses this order at
// once: no Idempotency-Key).
func BenchmarkRunForwarded(b *testing.B) {
	st := localstore.Leader(b)
	s := fhttp.New(fhttp.Config{Store: st, Queue: queue.New(queue.Config{Store: st}), Sessions: identity.NewSessions(nil, time.Hour),
		AdminToken: handlerToken, Logger: slog.New(slog.DiscardHandler), RequestRate: 1e9, RequestBurst: 1e9})
	w := fhttp.ForwardWrite{Method: "POST", URI: "/api/v1/holds/h1/order", IP: "198.18.0.7",
		Header: http.Header{"Authorization": {"Bearer " + strings.Repeat("t", 330)}, "Content-Type": {"application/json"}, "X-Forwarded-For": {"198.18.0.7, 127.0.0.1"}, "X-Forwarded-Host": {"127.0.0.1:8080"}, "X-Forwarded-Proto": {"http"}},
		Body:   []byte(`{"session":"s"}`)}
	b.ReportAllocs()
	for b.Loop() {
		if st := fhttp.RunForwarded(s, w); st != 400 {
			b.Fatal(st)
		}
	}
}
