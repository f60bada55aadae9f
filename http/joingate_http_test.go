package http_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/floodgate/floodgate"
	fhttp "github.com/floodgate/floodgate/http"
	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/queue"
	"github.com/floodgate/floodgate/sale"
)

// metricValue reads the sample of name with labels (nil: the unlabelled
// sample) from the node's /metrics; -1 when absent.
func metricValue(t *testing.T, base, name string, labels map[string]string) float64 {
	t.Helper()
	a := call(t, "GET", base+"/metrics", handlerToken, "")
	if v, ok := testkit.MetricValue(t, []byte(a.body), name, labels); ok {
		return v
	}
	return -1
}

// joinAnswer is a join's status and position, read by a goroutine.
type joinAnswer struct {
	status   int
	code     string
	retry    string
	position int64
	err      error
}

func joinAt(ctx context.Context, url string) joinAnswer {
	req, _ := http.NewRequestWithContext(ctx, "POST", url+"/api/v1/drops/lamp/queue", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return joinAnswer{err: err}
	}
	defer resp.Body.Close()
	var b struct {
		Position int64
		Error    struct{ Code string }
	}
	raw, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(raw, &b)
	return joinAnswer{status: resp.StatusCode, code: b.Error.Code, retry: resp.Header.Get("Retry-After"), position: b.Position}
}

