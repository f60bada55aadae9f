package http_test

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/floodgate/floodgate"
	fhttp "github.com/floodgate/floodgate/http"
	"github.com/floodgate/floodgate/identity"
	"github.com/floodgate/floodgate/queue"
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

func followerServer(t *testing.T, leaderURL string) (*fhttp.Server, *httptest.Server) {
	t.Helper()
	st := leaderStore(t)
	srv := fhttp.New(fhttp.Config{Store: follower{st}, Queue: queue.New(queue.Config{Store: follower{st}}), Cluster: knownLeader{leaderURL},
		Sessions: identity.NewSessions(nil, time.Hour), AdminToken: handlerToken, Logger: slog.New(slog.DiscardHandler)})
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
