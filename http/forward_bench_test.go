package http_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	fhttp "github.com/floodgate/floodgate/http"
	"github.com/floodgate/floodgate/identity"
	"github.com/floodgate/floodgate/queue"
	"github.com/floodgate/floodgate/store"
)

// benchNodes starts a leader API on a real store and a follower API that
// forwards its writes to it, both over loopback.
func benchNodes(b *testing.B) (leaderAPI, followerAPI *httptest.Server) {
	st, err := store.Open(store.Config{Dir: b.TempDir(), Bootstrap: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	for !st.IsLeader() {
		time.Sleep(10 * time.Millisecond)
	}
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
