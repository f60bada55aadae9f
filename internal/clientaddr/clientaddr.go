// Package clientaddr finds the client address of a request behind trusted
// proxies, groups addresses the way limits count them (IPv6 per /64), and
// bounds what one address may hold open: event streams and connections.
// Nodes and edges share it.
package clientaddr

import (
	"hash/maphash"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Loopback is always trusted for X-Forwarded-For: a reverse proxy on the
// same host (Caddy, nginx) is the common way to run behind TLS.
var Loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

// Trusted is a set of proxy prefixes; loopback is always in it.
type Trusted []netip.Prefix

// NewTrusted returns extra plus loopback.
func NewTrusted(extra []netip.Prefix) Trusted {
	return append(append(Trusted(nil), extra...), Loopback...)
}

// Contains reports whether ip is a trusted proxy.
func (t Trusted) Contains(ip netip.Addr) bool {
	for _, p := range t {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// Peer is the address a connection came from.
func Peer(remoteAddr string) netip.Addr {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return netip.IPv4Unspecified()
	}
	return ip.Unmap()
}

// Of is the client address of r: the peer, or when the peer is a trusted
// proxy, the rightmost address of X-Forwarded-For that is not one.
func (t Trusted) Of(r *http.Request) netip.Addr {
	ip := Peer(r.RemoteAddr)
	if !t.Contains(ip) {
		return ip
	}
	// The addresses of every X-Forwarded-For header as one comma-separated
	// list, read from the right, without building the list.
	xff := r.Header.Values("X-Forwarded-For")
	for v := len(xff) - 1; v >= 0; v-- {
		rest := xff[v]
		for {
			part := rest
			i := strings.LastIndexByte(rest, ',')
			if i >= 0 {
				part, rest = rest[i+1:], rest[:i]
			}
			a, err := netip.ParseAddr(strings.TrimSpace(part))
			if err != nil {
				return ip
			}
			a = a.Unmap()
			if !t.Contains(a) {
				return a
			}
			ip = a
			if i < 0 {
				break
			}
		}
	}
	return ip
}

// Proto is the scheme the client used: https when the connection is TLS,
// else what a trusted proxy says in X-Forwarded-Proto, else http.
func (t Trusted) Proto(r *http.Request) string {
	if r.TLS != nil {
		return "https"
	}
	if t.Contains(Peer(r.RemoteAddr)) {
		if p := strings.ToLower(strings.TrimSpace(r.Header.Get("X-Forwarded-Proto"))); p == "https" || p == "http" {
			return p
		}
	}
	return "http"
}

// Group is the unit an address is limited as: an IPv4 address, or the /64
// of an IPv6 address (one subscriber usually holds a whole /64).
func Group(ip netip.Addr) netip.Addr {
	ip = ip.Unmap()
	if ip.Is6() {
		if p, err := ip.Prefix(64); err == nil {
			return p.Addr()
		}
	}
	return ip
}

// Streams bounds the open event streams per address group, in a fixed
// table: a stream holds a connection and a goroutine for as long as the
// visitor waits, so one address must not open tens of thousands.
type Streams struct {
	max   int32
	seed  maphash.Seed
	slots []atomic.Int32
}

// streamSlots is the size of the table: 256 KiB of counters.
const streamSlots = 1 << 16

// NewStreams returns a limit of max streams per address.
func NewStreams(max int) *Streams {
	return &Streams{max: int32(max), seed: maphash.MakeSeed(), slots: make([]atomic.Int32, streamSlots)}
}

// Acquire takes a stream slot for ip; release must be called when the
// stream ends. It reports false when ip has max streams open.
func (l *Streams) Acquire(ip netip.Addr) (release func(), ok bool) {
	b := Group(ip).As16()
	slot := &l.slots[maphash.Bytes(l.seed, b[:])%streamSlots]
	if slot.Add(1) > l.max {
		slot.Add(-1)
		return nil, false
	}
	return func() { slot.Add(-1) }, true
}

// LimitListener caps the open connections per address group; a connection
// over the cap is closed at once. Trusted proxies are not capped (every
// buyer behind a reverse proxy on loopback arrives from its address).
func LimitListener(ln net.Listener, perAddr int, trusted Trusted) net.Listener {
	return &limitListener{Listener: ln, max: perAddr, trusted: trusted, open: map[netip.Addr]int{}}
}

type limitListener struct {
	net.Listener
	max     int
	trusted Trusted
	mu      sync.Mutex
	open    map[netip.Addr]int
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := Peer(c.RemoteAddr().String())
		if l.trusted.Contains(ip) {
			return c, nil
		}
		g := Group(ip)
		l.mu.Lock()
		if l.open[g] >= l.max {
			l.mu.Unlock()
			_ = c.Close()
			continue
		}
		l.open[g]++
		l.mu.Unlock()
		return &limitedConn{Conn: c, release: func() {
			l.mu.Lock()
			if l.open[g]--; l.open[g] <= 0 {
				delete(l.open, g)
			}
			l.mu.Unlock()
		}}, nil
	}
}

type limitedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// BodyTimeout is how long a client has to send a request body once its
// headers are in (DefaultBodyTimeout unless set).
const DefaultBodyTimeout = 20 * time.Second

// BodyDeadline gives every request with a body d to send it: a client that
// trickles a body byte by byte (holding a connection and a goroutine) is
// cut off. Requests without a body — event streams and long polls among
// them — get no deadline, and once the body is read the deadline is lifted,
// so a handler that takes its time is not cut off.
func BodyDeadline(next http.Handler, d time.Duration) http.Handler {
	if d <= 0 {
		d = DefaultBodyTimeout
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
			next.ServeHTTP(w, r)
			return
		}
		rc := http.NewResponseController(w)
		if rc.SetReadDeadline(time.Now().Add(d)) != nil {
			next.ServeHTTP(w, r)
			return
		}
		r.Body = &deadlineBody{ReadCloser: r.Body, rc: rc}
		next.ServeHTTP(w, r)
	})
}

type deadlineBody struct {
	io.ReadCloser
	rc   *http.ResponseController
	done bool
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF && !b.done {
		b.done = true
		_ = b.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}
