package clientaddr_test

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/floodgate/floodgate/internal/clientaddr"
)

// serveHeaderTimeout serves ok over ln with a short header timeout, as
// floodgate's server has a 10 s one.
func serveHeaderTimeout(t *testing.T, ln net.Listener) {
	srv := &http.Server{
		Handler:           http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") }),
		ReadHeaderTimeout: 200 * time.Millisecond,
		IdleTimeout:       5 * time.Second,
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
}

// lateRequest opens a connection, sends nothing for idle, then a request,
// and returns the answer's status or the error.
func lateRequest(t *testing.T, addr string, idle time.Duration) (int, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	time.Sleep(idle)
	if _, err := io.WriteString(c, "POST /hold HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"); err != nil {
		return 0, err
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// TestFirstRequestWaitsAsLongAsTheNext: a connection opened ahead of its
// first request is not closed at the header timeout — the request sent on
// it later is answered — while a plain listener closes it unanswered (the
// "EOF" that buyers behind one address saw on joins and holds).
func TestFirstRequestWaitsAsLongAsTheNext(t *testing.T) {
	plain, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	serveHeaderTimeout(t, plain)
	if code, err := lateRequest(t, plain.Addr().String(), 600*time.Millisecond); err == nil {
		t.Fatalf("a plain listener answered %d to a request sent after its header timeout; the test no longer shows the problem", code)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	serveHeaderTimeout(t, clientaddr.WaitFirstByte(ln, 3*time.Second))
	if code, err := lateRequest(t, ln.Addr().String(), 600*time.Millisecond); err != nil || code != http.StatusOK {
		t.Fatalf("a request sent 600 ms after connecting: %d %v; want 200", code, err)
	}
	// A client that trickles its request is still cut off by the header
	// timeout once it has begun.
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, "GE"); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
	start := time.Now()
	if _, err := io.ReadAll(c); err != nil || time.Since(start) > 2*time.Second {
		t.Fatalf("a trickled request: %v after %v; want the server to end it at its header timeout", err, time.Since(start))
	}
}

// TestSilentConnectionClosedAfterTheWait: a connection that never sends is
// closed after the wait, and closing the listener closes the ones waiting.
func TestSilentConnectionClosedAfterTheWait(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w := clientaddr.WaitFirstByte(ln, 300*time.Millisecond)
	serveHeaderTimeout(t, w)
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
	start := time.Now()
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, io.EOF) || time.Since(start) > 2*time.Second {
		t.Fatalf("a silent connection: %v after %v; want it closed after the 300 ms wait", err, time.Since(start))
	}

	ln2, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w2 := clientaddr.WaitFirstByte(ln2, time.Minute)
	c2, err := net.Dial("tcp", ln2.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	time.Sleep(100 * time.Millisecond) // accepted, waiting for its first byte
	_ = w2.Close()
	_ = c2.SetReadDeadline(time.Now().Add(3 * time.Second))
	if _, err := c2.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Fatalf("a connection waiting when the listener closed: %v; want it closed", err)
	}
	if _, err := w2.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept after Close: %v; want net.ErrClosed", err)
	}
}
