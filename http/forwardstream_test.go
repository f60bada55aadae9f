package http_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/floodgate/floodgate"
	fhttp "github.com/floodgate/floodgate/http"
	"github.com/floodgate/floodgate/identity"
	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/queue"
	"github.com/floodgate/floodgate/sale"
	"github.com/floodgate/floodgate/store"
)

func createDropWrite(id, name string) fhttp.ForwardWrite {
	return fhttp.ForwardWrite{
		Method: "POST", URI: "/api/v1/drops", IP: "198.18.0.9", Admin: true,
		Header: http.Header{"Content-Type": {"application/json"}},
		Body:   []byte(`{"id":"` + id + `","name":"` + name + `","stock":3}`),
	}
}

// A stream's frames are taken only with their MAC under the stream's own
// key: a frame with a wrong MAC, or a good frame of another stream, closes
// the stream and runs nothing.
func TestForwardStreamChecksEveryFrame(t *testing.T) {
	st := leaderStore(t)
	leader := handlerServer(t, fhttp.Config{Store: st, Queue: queue.New(queue.Config{Store: st})})
	key := fhttp.NodeKey(handlerToken)

	good, err := fhttp.DialForwardStream(leader.URL, key)
	if err != nil {
		t.Fatal(err)
	}
	defer good.Conn.Close()
	if err := good.Send(fhttp.ForwardFrame(7, createDropWrite("lamp1", "Lamp"), createDropWrite("lamp1", "Another lamp")), good.Key); err != nil {
		t.Fatal(err)
	}
	got := map[uint64]fhttp.ForwardAnswer{}
	for len(got) < 2 {
		as, err := good.Answers()
		if err != nil {
			t.Fatalf("answers: %v", err)
		}
		for id, a := range as {
			got[id] = a
		}
	}
	if a, b := got[7], got[8]; !(a.Status == http.StatusCreated && b.Status == http.StatusConflict || a.Status == http.StatusConflict && b.Status == http.StatusCreated) {
		t.Fatalf("two creations of one drop: answers %v; want a 201 and a 409 under ids 7 and 8", got)
	}

	for name, send := range map[string]func(s *fhttp.TestStream, frame []byte) error{
		"a wrong MAC": func(s *fhttp.TestStream, frame []byte) error { return s.Send(frame, []byte("not the key")) },
		// A frame MACed for the first stream, sent into another.
		"another stream's key": func(s *fhttp.TestStream, frame []byte) error { return s.Send(frame, good.Key) },
	} {
		s, err := fhttp.DialForwardStream(leader.URL, key)
		if err != nil {
			t.Fatal(err)
		}
		if err := send(s, fhttp.ForwardFrame(0, createDropWrite("lamp2", "Lamp"))); err != nil {
			t.Fatal(err)
		}
		_ = s.Conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		if as, err := s.Answers(); !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && !strings.Contains(errString(err), "reset") {
			t.Errorf("a frame with %s: answers %v, err %v; want the stream closed", name, as, err)
		}
		s.Conn.Close()
	}
	if a := call(t, "GET", leader.URL+"/api/v1/drops/lamp2", "", ""); a.status != http.StatusNotFound {
		t.Fatalf("a refused frame's write ran: GET the drop: %d %s", a.status, a.body)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// Without the node signature there is no stream.
func TestForwardStreamNeedsTheNodeSignature(t *testing.T) {
	st := leaderStore(t)
	leader := handlerServer(t, fhttp.Config{Store: st, Queue: queue.New(queue.Config{Store: st})})
	if _, err := fhttp.DialForwardStream(leader.URL, fhttp.NodeKey("another-cluster-admin-token")); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("a stream signed with another cluster's key: err %v; want 404", err)
	}
	req, _ := http.NewRequest("POST", leader.URL+fhttp.ForwardBatchPath+"?n="+strings.Repeat("a", 32), nil)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "floodgate-forward/1")
	req.Header.Set("Authorization", "Bearer "+handlerToken)
	if a := send(t, req); a.status != http.StatusNotFound || a.code != floodgate.ENotFound {
		t.Fatalf("a stream asked for with the admin token and no node signature: %d %s; want 404", a.status, a.body)
	}
}

