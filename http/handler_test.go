package http_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/floodgate/floodgate"
	fhttp "github.com/floodgate/floodgate/http"
	"github.com/floodgate/floodgate/identity"
	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/internal/testkit/localstore"
	"github.com/floodgate/floodgate/queue"
	"github.com/floodgate/floodgate/store"
)

// Handler tests: the API in front of a real single-node store, with the
// interfaces http owns (Store, Queue, Cluster) swapped where a test needs
// a follower or a failure. No process, no network beyond httptest.

const handlerToken = "handler-test-admin-token"

// leaderStore opens a real single-node store and waits until it leads.
func leaderStore(t *testing.T) *store.Store { return localstore.Leader(t) }

func handlerServer(t *testing.T, cfg fhttp.Config) *httptest.Server {
	t.Helper()
	if cfg.Sessions == nil {
		cfg.Sessions = identity.NewSessions(nil, time.Hour)
	}
	cfg.AdminToken = handlerToken
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	hs := httptest.NewServer(fhttp.New(cfg))
	t.Cleanup(hs.Close)
	return hs
}

// answer is one response, read whole.
type answer struct {
	status int
	header http.Header
	code   string
	msg    string
	body   string
}

func call(t *testing.T, method, url, token, body string) answer {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	return send(t, req)
}

// send sends req and reads its answer whole, the API error's code and
// message included.
func send(t *testing.T, req *http.Request) answer {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, header: resp.Header, body: string(raw)}
	var eb struct {
		Error struct{ Code, Message string }
	}
	if json.Unmarshal(raw, &eb) == nil {
		a.code, a.msg = eb.Error.Code, eb.Error.Message
	}
	return a
}

// brokenQueue fails every join with an error the API does not expect.
type brokenQueue struct{ fhttp.Queue }

func (brokenQueue) JoinChallenged(context.Context, string, netip.Addr, *queue.Solution) (string, queue.Status, *queue.Challenge, error) {
	return "", queue.Status{}, nil, errors.New("disk on fire at /var/lib/floodgate")
}

func TestUnexpectedErrorIsAGeneric500LoggedWithTheRequestID(t *testing.T) {
	st := leaderStore(t)
	var logs testkit.LogBuffer
	hs := handlerServer(t, fhttp.Config{
		Store: st, Queue: brokenQueue{queue.New(queue.Config{Store: st})},
		Logger: slog.New(slog.NewTextHandler(&logs, nil)),
	})
	a := call(t, "POST", hs.URL+"/api/v1/drops", handlerToken, `{"id":"lamp","name":"Lamp","stock":3}`)
	if a.status != http.StatusCreated {
		t.Fatalf("create drop: %d %s", a.status, a.body)
	}
	a = call(t, "POST", hs.URL+"/api/v1/drops/lamp/queue", "", "")
	if a.status != http.StatusInternalServerError || a.code != floodgate.EInternal {
		t.Fatalf("join with a broken queue: %d %s; want 500 internal", a.status, a.body)
	}
	if strings.Contains(a.body, "disk on fire") {
		t.Fatalf("the answer leaks the internal error: %s", a.body)
	}
	rid := a.header.Get("X-Request-Id")
	log := logs.String()
	if rid == "" || !strings.Contains(log, "request_id="+rid) || !strings.Contains(log, "disk on fire") {
		t.Fatalf("the unexpected error is not logged with request id %q:\n%s", rid, log)
	}

	// A refusal the API expects is an answer, not an error to log.
	a = call(t, "GET", hs.URL+"/api/v1/drops/no-such-drop", "", "")
	if a.status != http.StatusNotFound || a.code != floodgate.ENotFound {
		t.Fatalf("unknown drop: %d %s; want 404 not_found", a.status, a.body)
	}
	if rid := a.header.Get("X-Request-Id"); strings.Contains(logs.String(), "request_id="+rid+" ") {
		t.Fatalf("a 404 was logged as unexpected:\n%s", logs.String())
	}
}

// follower is the real store seen from a node that does not lead.
type follower struct{ *store.Store }

func (follower) IsLeader() bool { return false }

// knownLeader is a cluster whose leader's API is at url ("" for none known).
type knownLeader struct{ url string }

func (knownLeader) ClusterInfo(context.Context) (fhttp.ClusterInfo, error) {
	return fhttp.ClusterInfo{}, nil
}
func (k knownLeader) LeaderHTTP() string { return k.url }

