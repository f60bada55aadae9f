package rush

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// rawServer answers every HTTP/1.1 request on a keep-alive connection with a
// fixed answer without allocating, so that what a benchmark of the client
// measures (allocations too) is the client.
type rawServer struct {
	l      net.Listener
	answer []byte
}

func startRawServer(tb testing.TB, status int, extraHeaders, body string) *rawServer {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	s := &rawServer{l: l, answer: []byte("HTTP/1.1 " + strconv.Itoa(status) + " X\r\nContent-Type: application/json\r\n" + extraHeaders +
		"Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body)}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	tb.Cleanup(func() { l.Close() })
	return s
}

func (s *rawServer) serve(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	for {
		n := 0
		for {
			line, err := br.ReadSlice('\n')
			if err != nil {
				return
			}
			if len(line) <= 2 {
				break
			}
			if len(line) > 15 && bytes.EqualFold(line[:15], []byte("Content-Length:")) {
				n, _ = strconv.Atoi(string(bytes.TrimSpace(line[15:])))
			}
		}
		if _, err := br.Discard(n); err != nil {
			return
		}
		if _, err := c.Write(s.answer); err != nil {
			return
		}
	}
}

func (s *rawServer) url() string { return "http://" + s.l.Addr().String() }

const statusBody = `{"ticket":"","state":"waiting","position":201,"ahead":200,"eta_seconds":0.1,"beyond_stock":false,"early":false,"starts_at":"2026-11-30T03:59:00Z","available":10}`

// BenchmarkClient is the generator's cost of one request through a lane:
// the hand-off to a worker, the request, the answer. status is a queue poll,
// order an order with a JSON body and an Idempotency-Key.
func BenchmarkClient(b *testing.B) {
	const orderAnswer = `{"id":"o1","hold_id":"h1","drop":"d","customer":"c","quantity":1,"voucher":"V","status":"paid"}`
	ticket := strings.Repeat("t", 330)
	for _, bc := range []struct {
		name   string
		status int
		answer string
		call   call
	}{
		{"status", 200, statusBody, call{ep: epStatus, method: "GET", path: "/api/v1/drops/d/queue", bearer: ticket, forward: "198.18.0.1"}},
		{"order", 201, orderAnswer, call{ep: epOrder, method: "POST", path: "/api/v1/holds/h1/order", bearer: ticket, forward: "198.18.0.1", idemKey: "rush-1-2-3"}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			srv := startRawServer(b, bc.status, "", bc.answer)
			c := newClient(srv.url(), 16)
			defer c.close()
			ctx := context.Background()
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					cl := bc.call
					if cl.ep == epOrder {
						cl.body = orderBody("s.e.s.s.i.o.n") // as a buyer's order does
					}
					a := c.do(ctx, cl)
					if a.status != bc.status || (string(a.body) != bc.answer && a.queue.Position != 201) {
						b.Fatalf("answer %d %q %+v", a.status, a.body, a.queue)
					}
				}
			})
		})
	}
}

// Every request carries what a visitor's browser sends, and the answer's
// status, body and Retry-After come back.
func TestClientSendsTheVisitorsHeaders(t *testing.T) {
	got := make(chan *http.Request, 1)
	bodies := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- r
		bodies <- string(b)
		w.Header().Set("Retry-After", "3")
		w.WriteHeader(http.StatusTooManyRequests)
		w.Write([]byte(`{"error":{"code":"slow_down","message":"m"}}`))
	}))
	defer srv.Close()
	c := newClient(srv.URL+"/", 1)
	defer c.close()
	for _, tc := range []struct {
		cl          call
		contentType string
		body        string
	}{
		{call{ep: epOrder, method: "POST", path: "/api/v1/holds/h%2F1/order", body: orderBody("s1"), bearer: "tk", forward: "198.18.0.7", idemKey: "k-1"}, "application/json", `{"session":"s1"}`},
		{call{ep: epJoin, method: "POST", path: "/api/v1/drops/d/queue", forward: "198.18.0.8"}, "", ""},
		{call{ep: epAdmin, method: "POST", path: "/api/v1/drops", body: map[string]any{"id": "d"}, bearer: "admin"}, "application/json", `{"id":"d"}`},
		{call{ep: epStatus, method: "GET", path: "/api/v1/drops/d/queue?x=1", bearer: "tk"}, "", ""},
	} {
		a := c.do(context.Background(), tc.cl)
		if a.status != http.StatusTooManyRequests || a.retryAfter != 3*time.Second || a.code() != "slow_down" || a.err != nil {
			t.Errorf("%s %s: answer %d %q retry %v err %v", tc.cl.method, tc.cl.path, a.status, a.body, a.retryAfter, a.err)
		}
		r, body := <-got, <-bodies
		want := map[string]string{"Accept": "application/json", "Content-Type": tc.contentType, "Idempotency-Key": tc.cl.idemKey, "X-Forwarded-For": tc.cl.forward}
		if tc.cl.bearer != "" {
			want["Authorization"] = "Bearer " + tc.cl.bearer
		}
		for k, v := range want {
			if r.Header.Get(k) != v {
				t.Errorf("%s %s: %s %q, want %q", tc.cl.method, tc.cl.path, k, r.Header.Get(k), v)
			}
		}
		if r.Method != tc.cl.method || r.RequestURI != tc.cl.path || body != tc.body {
			t.Errorf("sent %s %s %q, want %s %s %q", r.Method, r.RequestURI, body, tc.cl.method, tc.cl.path, tc.body)
		}
	}
	if n := c.reqs.Load(); n != 4 {
		t.Errorf("%d requests counted, want 4", n)
	}
}