// followerServer is a follower of the leader at leaderURL; tune, if any,
// changes its configuration.
func followerServer(t *testing.T, leaderURL string, tune ...func(*fhttp.Config)) (*fhttp.Server, *httptest.Server) {
	t.Helper()
	st := leaderStore(t)
	cfg := fhttp.Config{Store: follower{st}, Queue: queue.New(queue.Config{Store: follower{st}}), Cluster: knownLeader{leaderURL},
		Sessions: identity.NewSessions(nil, time.Hour), AdminToken: handlerToken, Logger: slog.New(slog.DiscardHandler)}
	for _, f := range tune {
		f(&cfg)
	}
	srv := fhttp.New(cfg)
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return srv, hs
}

// Writes sent through a follower at the same time share its one stream to
// the leader, each with its own answer; with streams off they go in batch
// calls, with the same answers.
func TestFollowerForwardsThroughOneStream(t *testing.T) {
	for _, streams := range []bool{true, false} {
		t.Run("streams="+strconv.FormatBool(streams), func(t *testing.T) {
			defer fhttp.SetStreamForwarding(streams)()
			st := leaderStore(t)
			leader := handlerServer(t, fhttp.Config{Store: st, Queue: queue.New(queue.Config{Store: st})})
			srv, hs := followerServer(t, leader.URL)
			concurrentDropWrites(t, hs.URL, 40, 8)
			want := 0
			if streams {
				want = 1
			}
			if got := fhttp.ForwardStreams(srv); got != want {
				t.Fatalf("%d streams open to the leader; want %d", got, want)
			}
		})
	}
}

// A write whose stream breaks before its answer is answered 503 with
// Retry-After (it may or may not have committed; the client retries with
// its Idempotency-Key), and the next write opens a new stream.
func TestFollowerAnswers503WhenItsStreamBreaks(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var mu sync.Mutex
	opened := 0
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				if _, err := http.ReadRequest(br); err != nil {
					return
				}
				var nl [16]byte
				_, _ = rand.Read(nl[:])
				_, _ = io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: floodgate-forward/1\r\nX-Floodgate-Stream-Nonce: "+hex.EncodeToString(nl[:])+"\r\n\r\n")
				mu.Lock()
				opened++
				mu.Unlock()
				// Read the frame's length, then go away.
				var l [4]byte
				_, _ = io.ReadFull(br, l[:])
			}()
		}
	}()
	_, hs := followerServer(t, "http://"+ln.Addr().String())
	for i := range 2 {
		a := call(t, "POST", hs.URL+"/api/v1/drops", handlerToken, `{"id":"lamp","name":"Lamp","stock":3}`)
		if a.status != http.StatusServiceUnavailable || a.code != floodgate.EUnavailable || a.header.Get("Retry-After") == "" {
			t.Fatalf("write %d through a stream that breaks: %d %s; want 503 unavailable with Retry-After", i, a.status, a.body)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if opened != 2 {
		t.Fatalf("%d streams opened for two writes; want a new one after the first broke", opened)
	}
}

// handLeader listens as a leader whose streams are answered by serve; it
// counts the streams opened to it.
type handLeader struct {
	url    string
	mu     sync.Mutex
	opened int
}

func newHandLeader(t *testing.T, pings bool, serve func(l *fhttp.TestLeader)) *handLeader {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := &handLeader{url: "http://" + ln.Addr().String()}
	var conns sync.WaitGroup
	t.Cleanup(func() { ln.Close(); conns.Wait() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			t.Cleanup(func() { c.Close() })
			go func() {
				defer conns.Done()
				defer c.Close()
				l, err := fhttp.AcceptForwardStream(c, fhttp.NodeKey(handlerToken), pings)
				if err != nil {
					return
				}
				h.mu.Lock()
				h.opened++
				h.mu.Unlock()
				serve(l)
			}()
		}
	}()
	return h
}

func (h *handLeader) streams() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.opened
}

