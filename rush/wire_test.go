package rush

import (
	"bufio"
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

// scriptServer answers the n-th request it reads, on whatever connection,
// with the n-th of its answers, then closes that connection when the
// answer says so; it counts the connections it accepted.
func scriptServer(t *testing.T, answers []string) (url string, conns func() int) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	next := make(chan string, len(answers))
	for _, a := range answers {
		next <- a
	}
	accepted := make(chan struct{}, 64)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted <- struct{}{}
			go func(c net.Conn) {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					n := 0
					for {
						line, err := br.ReadString('\n')
						if err != nil {
							return
						}
						if line == "\r\n" {
							break
						}
						if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(k, "Content-Length") {
							n, _ = strconv.Atoi(strings.TrimSpace(v))
						}
					}
					if _, err := br.Discard(n); err != nil {
						return
					}
					a := <-next
					c.Write([]byte(a))
					if strings.Contains(a, "Connection: close") || !strings.Contains(a, "Content-Length") && !strings.Contains(a, "chunked") && !strings.HasPrefix(a, "HTTP/1.1 204") {
						return
					}
				}
			}(c)
		}
	}()
	return "http://" + l.Addr().String(), func() int { return len(accepted) }
}

// A lane worker reads every shape of answer HTTP/1.1 allows: a length,
// chunks (with an extension and a trailer), a body ended by the
// connection, no body, a connection the server closes after the answer;
// and a malformed answer is a transport error, not an answer.
func TestWireReadsEveryShapeOfAnswer(t *testing.T) {
	url, conns := scriptServer(t, []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n{\"a\":1}",
		"HTTP/1.1 429 Too Many Requests\r\nretry-after:  2 \r\nTransfer-Encoding: chunked\r\n\r\n4;x=y\r\n{\"er\r\n1a\r\nror\":{\"code\":\"slow_down\"}}\r\n0\r\nX-T: 1\r\n\r\n",
		"HTTP/1.1 204 No Content\r\n\r\n",
		"HTTP/1.1 409 Conflict\r\nContent-Length: 34\r\nConnection: close\r\n\r\n{\"error\":{\"code\":\"hold_expired\"}}\n",
		"HTTP/1.1 201 Created\r\n\r\n{\"id\":\"o\"}",
		"HTTP/1.1 2x0 Nope\r\nContent-Length: 0\r\n\r\n",
	})
	c := newClient(url, 1)
	defer c.close()
	ctx := context.Background()
	order := call{ep: epOrder, method: "POST", path: "/o", body: orderBody("s"), bearer: "t", idemKey: "k"}
	for i, want := range []struct {
		status int
		body   string
		retry  time.Duration
	}{
		{200, `{"a":1}`, 0},
		{429, `{"error":{"code":"slow_down"}}`, 2 * time.Second},
		{204, "", 0},
		{409, "{\"error\":{\"code\":\"hold_expired\"}}\n", 0},
		{201, `{"id":"o"}`, 0},
		{0, "", 0},
	} {
		a := c.do(ctx, order)
		if a.status != want.status || string(a.body) != want.body || a.retryAfter != want.retry {
			t.Errorf("answer %d: %d %q retry %v (err %v), want %d %q retry %v", i+1, a.status, a.body, a.retryAfter, a.err, want.status, want.body, want.retry)
		}
		if (want.status == 0) != (a.err != nil) {
			t.Errorf("answer %d: err %v", i+1, a.err)
		}
	}
	// One connection for the first four (the fourth closes it), one for
	// the fifth (ended by closing), one for the malformed sixth.
	if n := conns(); n != 3 {
		t.Errorf("%d connections, want 3", n)
	}
	if n := c.transportErrors(); n != 1 {
		t.Errorf("%d transport errors, want 1", n)
	}
}

// A request that runs into the rush's end is not a failed request.
func TestWireStopsAtTheRushEnd(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close() // never answers
		}
	}()
	c := newClient("http://"+l.Addr().String(), 1)
	defer c.close()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	a := c.do(ctx, call{ep: epStatus, method: "GET", path: "/q", bearer: "t"})
	if a.status != 0 || a.err != context.DeadlineExceeded {
		t.Errorf("answer %d, err %v; want none, %v", a.status, a.err, context.DeadlineExceeded)
	}
	if n := c.transportErrors(); n != 0 {
		t.Errorf("%d transport errors, want 0", n)
	}
}