// TestJoinsWaitForVisitorsInLine: with the node busy with the requests of
// visitors who hold a ticket, new joins wait at the door — and still get in:
// at the bound, or on their share of the answers; too many waiting are
// turned away with 429 and Retry-After; a client that leaves frees its
// place; and positions stay first come first served.
func TestJoinsWaitForVisitorsInLine(t *testing.T) {
	st := leaderStore(t)
	if _, err := st.Apply(context.Background(), &sale.Command{Kind: sale.KindInitSecret, Now: time.Now().UnixMilli(), Secret: []byte("join-gate-test-secret-32-bytes!!")}); err != nil {
		t.Fatal(err)
	}
	q := queue.New(queue.Config{Store: st, TickInterval: 10 * time.Millisecond})
	testkit.Background(t, q.Run)
	// Two doors on the same node: one whose joins wait at most bound, and
	// one whose bound is too long to matter, so that a slow machine cannot
	// make a join overdue where it must go in on its turn.
	const bound = 1500 * time.Millisecond
	gate := fhttp.Config{Store: st, Queue: q, JoinGateBusy: 1, JoinGateShare: 2, JoinGateMaxWaiting: 2}
	gate.JoinGateMaxWait = bound
	bounded := handlerServer(t, gate)
	gate.JoinGateMaxWait = time.Hour
	hs := handlerServer(t, gate)
	if a := call(t, "POST", hs.URL+"/api/v1/drops", handlerToken, `{"id":"lamp","name":"Lamp","stock":3,"challenge_difficulty":0}`); a.status != http.StatusCreated {
		t.Fatalf("create drop: %d %s", a.status, a.body)
	}
	metricOf := func(srv *httptest.Server, name string, labels map[string]string) float64 {
		return metricValue(t, srv.URL, name, labels)
	}
	metric := func(name string, labels map[string]string) float64 { return metricOf(hs, name, labels) }
	outcomeOf := func(srv *httptest.Server, o string) float64 {
		return metricOf(srv, "floodgate_join_gate_joins_total", map[string]string{"outcome": o})
	}
	outcome := func(o string) float64 { return outcomeOf(hs, o) }

	first := joinAt(context.Background(), hs.URL)
	if first.status != http.StatusCreated {
		t.Fatalf("join on an idle node: %+v", first)
	}
	if outcome("turn")+outcome("overdue") != 0 {
		t.Fatal("a join on an idle node waited")
	}
	a := call(t, "POST", hs.URL+"/api/v1/drops/lamp/queue", "", "")
	var j struct{ Ticket string }
	if err := json.Unmarshal([]byte(a.body), &j); err != nil || j.Ticket == "" {
		t.Fatalf("join: %d %s", a.status, a.body)
	}
	last := first.position + 1

	// A visitor in line holds the node busy: a hold whose body is still on
	// its way keeps its request in flight.
	busy := func(srv *httptest.Server) (finish func() int) {
		pr, pw := io.Pipe()
		req, _ := http.NewRequest("POST", srv.URL+"/api/v1/drops/lamp/holds", pr)
		req.Header.Set("Authorization", "Bearer "+j.Ticket)
		req.Header.Set("Content-Type", "application/json")
		t.Cleanup(func() { pw.CloseWithError(io.ErrUnexpectedEOF) })
		done := make(chan int, 1)
		go func() {
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				done <- 0
				return
			}
			resp.Body.Close()
			done <- resp.StatusCode
		}()
		testkit.WaitFor(t, "a request in line in flight", func() bool { return metricOf(srv, "floodgate_in_line_requests", nil) == 1 })
		return func() int {
			_, _ = pw.Write([]byte(`{"quantity":1}`))
			pw.Close()
			return <-done
		}
	}
	// Nothing in line is answered: the join waits the bound, then goes in.
	finishBounded := busy(bounded)
	start := time.Now()
	late := joinAt(context.Background(), bounded.URL)
	waited := time.Since(start)
	if late.status != http.StatusCreated || late.position <= last {
		t.Fatalf("join while busy: %+v (last position %d)", late, last)
	}
	last = late.position
	if waited < bound || waited > bound+10*time.Second || outcomeOf(bounded, "overdue") != 1 {
		t.Fatalf("join while busy went in after %v (bound %v), overdue %v", waited, bound, outcomeOf(bounded, "overdue"))
	}
	if code := finishBounded(); code == 0 || code >= 500 {
		t.Fatalf("the hold in flight: %d", code)
	}
	finish := busy(hs)

	// Requests in line answered give waiting joins their share: one per two.
	turn := make(chan joinAnswer, 1)
	go func() { turn <- joinAt(context.Background(), hs.URL) }()
	testkit.WaitFor(t, "a join waiting", func() bool { return metric("floodgate_join_gate_waiting", nil) == 1 })
	for range 2 {
		if a := call(t, "GET", hs.URL+"/api/v1/drops/lamp/queue", j.Ticket, ""); a.status != http.StatusOK {
			t.Fatalf("status: %d %s", a.status, a.body)
		}
	}
	got := <-turn
	if got.status != http.StatusCreated || got.position <= last {
		t.Fatalf("join on its turn: %+v (last position %d)", got, last)
	}
	last = got.position
	if outcome("turn") != 1 {
		t.Fatalf("the join did not go in on its turn: turn %v overdue %v", outcome("turn"), outcome("overdue"))
	}

	// Two wait; a third is turned away as a client expects of a busy door.
	waiting := make(chan joinAnswer, 2)
	for range 2 {
		go func() { waiting <- joinAt(context.Background(), hs.URL) }()
	}
	testkit.WaitFor(t, "two joins waiting", func() bool { return metric("floodgate_join_gate_waiting", nil) == 2 })
	over := joinAt(context.Background(), hs.URL)
	if over.status != http.StatusTooManyRequests || over.code != floodgate.ERateLimited || over.retry == "" {
		t.Fatalf("join over the cap: %+v; want 429 rate_limited with Retry-After", over)
	}
	// The visitor in line is answered: the node is idle, both go in.
	if code := finish(); code == 0 || code >= 500 {
		t.Fatalf("the hold in flight: %d", code)
	}
	for range 2 {
		if a := <-waiting; a.status != http.StatusCreated || a.position <= last {
			t.Fatalf("waiting join once the node is idle: %+v (last position %d)", a, last)
		}
	}

	// A client that goes away leaves the line and nothing stays counted.
	finish = busy(hs)
	ctx, cancel := context.WithCancel(context.Background())
	gone := make(chan joinAnswer, 1)
	go func() { gone <- joinAt(ctx, hs.URL) }()
	testkit.WaitFor(t, "a join waiting", func() bool { return metric("floodgate_join_gate_waiting", nil) == 1 })
	cancel()
	if a := <-gone; a.err == nil {
		t.Fatalf("a canceled join got an answer: %+v", a)
	}
	testkit.WaitFor(t, "the canceled join gone", func() bool {
		return metric("floodgate_join_gate_waiting", nil) == 0 && outcome("gone") == 1
	})
	finish()
	if n := metric("floodgate_in_line_requests", nil); n != 0 {
		t.Fatalf("%v requests in line still counted", n)
	}
	if n := metric("floodgate_join_gate_wait_seconds_count", nil); n != 3 {
		t.Fatalf("%v joins with a wait recorded, want 3", n)
	}
	if n := metricOf(bounded, "floodgate_join_gate_wait_seconds_count", nil); n != 1 {
		t.Fatalf("%v joins with a wait recorded at the bounded door, want 1", n)
	}
}