// A stream with no write waiting stays open however long it is idle, also
// to a leader that takes no pings (an older version): the next write goes
// through the same stream.
func TestFollowerKeepsAnIdleStreamOpen(t *testing.T) {
	// A follower pings after a quarter of idle: the stream survives a
	// stall of the follower's process (a loaded machine) of up to 750 ms.
	const idle = time.Second
	defer fhttp.SetStreamIdle(idle)()
	var pinged atomic.Bool
	leader := newHandLeader(t, false, func(l *fhttp.TestLeader) {
		for {
			ws, err := l.Writes()
			if err != nil {
				return
			}
			if ws == nil {
				pinged.Store(true)
			}
			for id, w := range ws {
				if err := l.Answer(id, fhttp.ForwardAnswer{Status: http.StatusCreated, Body: string(w.Body)}); err != nil {
					return
				}
			}
		}
	})
	_, hs := followerServer(t, leader.url)
	for i := range 2 {
		if i == 1 {
			time.Sleep(3 * idle) // the stream idle, several times over
		}
		body := `{"id":"lamp` + strconv.Itoa(i) + `","name":"Lamp","stock":3}`
		if a := call(t, "POST", hs.URL+"/api/v1/drops", handlerToken, body); a.status != http.StatusCreated || a.body != body {
			t.Fatalf("write %d: %d %s; want the leader's 201 and the body sent", i, a.status, a.body)
		}
	}
	if n := leader.streams(); n != 1 {
		t.Fatalf("%d streams opened for two writes with an idle time between; want one, kept open", n)
	}
	if pinged.Load() {
		t.Fatalf("the follower pinged a leader that does not take pings")
	}
}

// A write whose client goes away is answered no longer: the follower's
// handler returns while the leader still has the write. The leader's late
// answer to it goes nowhere, and the next write on the stream gets its own.
func TestFollowerGivesUpAWriteWhoseClientLeft(t *testing.T) {
	got := make(chan uint64, 2)
	release := make(chan struct{})
	leader := newHandLeader(t, true, func(l *fhttp.TestLeader) {
		var first uint64
		for n := 0; n < 2; {
			ws, err := l.Writes()
			if err != nil {
				return
			}
			for id, w := range ws {
				if n == 0 {
					first = id
				}
				n++
				got <- id
				if string(w.Body) == "second" {
					<-release
					// The first write's answer comes late, then the second's.
					_ = l.Answer(first, fhttp.ForwardAnswer{Status: http.StatusCreated, Body: "first"})
					_ = l.Answer(id, fhttp.ForwardAnswer{Status: http.StatusCreated, Body: "second"})
				}
			}
		}
		_, _ = l.Writes() // until the follower goes
	})
	srv, _ := followerServer(t, leader.url)
	returned := make(chan struct{}, 1)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		srv.ServeHTTP(w, r)
		if r.URL.Path == "/api/v1/drops" && r.Header.Get("X-Test") == "first" {
			returned <- struct{}{}
		}
	}))
	defer hs.Close()

	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "POST", hs.URL+"/api/v1/drops", strings.NewReader("first"))
	req.Header.Set("Authorization", "Bearer "+handlerToken)
	req.Header.Set("X-Test", "first")
	failed := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		failed <- err
	}()
	<-got // the leader has the first write
	cancel()
	if err := <-failed; err == nil {
		t.Fatal("the first write was answered before its client went away")
	}
	select {
	case <-returned:
	case <-time.After(20 * time.Second):
		t.Fatal("the follower still waits for the answer of a write whose client went away")
	}

	second := make(chan answer, 1)
	go func() {
		req, _ := http.NewRequest("POST", hs.URL+"/api/v1/drops", strings.NewReader("second"))
		req.Header.Set("Authorization", "Bearer "+handlerToken)
		second <- send(t, req)
	}()
	<-got
	close(release)
	if a := <-second; a.status != http.StatusCreated || a.body != "second" {
		t.Fatalf("the write after one given up: %d %q; want its own answer, 201 \"second\"", a.status, a.body)
	}
	if n := leader.streams(); n != 1 {
		t.Fatalf("%d streams opened; want the first kept", n)
	}
}

