package rush

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

// rawServer answers every HTTP/1.1 request on a keep-alive connection with a
// fixed answer, allocating next to nothing, so that what a benchmark of the
// client measures is the client.
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
			if k, v, ok := strings.Cut(string(line), ":"); ok && strings.EqualFold(k, "Content-Length") {
				n, _ = strconv.Atoi(strings.TrimSpace(v))
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

// BenchmarkClientStatus is the generator's cost of one queue poll through a
// lane: hand-off to a worker, the request, the answer.
func BenchmarkClientStatus(b *testing.B) {
	srv := startRawServer(b, 200, "", statusBody)
	c := newClient(srv.url(), 16)
	defer c.close()
	ctx := context.Background()
	ticket := strings.Repeat("t", 330)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			a := c.do(ctx, call{ep: epStatus, method: "GET", path: "/api/v1/drops/d/queue", bearer: ticket, forward: "198.18.0.1"})
			if a.status != 200 || len(a.body) != len(statusBody) {
				b.Fatalf("answer %d %q", a.status, a.body)
			}
		}
	})
}

// BenchmarkClientOrder is one order: a JSON body and an Idempotency-Key.
func BenchmarkClientOrder(b *testing.B) {
	srv := startRawServer(b, 201, "", `{"id":"o1","hold_id":"h1","drop":"d","customer":"c","quantity":1,"voucher":"V","status":"paid"}`)
	c := newClient(srv.url(), 16)
	defer c.close()
	ctx := context.Background()
	ticket := strings.Repeat("t", 330)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			a := c.do(ctx, call{ep: epOrder, method: "POST", path: "/api/v1/holds/h1/order", body: orderBody("s.e.s.s.i.o.n"), bearer: ticket, forward: "198.18.0.1", idemKey: "rush-1-2-3"})
			if a.status != 201 {
				b.Fatalf("answer %d %q", a.status, a.body)
			}
		}
	})
}

func TestReadAnswer(t *testing.T) {
	for _, tc := range []struct {
		name, in   string
		status     int
		body       string
		keep       bool
		retryAfter time.Duration
	}{
		{"length", "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n{}", 201, "{}", true, 0},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\nT: v\r\n\r\n", 200, "abcde", true, 0},
		{"retry after", "HTTP/1.1 429 Too Many Requests\r\nretry-after: 5\r\nContent-Length: 0\r\n\r\n", 429, "", true, 5 * time.Second},
		{"close", "HTTP/1.1 503 X\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx", 503, "x", false, 0},
		{"until close", "HTTP/1.1 200 OK\r\n\r\nall of it", 200, "all of it", false, 0},
		{"no content", "HTTP/1.1 204 No Content\r\n\r\n", 204, "", true, 0},
		{"http/1.0", "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx", 200, "x", false, 0},
	} {
		a, keep, err := readAnswer(bufio.NewReader(strings.NewReader(tc.in)))
		if err != nil || a.status != tc.status || string(a.body) != tc.body || keep != tc.keep || a.retryAfter != tc.retryAfter {
			t.Errorf("%s: status %d body %q keep %v retry %v err %v; want %d %q %v %v", tc.name, a.status, a.body, keep, a.retryAfter, err, tc.status, tc.body, tc.keep, tc.retryAfter)
		}
	}
	for _, bad := range []string{"", "HTTP/1.1 2", "SSH-2.0\r\n", "HTTP/1.1 201 X\r\nContent-Length: 5\r\n\r\nab", "HTTP/1.1 200 X\r\nContent-Length: -1\r\n\r\n"} {
		if _, _, err := readAnswer(bufio.NewReader(strings.NewReader(bad))); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// A keep-alive connection the server closed while idle is not an error the
// visitor sees: the request goes again on a new connection.
func TestRawConnRedialsAfterIdleClose(t *testing.T) {
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
						c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
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
	for i := range 3 {
		a := c.do(context.Background(), call{ep: epStatus, method: "GET", path: "/x"})
		if a.status != 200 || string(a.body) != "ok" || a.err != nil {
			t.Fatalf("request %d: %d %q %v", i, a.status, a.body, a.err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := len(accepted); n != 3 {
		t.Errorf("%d connections for 3 requests, want 3 (one per request, the server closes each)", n)
	}
	if c.transportErrors() != 0 {
		t.Errorf("%d transport errors, want 0", c.transportErrors())
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