// A keep-alive connection the server closed while idle is not an error the
// visitor sees: the request goes again on a new connection.
func TestRedialsAfterIdleClose(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan int, 8)
	go func() {
		for n := 1; ; n++ {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted <- n
			go func(c net.Conn) {
				br := bufio.NewReader(c)
				for {
					line, err := br.ReadString('\n')
					if err != nil {
						c.Close()
						return
					}
					if line == "\r\n" {
						c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 19\r\n\r\n{\"state\":\"waiting\"}"))
						// Then close while idle, as a server's idle timeout does.
						c.Close()
						return
					}
				}
			}(c)
		}
	}()
	c := newClient("http://"+l.Addr().String(), 1)
	defer c.close()
	// A poll, and a join (a POST: not idempotent, yet nothing reached the
	// server on the closed connection).
	for i := range 4 {
		cl := call{ep: epStatus, method: "GET", path: "/x"}
		if i%2 == 1 {
			cl = call{ep: epJoin, method: "POST", path: "/x"}
		}
		a := c.do(context.Background(), cl)
		// A queue answer comes back read (send parses it), without its body.
		if a.status != 200 || a.queue.State != "waiting" || a.queueErr != nil || a.body != nil || a.err != nil {
			t.Fatalf("request %d: %d %+v (%v) body %q %v", i, a.status, a.queue, a.queueErr, a.body, a.err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := len(accepted); n != 4 {
		t.Errorf("%d connections for 4 requests, want 4 (one per request, the server closes each)", n)
	}
	if c.transportErrors() != 0 {
		t.Errorf("%d transport errors, want 0", c.transportErrors())
	}
}

func TestClientDialsTheDefaultPort(t *testing.T) {
	for base, want := range map[string]string{
		"http://localhost":       "localhost:80",
		"https://example.test/":  "example.test:443",
		"http://127.0.0.1:8080":  "127.0.0.1:8080",
		"https://[::1]:8443/sub": "[::1]:8443",
	} {
		c := newClient(base, 1)
		if c.hc.Addr != want || c.hc.IsTLS != strings.HasPrefix(base, "https:") {
			t.Errorf("%s: dials %s (TLS %v), want %s", base, c.hc.Addr, c.hc.IsTLS, want)
		}
		c.close()
	}
}

func TestJSONObject(t *testing.T) {
	for _, v := range []string{"a@b.c", `q"uo\te`, "tab\t", "한국"} {
		var got map[string]string
		if err := json.Unmarshal(jsonObject("k", v), &got); err != nil || got["k"] != v {
			t.Errorf("%q: %s (%v)", v, jsonObject("k", v), err)
		}
	}
}

// TestPacedStartsEachOnceOnTime: paced calls every index once, never more
// than width at a time, and never before its turn.
func TestPacedStartsEachOnceOnTime(t *testing.T) {
	const n, width, rate = 60, 4, 600.0
	var seen [n]atomic.Int32
	var running, most atomic.Int32
	start := time.Now()
	early := atomic.Int32{}
	paced(context.Background(), n, width, rate, func(i int) {
		if time.Since(start) < time.Duration(float64(i)/rate*float64(time.Second)) {
			early.Add(1)
		}
		r := running.Add(1)
		for m := most.Load(); r > m && !most.CompareAndSwap(m, r); m = most.Load() {
		}
		seen[i].Add(1)
		time.Sleep(5 * time.Millisecond)
		running.Add(-1)
	})
	for i := range seen {
		if c := seen[i].Load(); c != 1 {
			t.Errorf("call %d ran %d times", i, c)
		}
	}
	if m := most.Load(); m > width {
		t.Errorf("%d calls ran at once; the bound is %d", m, width)
	}
	if e := early.Load(); e > 0 {
		t.Errorf("%d calls started before their turn", e)
	}
}

// A waiting visitor's poll does not queue behind strangers' joins in the
// generator: with every worker of the joins' lane held by a slow join, a
// poll is still sent, and the joins' wait is counted in their own lane.
func TestClientJoinsHaveALaneOfTheirOwn(t *testing.T) {
	release := make(chan struct{})
	joining := make(chan struct{}, 8)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == "POST" {
			joining <- struct{}{}
			<-release
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(statusBody))
	}))
	defer srv.Close()
	defer close(release)
	c := newClient(srv.URL, 1) // one worker per lane
	defer c.close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	joins := make(chan answer, 2)
	for range 2 {
		go func() { joins <- c.do(ctx, call{ep: epJoin, method: "POST", path: "/api/v1/drops/d/queue"}) }()
	}
	<-joining // the joins' only worker is busy; the second join waits for it
	a := c.do(ctx, call{ep: epStatus, method: "GET", path: "/api/v1/drops/d/queue", bearer: "tk"})
	if a.status != 200 || a.queue.Position != 201 {
		t.Fatalf("poll while the joins' lane is full: status %d, %+v, err %v", a.status, a.queue, a.err)
	}
	if n := c.statusWait.count(); n != 1 {
		t.Errorf("%d polls counted in the status lane, want 1", n)
	}
	release <- struct{}{}
	release <- struct{}{}
	for range 2 {
		if a := <-joins; a.status != 200 {
			t.Errorf("join: status %d, err %v", a.status, a.err)
		}
	}
	if n := c.joinWait.count(); n != 2 {
		t.Errorf("%d joins counted in the joins' lane, want 2", n)
	}
}