// The leader closes a stream that sends it nothing for its idle time (a
// follower gone without closing it, as in a partition); a stream whose
// follower pings lives on.
func TestLeaderClosesASilentStream(t *testing.T) {
	// A follower pings after a quarter of idle: the stream survives a
	// stall of the follower's process (a loaded machine) of up to 750 ms.
	const idle = time.Second
	defer fhttp.SetStreamIdle(idle)()
	st := leaderStore(t)
	leader := handlerServer(t, fhttp.Config{Store: st, Queue: queue.New(queue.Config{Store: st})})

	silent, err := fhttp.DialForwardStream(leader.URL, fhttp.NodeKey(handlerToken))
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Conn.Close()
	_ = silent.Conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	if as, err := silent.Answers(); !errors.Is(err, io.EOF) && !strings.Contains(errString(err), "reset") {
		t.Fatalf("a silent stream: answers %v, err %v; want it closed by the leader", as, err)
	}

	srv, hs := followerServer(t, leader.URL)
	var before any
	for i := range 2 {
		if i == 1 {
			before = fhttp.ForwardStream(srv, leader.URL)
			time.Sleep(3 * idle) // the stream idle, several times over
		}
		if a := call(t, "POST", hs.URL+"/api/v1/drops", handlerToken, `{"id":"lamp`+strconv.Itoa(i)+`","name":"Lamp","stock":3}`); a.status != http.StatusCreated {
			t.Fatalf("write %d: %d %s", i, a.status, a.body)
		}
	}
	if now := fhttp.ForwardStream(srv, leader.URL); before == nil || now != before {
		t.Fatalf("the stream after an idle time: %p, before %p; want the same one, kept open by pings", now, before)
	}
}

// A write sent through a follower gets the answer the leader gives the
// same write sent to it: status, body and headers (but Date), over the
// stream and in batches.
func TestForwardedAnswersAreTheLeaders(t *testing.T) {
	const ticket = "not-a-ticket"
	for _, streams := range []bool{true, false} {
		t.Run("streams="+strconv.FormatBool(streams), func(t *testing.T) {
			defer fhttp.SetStreamForwarding(streams)()
			st := leaderStore(t)
			// The keys, so that tickets are checked.
			if _, err := st.Apply(context.Background(), &sale.Command{Kind: sale.KindInitSecret, Now: time.Now().UnixMilli(), Secret: []byte("forward-answers-secret-32-bytes!")}); err != nil {
				t.Fatal(err)
			}
			leader := handlerServer(t, fhttp.Config{Store: st, Queue: queue.New(queue.Config{Store: st})})
			_, hs := followerServer(t, leader.URL)
			if a := call(t, "POST", leader.URL+"/api/v1/drops", handlerToken, `{"id":"lamp","name":"Lamp","stock":3}`); a.status != http.StatusCreated {
				t.Fatalf("create a drop: %d %s", a.status, a.body)
			}
			// Writes that change nothing, so that the second gets the answer
			// the first got.
			for i, w := range []struct {
				method, path, token, key, body string
			}{
				{"POST", "/api/v1/drops", handlerToken, "", `{"id":"lamp","name":"Another lamp","stock":5}`},
				{"POST", "/api/v1/drops", handlerToken, "", `{"id":`},
				{"POST", "/api/v1/drops", handlerToken, "", `{"id":"desk","name":"Desk","stock":-1}`},
				{"PATCH", "/api/v1/drops/nope", handlerToken, "", `{"stock":5}`},
				{"POST", "/api/v1/drops/lamp/holds", ticket, "", `{}`},
				{"POST", "/api/v1/holds/h1/order", ticket, "", `{"session":"s"}`},
				{"POST", "/api/v1/holds/h1/order", ticket, "k1", `{"session":"s"}`},
				{"DELETE", "/api/v1/holds/h1", ticket, "", ""},
				{"POST", "/api/v1/orders/o1/paid", handlerToken, "", `{}`},
			} {
				var as [2]answer
				for k, base := range []string{leader.URL, hs.URL} {
					req, err := http.NewRequest(w.method, base+w.path, strings.NewReader(w.body))
					if err != nil {
						t.Fatal(err)
					}
					req.Header.Set("Authorization", "Bearer "+w.token)
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("X-Request-Id", "same-"+strconv.Itoa(i))
					if w.key != "" {
						req.Header.Set("Idempotency-Key", w.key)
					}
					as[k] = send(t, req)
					as[k].header.Del("Date")
				}
				l, f := as[0], as[1]
				if f.status != l.status || f.body != l.body || !reflect.DeepEqual(f.header, l.header) {
					t.Errorf("%s %s %s:\nleader   %d %v %s\nfollower %d %v %s", w.method, w.path, w.body, l.status, l.header, l.body, f.status, f.header, f.body)
				}
			}
		})
	}
}