func TestLeaderOnlyRoutesOnAFollowerWithoutALeader(t *testing.T) {
	st := leaderStore(t)
	leader := handlerServer(t, fhttp.Config{Store: st, Queue: queue.New(queue.Config{Store: st})})
	if a := call(t, "POST", leader.URL+"/api/v1/drops", handlerToken, `{"id":"lamp","name":"Lamp","stock":3}`); a.status != http.StatusCreated {
		t.Fatalf("create drop: %d %s", a.status, a.body)
	}
	hs := handlerServer(t, fhttp.Config{Store: follower{st}, Queue: queue.New(queue.Config{Store: follower{st}}), Cluster: knownLeader{}})
	for _, r := range []struct{ method, path, token, body string }{
		{"POST", "/api/v1/drops", handlerToken, `{"id":"desk","name":"Desk","stock":1}`},
		{"POST", "/api/v1/drops/lamp/close", handlerToken, ""},
		{"POST", "/api/v1/drops/lamp/queue", "", ""},
		{"POST", "/api/v1/drops/lamp/holds", "some-ticket", `{"quantity":1}`},
		{"POST", "/api/v1/holds/h1/order", "some-ticket", `{}`},
		{"DELETE", "/api/v1/holds/h1", "some-ticket", ""},
	} {
		a := call(t, r.method, hs.URL+r.path, r.token, r.body)
		if a.status != http.StatusServiceUnavailable || a.code != floodgate.EUnavailable || a.header.Get("Retry-After") == "" {
			t.Errorf("%s %s on a follower without a leader: %d %s (Retry-After %q); want 503 unavailable with Retry-After",
				r.method, r.path, a.status, a.body, a.header.Get("Retry-After"))
		}
	}
	// Reads are served from the follower's own state.
	if a := call(t, "GET", hs.URL+"/api/v1/drops/lamp", "", ""); a.status != http.StatusOK {
		t.Fatalf("read on a follower: %d %s", a.status, a.body)
	}
}

func TestFollowerForwardsWritesToTheLeader(t *testing.T) {
	st := leaderStore(t)
	leader := handlerServer(t, fhttp.Config{Store: st, Queue: queue.New(queue.Config{Store: st})})
	hs := handlerServer(t, fhttp.Config{Store: follower{st}, Queue: queue.New(queue.Config{Store: follower{st}}), Cluster: knownLeader{leader.URL}})

	a := call(t, "POST", hs.URL+"/api/v1/drops", handlerToken, `{"id":"lamp","name":"Lamp","stock":3}`)
	if a.status != http.StatusCreated {
		t.Fatalf("create a drop through the follower: %d %s; want the leader's 201", a.status, a.body)
	}
	if a := call(t, "GET", leader.URL+"/api/v1/drops/lamp", "", ""); a.status != http.StatusOK {
		t.Fatalf("the leader does not have the forwarded drop: %d %s", a.status, a.body)
	}
	// The leader's refusal comes back as it was given.
	a = call(t, "POST", hs.URL+"/api/v1/drops", handlerToken, `{"id":"lamp","name":"Another lamp","stock":5}`)
	if a.status != http.StatusConflict || a.code != floodgate.EConflict {
		t.Fatalf("a conflicting drop through the follower: %d %s; want 409 conflict", a.status, a.body)
	}
	// Admin calls are checked where they arrive too: a wrong token is not forwarded.
	if a := call(t, "POST", hs.URL+"/api/v1/drops", "wrong-token", `{"id":"desk","name":"Desk","stock":1}`); a.status != http.StatusUnauthorized {
		t.Fatalf("a wrong admin token through the follower: %d %s; want 401", a.status, a.body)
	}
}

// members records the membership changes the API asks for.
type members struct {
	knownLeader
	mu    sync.Mutex
	calls []string
}

func (m *members) record(s string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls = append(m.calls, s)
	return nil
}

func (m *members) Join(_ context.Context, id, raftAddr, httpAddr string) error {
	return m.record("join " + id + " " + raftAddr + " " + httpAddr)
}
func (m *members) Remove(_ context.Context, id string) error { return m.record("remove " + id) }
func (m *members) Register(_ context.Context, id, httpAddr string) error {
	return m.record("register " + id + " " + httpAddr)
}

