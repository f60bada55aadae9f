package status

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/floodgate/floodgate/internal/testkit"
)

// hookCounter is a real webhook receiver that counts what it takes per
// path; the first request to /held waits until release is closed.
type hookCounter struct {
	mu      sync.Mutex
	hits    map[string]int
	entered chan struct{}
	release chan struct{}
	failing map[string]bool
}

func newHookCounter(t *testing.T) (*hookCounter, *httptest.Server) {
	h := &hookCounter{hits: map[string]int{}, entered: make(chan struct{}, 1), release: make(chan struct{}), failing: map[string]bool{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		h.hits[r.URL.Path]++
		first := h.hits[r.URL.Path] == 1
		fail := h.failing[r.URL.Path]
		h.mu.Unlock()
		if r.URL.Path == "/held" && first {
			h.entered <- struct{}{}
			<-h.release
		}
		if fail {
			http.Error(w, "not now", http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() {
		select {
		case <-h.release:
		default:
			close(h.release)
		}
	})
	return h, srv
}

func (h *hookCounter) count(path string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.hits[path]
}

func (h *hookCounter) setFailing(path string, fail bool) {
	h.mu.Lock()
	h.failing[path] = fail
	h.mu.Unlock()
}

// outboxInLog counts the deliveries the cluster log holds.
func outboxInLog(l *memLog) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for k := range l.recs {
		if strings.HasPrefix(k, string(bucketOutbox)+"/") {
			n++
		}
	}
	return n
}

// TestDeliverySentWhileWritesFailIsNotResent: a notice delivered while the
// cluster log refuses every write (the leader's disk is full) cannot be
// recorded as sent; the node reads its records back from the log (which
// still has the delivery queued), and must not send it again and again. A
// notice whose attempt failed meanwhile is retried on its backoff, not at
// every read, and is delivered once writes succeed: nothing not yet sent is
// lost. Once writes succeed the sent one is recorded, and sent no more.
func TestDeliverySentWhileWritesFailIsNotResent(t *testing.T) {
	s, log, clock := liveService(t, 1)
	hook, srv := newHookCounter(t)
	hook.setFailing("/failing", true)
	for _, path := range []string{"/held", "/failing"} {
		if _, err := s.Subscribe(SubscriberInput{Channel: ChannelWebhook, Target: srv.URL + path, Secret: "0123456789abcdef"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.CreateIncident(IncidentInput{Name: "Checkout is failing", Impact: ImpactMajor, Message: "Orders fail.", Components: []string{"checkout"}}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-hook.entered: // the notice is on its way; the disk fills up
	case <-time.After(30 * time.Second):
		t.Fatal("the notice was not sent")
	}
	testkit.WaitFor(t, "the failing hook's first attempt", func() bool { return hook.count("/failing") >= 1 })
	log.refuse.Store(true)
	close(hook.release)
	idle := func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return len(s.inflight) == 0
	}
	testkit.WaitFor(t, "the held send to end", func() bool { return hook.count("/held") == 1 && idle() })
	failed := hook.count("/failing")

	// Each round: the node reads the log afresh (as it does within a
	// second of a failed write) and looks for what is due.
	for range 5 {
		s.syncReplica(false)
		s.dispatch()
		testkit.WaitFor(t, "the sends of the round to end", idle)
	}
	if n := hook.count("/held"); n != 1 {
		t.Fatalf("a notice delivered while writes failed was sent %d times, want once", n)
	}
	if n := hook.count("/failing"); n != failed {
		t.Fatalf("a failing notice was tried %d more times at once while writes failed, want none before its backoff", n-failed)
	}
	if outboxInLog(log) != 2 {
		t.Fatalf("the log holds %d deliveries while writes fail, want both still queued", outboxInLog(log))
	}

	// Writes succeed again: the sent notice is recorded and not sent again;
	// the other is delivered.
	log.refuse.Store(false)
	hook.setFailing("/failing", false)
	clock.Add(time.Hour)
	testkit.WaitFor(t, "the outbox to empty in the log", func() bool {
		s.syncReplica(false)
		s.kick()
		return outboxInLog(log) == 0
	})
	if n := hook.count("/held"); n != 1 {
		t.Fatalf("the notice delivered while writes failed was sent %d times in all, want once", n)
	}
	if hook.count("/failing") <= failed {
		t.Fatal("the notice that had failed was never delivered")
	}
}