// A write sent through a follower without X-Request-Id is answered with
// the id the follower made for it and logged it with, and the leader logs
// the write with that id too: over the stream, in batches, and alone (a
// body too large for a batch).
func TestForwardedWriteKeepsTheFollowersRequestID(t *testing.T) {
	for _, mode := range []string{"stream", "batch", "alone"} {
		t.Run(mode, func(t *testing.T) {
			defer fhttp.SetStreamForwarding(mode == "stream")()
			debug := &slog.HandlerOptions{Level: slog.LevelDebug}
			var leaderLog, followerLog testkit.LogBuffer
			st := leaderStore(t)
			leader := handlerServer(t, fhttp.Config{Store: st, Queue: queue.New(queue.Config{Store: st}), Logger: slog.New(slog.NewTextHandler(&leaderLog, debug))})
			fst := leaderStore(t)
			fol := handlerServer(t, fhttp.Config{Store: follower{fst}, Queue: queue.New(queue.Config{Store: follower{fst}}), Cluster: knownLeader{leader.URL},
				Logger: slog.New(slog.NewTextHandler(&followerLog, debug))})
			body := `{"id":"lamp","name":"Lamp","stock":3}`
			if mode == "alone" {
				body = `{"id":"lamp","name":"Lamp","stock":3,"x":"` + strings.Repeat("x", 70<<10) + `"}`
			}
			a := call(t, "POST", fol.URL+"/api/v1/drops", handlerToken, body)
			rid := a.header.Get("X-Request-Id")
			if rid == "" {
				t.Fatalf("the answer (%d %s) has no X-Request-Id", a.status, a.body)
			}
			var logged []string
			for _, l := range strings.Split(followerLog.String(), "\n") {
				if strings.Contains(l, "msg=request ") && strings.Contains(l, "path=/api/v1/drops ") {
					logged = append(logged, l)
				}
			}
			if len(logged) != 1 || !strings.Contains(logged[0], "request_id="+rid+" ") {
				t.Fatalf("the answer's X-Request-Id is %q; the follower logged the write as:\n%s", rid, strings.Join(logged, "\n"))
			}
			if !strings.Contains(leaderLog.String(), "request_id="+rid+" ") {
				t.Fatalf("the leader did not log the write with the follower's request id %q:\n%s", rid, leaderLog.String())
			}
		})
	}
}