func TestMembershipRoutesCheckTheirInputBeforeTheCluster(t *testing.T) {
	st := leaderStore(t)
	m := &members{}
	hs := handlerServer(t, fhttp.Config{Store: st, Queue: queue.New(queue.Config{Store: st}), Cluster: m})
	for _, r := range []struct {
		method, path, body string
		status             int
	}{
		{"POST", "/api/v1/cluster/join", `{"id":"Node 2","raft_addr":"10.0.0.2:7000"}`, http.StatusBadRequest},
		{"POST", "/api/v1/cluster/join", `{"id":"node2","raft_addr":"10.0.0.2"}`, http.StatusBadRequest},
		{"POST", "/api/v1/cluster/join", `{"id":"node2","raft_addr":"10.0.0.2:7000","http_addr":"ftp://x"}`, http.StatusBadRequest},
		{"POST", "/api/v1/cluster/join", `{"id":"node2","raft_addr":"10.0.0.2:7000","extra":1}`, http.StatusBadRequest},
		{"POST", "/api/v1/cluster/join", `{"id":"node2","raft_addr":"10.0.0.2:7000","http_addr":"http://10.0.0.2:8080"}`, http.StatusOK},
		{"PUT", "/api/v1/cluster/nodes/node2", `{"http_addr":"10.0.0.2:8080"}`, http.StatusBadRequest},
		{"PUT", "/api/v1/cluster/nodes/node2", `{"http_addr":"https://node2.example"}`, http.StatusNoContent},
		{"DELETE", "/api/v1/cluster/nodes/NODE2", "", http.StatusBadRequest},
		{"DELETE", "/api/v1/cluster/nodes/node2", "", http.StatusNoContent},
	} {
		if a := call(t, r.method, hs.URL+r.path, handlerToken, r.body); a.status != r.status {
			t.Errorf("%s %s %s: %d %s; want %d", r.method, r.path, r.body, a.status, a.body, r.status)
		}
	}
	want := []string{"join node2 10.0.0.2:7000 http://10.0.0.2:8080", "register node2 https://node2.example", "remove node2"}
	if strings.Join(m.calls, "|") != strings.Join(want, "|") {
		t.Fatalf("the cluster was asked %q; want only the valid changes %q", m.calls, want)
	}

	// A node without cluster support says so.
	plain := handlerServer(t, fhttp.Config{Store: st, Queue: queue.New(queue.Config{Store: st}), Cluster: knownLeader{}})
	if a := call(t, "DELETE", plain.URL+"/api/v1/cluster/nodes/node2", handlerToken, ""); a.status != http.StatusConflict {
		t.Fatalf("remove on a node without cluster support: %d %s; want 409", a.status, a.body)
	}
}

// The batch path of forwarded writes is for nodes only: without the node
// signature it does not exist, and a signed batch that does not decode is
// refused whole.
func TestForwardBatchPathNeedsTheNodeSignature(t *testing.T) {
	st := leaderStore(t)
	hs := handlerServer(t, fhttp.Config{Store: st, Queue: queue.New(queue.Config{Store: st})})
	for _, token := range []string{"", handlerToken} {
		if a := call(t, "POST", hs.URL+fhttp.ForwardBatchPath, token, "\x01"); a.status != http.StatusNotFound || a.code != floodgate.ENotFound {
			t.Errorf("a batch with token %q and no node signature: %d %s; want 404 not_found", token, a.status, a.body)
		}
	}
	body := []byte("\x01\x04POST")
	req, _ := http.NewRequest("POST", hs.URL+fhttp.ForwardBatchPath, bytes.NewReader(body))
	fhttp.SignNodeRequest(req, fhttp.NodeKey(handlerToken), body, time.Now())
	if a := send(t, req); a.status != http.StatusBadRequest {
		t.Fatalf("a signed batch that does not decode: %d, want 400", a.status)
	}
	// Signed with another cluster's key: not found.
	req, _ = http.NewRequest("POST", hs.URL+fhttp.ForwardBatchPath, bytes.NewReader(body))
	fhttp.SignNodeRequest(req, fhttp.NodeKey("another-cluster-admin-token"), body, time.Now())
	if a := send(t, req); a.status != http.StatusNotFound {
		t.Fatalf("a batch signed with another key: %d, want 404", a.status)
	}
}

// Writes forwarded at the same time travel in batches; each still gets its
// own answer.
func TestFollowerForwardsConcurrentWritesEachItsAnswer(t *testing.T) {
	st := leaderStore(t)
	leader := handlerServer(t, fhttp.Config{Store: st, Queue: queue.New(queue.Config{Store: st})})
	hs := handlerServer(t, fhttp.Config{Store: follower{st}, Queue: queue.New(queue.Config{Store: follower{st}}), Cluster: knownLeader{leader.URL}})
	concurrentDropWrites(t, hs.URL, 60, 10)
}

// concurrentDropWrites creates n drops at once through the node at base,
// the last repeat of them with an id used before, and checks that each
// write got its own answer: created with its own name, or a conflict.
func concurrentDropWrites(t *testing.T, base string, n, repeat int) {
	t.Helper()
	var wg sync.WaitGroup
	answers := make([]answer, n)
	for i := range n {
		wg.Go(func() {
			id := "lamp" + strconv.Itoa(i%(n-repeat))
			answers[i] = call(t, "POST", base+"/api/v1/drops", handlerToken, `{"id":"`+id+`","name":"Lamp `+strconv.Itoa(i)+`","stock":3}`)
		})
	}
	wg.Wait()
	created, conflicts := 0, 0
	for i, a := range answers {
		switch {
		case a.status == http.StatusCreated && strings.Contains(a.body, `"name":"Lamp `+strconv.Itoa(i)+`"`):
			created++
		case a.status == http.StatusConflict && a.code == floodgate.EConflict:
			conflicts++
		default:
			t.Errorf("write %d: %d %s", i, a.status, a.body)
		}
		if a.header.Get("X-Request-Id") == "" {
			t.Errorf("write %d: no request id", i)
		}
	}
	if created != n-repeat || conflicts != repeat {
		t.Fatalf("%d created and %d conflicts; want %d and %d", created, conflicts, n-repeat, repeat)
	}
}
