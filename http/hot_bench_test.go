//go:build unix

package http_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	fhttp "github.com/floodgate/floodgate/http"
	"github.com/floodgate/floodgate/identity"
	"github.com/floodgate/floodgate/internal/nice"
	"github.com/floodgate/floodgate/internal/testkit/localstore"
	"github.com/floodgate/floodgate/queue"
	"github.com/floodgate/floodgate/sale"
)

// discardWriter is the cheapest ResponseWriter: what a benchmark of the
// handlers measures is the server's own work, not a recorder's.
type discardWriter struct {
	h      http.Header
	status int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) WriteHeader(code int)        { w.status = code }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }

// BenchmarkHotPaths runs the requests a rush sends most through the
// server's handler (middleware, routing, handler, encoding) in one
// goroutine, without the network: cpu-µs/op is the process's CPU time per
// request, which a busy machine disturbs much less than ns/op.
func BenchmarkHotPaths(b *testing.B) {
	st := localstore.Leader(b)
	quiet := slog.New(slog.DiscardHandler)
	srv := fhttp.New(fhttp.Config{
		Store: st, Queue: queue.New(queue.Config{Store: st, Logger: quiet}),
		Sessions: identity.NewSessions(nil, time.Hour), AdminToken: handlerToken,
		RequestRate: 1e9, RequestBurst: 1e9, JoinRate: 1e9, JoinBurst: 1e9, Logger: quiet,
	})
	if _, err := st.Apply(context.Background(), &sale.Command{Kind: sale.KindInitSecret, Now: time.Now().UnixMilli(), Secret: []byte("hot-paths-benchmark-secret-32-by")}); err != nil {
		b.Fatal(err)
	}
	do := func(method, path, token, body string) (int, string) {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		return rec.Code, rec.Body.String()
	}
	if code, body := do("POST", "/api/v1/drops", handlerToken, `{"id":"hot","name":"Hot","stock":3000,"per_customer_limit":1,"admit_per_second":1,"challenge_difficulty":0}`); code != http.StatusCreated {
		b.Fatalf("create drop: %d %s", code, body)
	}
	var ticket string
	for i := 0; i < 20; i++ {
		code, body := do("POST", "/api/v1/drops/hot/queue", "", "")
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
		cpu0 := nice.ProcessCPU()
		defer func() {
			b.ReportMetric(float64(nice.ProcessCPU()-cpu0)/float64(time.Microsecond)/float64(b.N), "cpu-µs/op")
		}()
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