// movingLeader is a cluster whose leader's address the test changes.
type movingLeader struct {
	mu  sync.Mutex
	url string
}

func (*movingLeader) ClusterInfo(context.Context) (fhttp.ClusterInfo, error) {
	return fhttp.ClusterInfo{}, nil
}

func (m *movingLeader) LeaderHTTP() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.url
}

func (m *movingLeader) set(url string) {
	m.mu.Lock()
	m.url = url
	m.mu.Unlock()
}

// streamLeader serves a real store as the leader; lose makes it stop
// leading, as the store does when Raft's leadership goes.
type streamLeader struct {
	*store.Store
	lost    atomic.Bool
	changed chan struct{}
}

func (l *streamLeader) IsLeader() bool { return !l.lost.Load() && l.Store.IsLeader() }

func (l *streamLeader) LeadershipChanged() <-chan struct{} { return l.changed }

func (l *streamLeader) lose() {
	l.lost.Store(true)
	close(l.changed)
}

func newStreamLeader(t *testing.T) (*streamLeader, *fhttp.Server, string) {
	t.Helper()
	l := &streamLeader{Store: leaderStore(t), changed: make(chan struct{})}
	srv := fhttp.New(fhttp.Config{Store: l, Queue: queue.New(queue.Config{Store: l}),
		Sessions: identity.NewSessions(nil, time.Hour), AdminToken: handlerToken, Logger: slog.New(slog.DiscardHandler)})
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return l, srv, hs.URL
}

// A follower keeps a stream to the leader's address only: when the leader
// moves, its stream to the former leader is closed, on both ends, and the
// writes go through a stream to the new one.
func TestFollowerClosesTheStreamToAFormerLeader(t *testing.T) {
	_, srvA, urlA := newStreamLeader(t)
	_, srvB, urlB := newStreamLeader(t)
	cluster := &movingLeader{url: urlA}
	fst := leaderStore(t)
	fol := fhttp.New(fhttp.Config{Store: follower{fst}, Queue: queue.New(queue.Config{Store: follower{fst}}), Cluster: cluster,
		Sessions: identity.NewSessions(nil, time.Hour), AdminToken: handlerToken, Logger: slog.New(slog.DiscardHandler)})
	hs := httptest.NewServer(fol)
	defer hs.Close()

	for i, url := range []string{urlA, urlB} {
		cluster.set(url)
		if a := call(t, "POST", hs.URL+"/api/v1/drops", handlerToken, `{"id":"lamp","name":"Lamp","stock":3}`); a.status != http.StatusCreated {
			t.Fatalf("write %d: %d %s", i, a.status, a.body)
		}
	}
	if fhttp.ForwardStream(fol, urlB) == nil || fhttp.ForwardStream(fol, urlA) != nil || fhttp.ForwardStreams(fol) != 1 {
		t.Fatalf("the follower has %d streams open (to the new leader: %v, to the former: %v); want only the one to the new leader",
			fhttp.ForwardStreams(fol), fhttp.ForwardStream(fol, urlB) != nil, fhttp.ForwardStream(fol, urlA) != nil)
	}
	testkit.WaitFor(t, "the former leader to close its end of the stream", func() bool { return fhttp.LeaderStreams(srvA) == 0 })
	if n := fhttp.LeaderStreams(srvB); n != 1 {
		t.Fatalf("the new leader has %d streams open; want 1", n)
	}
}

