//go:build unix

package http_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
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
	"github.com/prometheus/client_golang/prometheus"
)

var committedWritesSignAhead = flag.Int("committed-writes-sign-ahead", 0, "BenchmarkCommittedWrites: the queue's SignAhead (0: the default; -1: none)")

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
	srv := fhttp.New(fhttp.Config{
		Store: st, Queue: q, Sessions: sessions, AdminToken: handlerToken,
		RequestRate: 1e9, RequestBurst: 1e9, JoinRate: 1e9, JoinBurst: 1e9, Logger: quiet, Registry: reg,
	})
	if _, err := st.Apply(context.Background(), &sale.Command{Kind: sale.KindInitSecret, Now: time.Now().UnixMilli(), Secret: []byte("committed-writes-benchmark-secret")}); err != nil {
		b.Fatal(err)
	}
	testkit.Background(b, q.Run)
	do := func(method, path, token, key, body string) (int, string) {
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
	// send is do for the timed requests: the cheapest writer, nothing kept.
	send := func(path, token, key, body string) int {
		req := httptest.NewRequest("POST", path, strings.NewReader(body))
		req.RemoteAddr = "198.18.0.7:4000"
		req.Header.Set("Authorization", "Bearer "+token)
		if key != "" {
			req.Header.Set("Idempotency-Key", key)
		}
		req.Header.Set("Content-Type", "application/json")
		w := &discardWriter{h: http.Header{}}
		srv.ServeHTTP(w, req)
		return w.status
	}
	drops := 0
	// admitted makes a drop and n admitted tickets of it.
	admitted := func(b *testing.B, n int) (string, []string) {
		drops++
		drop := fmt.Sprintf("writes-%d", drops)
		body := fmt.Sprintf(`{"id":%q,"name":"Writes","stock":%d,"per_customer_limit":1,"admit_per_second":1000000,"hold_seconds":3600,"admit_window_seconds":3600,"challenge_difficulty":0}`, drop, n)
		if code, body := do("POST", "/api/v1/drops", handlerToken, "", body); code != http.StatusCreated {
			b.Fatalf("create drop: %d %s", code, body)
		}
		tickets := make([]string, n)
		for i := range tickets {
			code, body := do("POST", "/api/v1/drops/"+drop+"/queue", "", "", "")
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
	measure := func(b *testing.B, call func(i int) int) {
		testkit.WaitFor(b, "the signatures prepared ahead", func() bool {
			keys, _, err := q.Keys()
			return err == nil && (keys.Presigned() == nil || keys.Presigned().Full())
		})
		b.ReportAllocs()
		cpu0 := nice.ProcessCPU()
		codes, _ := testkit.Callers(b, callers, call)
		b.ReportMetric(float64(nice.ProcessCPU()-cpu0)/float64(time.Microsecond)/float64(b.N), "cpu-µs/op")
		for _, c := range codes {
			if c != http.StatusCreated {
				b.Fatalf("answered %d, want 201", c)
			}
		}
	}
	b.Run("hold", func(b *testing.B) {
		drop, tickets := admitted(b, b.N)
		measure(b, func(i int) int {
			return send("/api/v1/drops/"+drop+"/holds", tickets[i], "", `{"quantity":1}`)
		})
	})
	b.Run("order", func(b *testing.B) {
		drop, tickets := admitted(b, b.N)
		type prepared struct{ path, ticket, body string }
		orders := make([]prepared, b.N)
		for i, t := range tickets {
			code, body := do("POST", "/api/v1/drops/"+drop+"/holds", t, "", `{"quantity":1}`)
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
		measure(b, func(i int) int {
			return send(orders[i].path, orders[i].ticket, fmt.Sprintf("%s-%d", drop, i), orders[i].body)
		})
		// Receipts signed in full for lack of a prepared nonce (none
		// expected: the pool holds more than a run's orders).
		b.ReportMetric(counter(b, reg, "floodgate_receipt_signatures_inline_total")-inline0, "inline-receipts")
	})
}
