package clientaddr

import (
	"errors"
	"net"
	"sync"
	"time"
)

// IdleTimeout is how long the servers keep a connection that sends no
// request: between two requests (http.Server's IdleTimeout) and, through
// WaitFirstByte, before the first.
const IdleTimeout = 120 * time.Second

// Listener is what nodes and edges serve on: open connections capped per
// address (LimitListener), each handed to the server at its first byte
// (WaitFirstByte). The cap sits inside the wait, so connections still
// waiting for their first byte count against it.
func Listener(ln net.Listener, perAddr int, trusted Trusted) net.Listener {
	return WaitFirstByte(LimitListener(ln, perAddr, trusted), IdleTimeout)
}

// WaitFirstByte hands a connection to the server only once the client has
// sent its first byte, and closes one that sends nothing for wait.
//
// net/http gives a new connection ReadHeaderTimeout (10 s here) from the
// moment it is accepted, but a connection between two requests the idle
// timeout (120 s), counted until the next request's first byte. Clients
// open connections ahead of need: an HTTP client pool under load dials
// more than it uses at once, a browser preconnects. When the server closes
// such an unused connection after 10 s, a client that sends on it in that
// moment gets no answer, and most clients do not send a POST again (Go's
// gives "EOF" or "server closed idle connection"): buyers behind one
// address lost joins and holds that way. With this wrapper a connection
// waits for its first request as long as between two requests, and the
// header timeout still cuts off a client that trickles the request itself.
//
// A connection waiting for its first byte holds a goroutine and a file;
// LimitListener, inside this wrapper, caps them per address.
func WaitFirstByte(ln net.Listener, wait time.Duration) net.Listener {
	w := &firstByteListener{Listener: ln, wait: wait, ready: make(chan net.Conn), errs: make(chan error), done: make(chan struct{}), waiting: map[net.Conn]struct{}{}}
	go w.acceptLoop()
	return w
}

type firstByteListener struct {
	net.Listener
	wait  time.Duration
	ready chan net.Conn
	errs  chan error
	done  chan struct{}
	once  sync.Once

	mu      sync.Mutex
	waiting map[net.Conn]struct{} // closed by Close; nil once closed
}

func (l *firstByteListener) acceptLoop() {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			select {
			case l.errs <- err:
			case <-l.done:
				return
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		l.mu.Lock()
		if l.waiting == nil {
			l.mu.Unlock()
			_ = c.Close()
			return
		}
		l.waiting[c] = struct{}{}
		l.mu.Unlock()
		go l.awaitFirstByte(c)
	}
}

func (l *firstByteListener) awaitFirstByte(c net.Conn) {
	defer func() {
		l.mu.Lock()
		if l.waiting != nil {
			delete(l.waiting, c)
		}
		l.mu.Unlock()
	}()
	var b [1]byte
	if c.SetReadDeadline(time.Now().Add(l.wait)) != nil {
		_ = c.Close()
		return
	}
	if n, _ := c.Read(b[:]); n == 0 {
		// Nothing within wait, the client went away, or the listener closed.
		_ = c.Close()
		return
	}
	if c.SetReadDeadline(time.Time{}) != nil {
		_ = c.Close()
		return
	}
	select {
	case l.ready <- &firstByteConn{Conn: c, first: b[0], pending: true}:
	case <-l.done:
		_ = c.Close()
	}
}

// Accept returns the next connection whose client has begun to send.
func (l *firstByteListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ready:
		return c, nil
	case err := <-l.errs:
		return nil, err
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Close stops accepting; connections still waiting for their first byte
// are closed.
func (l *firstByteListener) Close() error {
	err := l.Listener.Close()
	l.once.Do(func() {
		close(l.done)
		l.mu.Lock()
		for c := range l.waiting {
			_ = c.Close()
		}
		l.waiting = nil
		l.mu.Unlock()
	})
	return err
}

// firstByteConn gives back the byte read ahead before the rest.
type firstByteConn struct {
	net.Conn
	first   byte
	pending bool
}

func (c *firstByteConn) Read(p []byte) (int, error) {
	if c.pending && len(p) > 0 {
		c.pending = false
		p[0] = c.first
		return 1, nil
	}
	return c.Conn.Read(p)
}
