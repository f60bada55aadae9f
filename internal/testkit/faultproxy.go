package testkit

import (
	"io"
	"net"
	"sync"
	"testing"
)

// FaultProxy is a TCP proxy in front of one node's Raft port that can cut
// the node off from its peers. It tells the peers apart by the source IP of
// their connections: every cluster node binds Raft to its own loopback IP
// (127.0.0.11, .12, …) and dials from it.
type FaultProxy struct {
	Addr   string // where peers connect (the node's --raft-advertise)
	target string

	ln      net.Listener
	mu      sync.Mutex
	down    bool            // refuse everyone
	blocked map[string]bool // source IPs refused
	conns   map[net.Conn]string
	closed  bool
}

// StartFaultProxy listens on a free loopback port and forwards to target.
func StartFaultProxy(tb testing.TB, target string) *FaultProxy {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("testkit: fault proxy: %v", err)
	}
	p := &FaultProxy{Addr: ln.Addr().String(), target: target, ln: ln, blocked: map[string]bool{}, conns: map[net.Conn]string{}}
	go p.serve()
	tb.Cleanup(p.Close)
	return p
}

func (p *FaultProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		src, _, _ := net.SplitHostPort(c.RemoteAddr().String())
		p.mu.Lock()
		refuse := p.closed || p.down || p.blocked[src]
		if !refuse {
			p.conns[c] = src
		}
		p.mu.Unlock()
		if refuse {
			c.Close()
			continue
		}
		go p.pipe(c, src)
	}
}

func (p *FaultProxy) pipe(c net.Conn, src string) {
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		p.drop(c)
		return
	}
	p.mu.Lock()
	if _, ok := p.conns[c]; !ok { // cut while dialing
		p.mu.Unlock()
		up.Close()
		c.Close()
		return
	}
	p.conns[up] = src
	p.mu.Unlock()
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(up, c); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, up); done <- struct{}{} }()
	<-done
	p.drop(c)
	p.drop(up)
}

func (p *FaultProxy) drop(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	c.Close()
}

// SetDown refuses (true) or accepts (false) every peer; refusing also cuts
// the open connections.
func (p *FaultProxy) SetDown(down bool) {
	p.mu.Lock()
	p.down = down
	p.mu.Unlock()
	if down {
		p.cut(func(string) bool { return true })
	}
}

// Block refuses connections from the node whose Raft IP is ip, and cuts
// the open ones.
func (p *FaultProxy) Block(ip string) {
	p.mu.Lock()
	p.blocked[ip] = true
	p.mu.Unlock()
	p.cut(func(src string) bool { return src == ip })
}

// Heal accepts every peer again.
func (p *FaultProxy) Heal() {
	p.mu.Lock()
	p.down = false
	clear(p.blocked)
	p.mu.Unlock()
}

func (p *FaultProxy) cut(match func(src string) bool) {
	p.mu.Lock()
	var victims []net.Conn
	for c, src := range p.conns {
		if match(src) {
			victims = append(victims, c)
			delete(p.conns, c)
		}
	}
	p.mu.Unlock()
	for _, c := range victims {
		c.Close()
	}
}

// Close stops the proxy and cuts every connection.
func (p *FaultProxy) Close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.ln.Close()
	p.cut(func(string) bool { return true })
}