// TestClientTimesEachLanesExchanges: every request a lane's worker sends
// is in the lane's exchanges as in its waits, with at least the time the
// server took to answer it.
func TestClientTimesEachLanesExchanges(t *testing.T) {
	const serverTime = 20 * time.Millisecond
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == "POST" {
			time.Sleep(serverTime)
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(statusBody))
	}))
	defer srv.Close()
	c := newClient(srv.URL, 2)
	defer c.close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for range 5 {
		if a := c.do(ctx, call{ep: epJoin, method: "POST", path: "/api/v1/drops/d/queue"}); a.status != 200 {
			t.Fatalf("join: status %d, err %v", a.status, a.err)
		}
	}
	for range 3 {
		if a := c.do(ctx, call{ep: epStatus, method: "GET", path: "/api/v1/drops/d/queue", bearer: "tk"}); a.status != 200 {
			t.Fatalf("poll: status %d, err %v", a.status, a.err)
		}
	}
	c.do(ctx, call{ep: epDrop, method: "GET", path: "/api/v1/drops/d"}) // no lane: in no lane's figures
	for _, l := range []struct {
		name            string
		wait, exchanges *histogram
		want            int64
		atLeast         time.Duration
	}{
		{"joins", &c.joinWait, &c.joinExchange, 5, serverTime},
		{"status", &c.statusWait, &c.statusExchange, 3, 0},
		{"buying", &c.buyWait, &c.buyExchange, 0, 0},
	} {
		if n, w := l.exchanges.count(), l.wait.count(); n != l.want || w != l.want {
			t.Errorf("%s: %d exchanges and %d waits recorded, want %d each", l.name, n, w, l.want)
		}
		if l.want == 0 {
			continue
		}
		// The mean is exact (a sum of microseconds); each exchange took
		// at least the server's time.
		least := float64(l.atLeast.Microseconds()) / 1000
		if m := l.exchanges.meanMS(); m <= 0 || m < least || m > l.exchanges.maxMS() {
			t.Errorf("%s: mean exchange %.3f ms, want above 0, at least the server's %v and at most the longest, %.3f ms", l.name, m, l.atLeast, l.exchanges.maxMS())
		}
		if p50 := l.exchanges.quantile(0.5); p50 < least || p50 > l.exchanges.quantile(0.99) {
			t.Errorf("%s: exchange p50 %.3f ms, p99 %.3f ms; want p50 at least the server's %v", l.name, p50, l.exchanges.quantile(0.99), l.atLeast)
		}
	}
}

// TestBenchAddrBlockStaysInRange: a measurement's block of addresses lies
// inside visitorAddr's ranges, and two measurements seldom share one.
func TestBenchAddrBlockStaysInRange(t *testing.T) {
	seen := map[int]bool{}
	for range 50 {
		first := benchAddrBlock(6000)
		if first%6000 != 0 {
			t.Fatalf("block starts at %d, not a multiple of its size", first)
		}
		for _, n := range []int{first, first + 5999} {
			if a := netip.MustParseAddr(visitorAddr(n)); !netip.MustParsePrefix("198.18.0.0/15").Contains(a) && !netip.MustParsePrefix("100.64.0.0/10").Contains(a) {
				t.Fatalf("visitor %d has address %s, outside the benchmark ranges", n, a)
			}
		}
		seen[first] = true
	}
	if len(seen) < 40 {
		t.Errorf("50 measurements drew only %d blocks", len(seen))
	}
}
