package clientaddr

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// TestLimitListener: an address gets at most max open connections; closing
// one frees a place; trusted proxies are not capped.
func TestLimitListener(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for _, tc := range []struct {
		name    string
		trusted Trusted
		max     int
		want    int
	}{
		{"untrusted", Trusted{}, 2, 2},
		{"trusted proxy", NewTrusted(nil), 2, 4},
	} {
		ln := LimitListener(raw, tc.max, tc.trusted)
		accepted := make(chan net.Conn, 8)
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				accepted <- c
			}
		}()
		var clients []net.Conn
		for range 4 {
			c, err := net.Dial("tcp", raw.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			clients = append(clients, c)
		}
		got := 0
		timeout := time.After(time.Second)
	wait:
		for {
			select {
			case c := <-accepted:
				got++
				defer c.Close()
			case <-timeout:
				break wait
			}
		}
		if got != tc.want {
			t.Errorf("%s: %d connections accepted from one address, want %d", tc.name, got, tc.want)
		}
		// Refused connections are closed at once.
		if tc.want < 4 {
			_ = clients[3].SetReadDeadline(time.Now().Add(2 * time.Second))
			if _, err := clients[3].Read(make([]byte, 1)); err != io.EOF && !strings.Contains(err.Error(), "reset") {
				t.Errorf("%s: a connection over the cap was not closed: %v", tc.name, err)
			}
		}
		for _, c := range clients {
			c.Close()
		}
		raw.Close()
		raw, _ = net.Listen("tcp", "127.0.0.1:0")
	}
}

// TestProto: X-Forwarded-Proto counts only from a trusted proxy.
func TestProto(t *testing.T) {
	tr := NewTrusted(nil)
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("X-Forwarded-Proto", "https")
	r.RemoteAddr = "127.0.0.1:5555"
	if tr.Proto(r) != "https" {
		t.Error("a loopback proxy's X-Forwarded-Proto: https was ignored")
	}
	r.RemoteAddr = "203.0.113.5:5555"
	if tr.Proto(r) != "http" {
		t.Error("a client's own X-Forwarded-Proto was believed")
	}
}

// TestClientAddress: the rightmost untrusted address of X-Forwarded-For,
// and only behind a trusted proxy; IPv6 grouped per /64.
func TestClientAddress(t *testing.T) {
	tr := NewTrusted([]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")})
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "127.0.0.1:1"
	r.Header.Set("X-Forwarded-For", "198.51.100.1, 203.0.113.9, 10.1.1.1")
	if got := tr.Of(r); got != netip.MustParseAddr("203.0.113.9") {
		t.Errorf("behind two trusted proxies: %s", got)
	}
	r.RemoteAddr = "203.0.113.50:1"
	if got := tr.Of(r); got != netip.MustParseAddr("203.0.113.50") {
		t.Errorf("an untrusted peer's X-Forwarded-For was believed: %s", got)
	}
	if Group(netip.MustParseAddr("2001:db8:1:2:3:4:5:6")) != netip.MustParseAddr("2001:db8:1:2::") {
		t.Error("IPv6 not grouped by /64")
	}
}

// TestBodyDeadline: a client that trickles its body is cut off; one that
// sends it promptly and then waits for a slow handler is not; a request
// without a body (an event stream) has no deadline.
func TestBodyDeadline(t *testing.T) {
	h := BodyDeadline(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err != nil {
			http.Error(w, "slow body", http.StatusBadRequest)
			return
		}
		time.Sleep(400 * time.Millisecond) // a slow handler after the body
		_, _ = io.WriteString(w, "ok")
	}), 300*time.Millisecond)
	srv := httptest.NewServer(h)
	defer srv.Close()
	c, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, _ = io.WriteString(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab")
	start := time.Now()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err == nil {
		resp.Body.Close()
	}
	if time.Since(start) > 4*time.Second {
		t.Fatal("a trickled body kept the connection open")
	}
	if err == nil && resp.StatusCode == http.StatusOK {
		t.Fatal("a trickled body was answered 200")
	}
	resp2, err := http.Post(srv.URL, "text/plain", strings.NewReader("0123456789"))
	if err != nil || resp2.StatusCode != http.StatusOK {
		t.Fatalf("a prompt body with a slow handler: %v %v", resp2, err)
	}
	resp2.Body.Close()
	resp3, err := http.Get(srv.URL)
	if err != nil || resp3.StatusCode != http.StatusOK {
		t.Fatalf("a request without a body: %v %v", resp3, err)
	}
	resp3.Body.Close()
}

// TestClientAddressAsTheJoinedList: Of reads several X-Forwarded-For
// headers as the one comma-separated list they stand for, as the
// split of their join does, for every mix of trusted, untrusted, mapped,
// malformed and empty entries.
func TestClientAddressAsTheJoinedList(t *testing.T) {
	tr := NewTrusted([]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")})
	joined := func(r *http.Request) netip.Addr {
		ip := Peer(r.RemoteAddr)
		if !tr.Contains(ip) {
			return ip
		}
		parts := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
		for i := len(parts) - 1; i >= 0; i-- {
			a, err := netip.ParseAddr(strings.TrimSpace(parts[i]))
			if err != nil {
				break
			}
			a = a.Unmap()
			if !tr.Contains(a) {
				return a
			}
			ip = a
		}
		return ip
	}
	entries := []string{"10.1.1.1", " 10.2.2.2 ", "198.51.100.1", "::ffff:10.3.3.3", "::ffff:203.0.113.7", "2001:db8::1", "junk", "", " "}
	rnd := uint64(1)
	next := func(n int) int {
		rnd = rnd*6364136223846793005 + 1442695040888963407
		return int(rnd>>33) % n
	}
	for range 20000 {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = []string{"127.0.0.1:1", "10.9.9.9:2", "203.0.113.50:3"}[next(3)]
		for range next(4) {
			var parts []string
			for range 1 + next(3) {
				parts = append(parts, entries[next(len(entries))])
			}
			r.Header.Add("X-Forwarded-For", strings.Join(parts, ","))
		}
		if got, want := tr.Of(r), joined(r); got != want {
			t.Fatalf("peer %s, X-Forwarded-For %q: %s, want %s", r.RemoteAddr, r.Header.Values("X-Forwarded-For"), got, want)
		}
	}
}