// A leader that stops leading closes its end of every stream; the
// follower's stream is closed with it (a write on it would be answered
// 503, as on a broken stream), and a write then is refused rather than
// run by the former leader.
func TestLeaderClosesItsStreamsWhenItStopsLeading(t *testing.T) {
	l, srv, url := newStreamLeader(t)
	fol, hs := followerServer(t, url)
	if a := call(t, "POST", hs.URL+"/api/v1/drops", handlerToken, `{"id":"lamp","name":"Lamp","stock":3}`); a.status != http.StatusCreated {
		t.Fatalf("write: %d %s", a.status, a.body)
	}
	if fhttp.ForwardStreams(fol) != 1 || fhttp.LeaderStreams(srv) != 1 {
		t.Fatalf("streams open: %d on the follower, %d on the leader; want 1 and 1", fhttp.ForwardStreams(fol), fhttp.LeaderStreams(srv))
	}
	l.lose()
	testkit.WaitFor(t, "the former leader to close its end of the stream", func() bool { return fhttp.LeaderStreams(srv) == 0 })
	testkit.WaitFor(t, "the follower's stream to close", func() bool { return fhttp.ForwardStreams(fol) == 0 })
	if a := call(t, "POST", hs.URL+"/api/v1/drops", handlerToken, `{"id":"desk","name":"Desk","stock":3}`); a.status != http.StatusServiceUnavailable {
		t.Fatalf("a write through the follower to the former leader: %d %s; want 503", a.status, a.body)
	}
	if fhttp.LeaderStreams(srv) != 0 {
		t.Fatalf("the former leader opened a stream again")
	}
}

// Many writes at once through one stream: each gets its own answer, and
// the stream stays whole (a frame interleaved with another fails its MAC
// and breaks the stream, and its writes would be answered 503). Against a
// real leader, whose workers answer in the order they finish, and a hand
// leader that answers each frame's writes last first.
func TestStreamAnswersEachWriteItsOwnUnderConcurrency(t *testing.T) {
	const clients, each = 32, 8
	run := func(t *testing.T, leaderURL string, status int) {
		// Not rate limited: the writes all come from one address.
		srv, hs := followerServer(t, leaderURL, func(c *fhttp.Config) { c.RequestRate, c.RequestBurst = 1e9, 1e9 })
		if a := call(t, "POST", hs.URL+"/api/v1/drops", handlerToken, `{"id":"first","name":"First","stock":3}`); a.status != status {
			t.Fatalf("the first write: %d %s", a.status, a.body)
		}
		stream := fhttp.ForwardStream(srv, leaderURL)
		var wg sync.WaitGroup
		for c := range clients {
			wg.Go(func() {
				for i := range each {
					name := "Lamp " + strconv.Itoa(c) + "-" + strconv.Itoa(i)
					body := `{"id":"lamp` + strconv.Itoa(c) + `-` + strconv.Itoa(i) + `","name":"` + name + `","stock":3}`
					a := call(t, "POST", hs.URL+"/api/v1/drops", handlerToken, body)
					if a.status != status || !strings.Contains(a.body, `"name":"`+name+`"`) {
						t.Errorf("write %s: %d %s; want %d and its own drop", name, a.status, a.body, status)
					}
				}
			})
		}
		wg.Wait()
		if now := fhttp.ForwardStream(srv, leaderURL); stream == nil || now != stream {
			t.Fatalf("the stream after %d writes at once: %p, before %p; want the same one, whole", clients*each, now, stream)
		}
	}
	t.Run("leader", func(t *testing.T) {
		st := leaderStore(t)
		run(t, handlerServer(t, fhttp.Config{Store: st, Queue: queue.New(queue.Config{Store: st}), RequestRate: 1e9, RequestBurst: 1e9}).URL, http.StatusCreated)
	})
	t.Run("last first", func(t *testing.T) {
		leader := newHandLeader(t, true, func(l *fhttp.TestLeader) {
			for {
				ws, err := l.Writes()
				if err != nil {
					return
				}
				ids := make([]uint64, 0, len(ws))
				for id := range ws {
					ids = append(ids, id)
				}
				slices.Sort(ids)
				for _, id := range slices.Backward(ids) {
					if err := l.Answer(id, fhttp.ForwardAnswer{Status: http.StatusAccepted, Body: string(ws[id].Body)}); err != nil {
						return
					}
				}
			}
		})
		run(t, leader.url, http.StatusAccepted)
	})
}
