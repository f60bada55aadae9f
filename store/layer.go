package store

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/hashicorp/raft"
)

// LayerConfig configures the network layer between cluster nodes.
type LayerConfig struct {
	// Bind is the address to listen on (host:port).
	Bind string
	// Advertise is the address other nodes reach this one at; Bind when
	// empty (Bind must then name a specific host).
	Advertise string
	TLSFiles
}

// TLSFiles turn on mutual TLS between nodes: this node presents CertFile
// (with its KeyFile) and accepts only peers whose certificate the CA of
// CAFile signed. All three or none; none is plain TCP.
type TLSFiles struct {
	CertFile, KeyFile, CAFile string
}

// Layer is a raft.StreamLayer over TCP, optionally with mutual TLS.
//
// Outgoing connections leave from the host of the bind address when it is a
// specific IP: on a host with several interfaces, peers (and their
// firewalls) then see the same address this node listens on, not whatever
// the routing table picks.
type Layer struct {
	ln        net.Listener
	advertise net.Addr
	dialer    net.Dialer
	tls       *tls.Config // nil: plain TCP
}

var _ raft.StreamLayer = (*Layer)(nil)

// NewLayer listens on cfg.Bind and returns the layer.
func NewLayer(cfg LayerConfig) (*Layer, error) {
	var tc *tls.Config
	on, err := cfg.TLSFiles.on()
	if err != nil {
		return nil, err
	}
	if on {
		if tc, err = mutualTLS(cfg.CertFile, cfg.KeyFile, cfg.CAFile); err != nil {
			return nil, err
		}
	}
	ln, err := net.Listen("tcp", cfg.Bind)
	if err != nil {
		return nil, fmt.Errorf("listen for raft on %s: %w", cfg.Bind, err)
	}
	l := &Layer{ln: ln, tls: tc}
	if host, _, err := net.SplitHostPort(cfg.Bind); err == nil {
		if ip := net.ParseIP(host); ip != nil && !ip.IsUnspecified() {
			l.dialer.LocalAddr = &net.TCPAddr{IP: ip}
		}
	}
	adv, err := resolveAdvertise(cfg.Bind, cfg.Advertise)
	if err != nil {
		ln.Close()
		return nil, err
	}
	if adv == nil {
		adv = ln.Addr()
	}
	l.advertise = adv
	return l, nil
}

// on reports whether the files turn TLS on; some of them without the
// others is an error.
func (f TLSFiles) on() (bool, error) {
	switch n := countSet(f.CertFile, f.KeyFile, f.CAFile); n {
	case 0:
		return false, nil
	case 3:
		return true, nil
	}
	return false, errors.New("TLS between nodes needs all three of --raft-tls-cert, --raft-tls-key and --raft-tls-ca")
}

func countSet(ss ...string) int {
	n := 0
	for _, s := range ss {
		if s != "" {
			n++
		}
	}
	return n
}

// mutualTLS builds a TLS configuration in which both sides present a
// certificate signed by the cluster's CA and check the other's.
func mutualTLS(certFile, keyFile, caFile string) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("load the node certificate (--raft-tls-cert %s, --raft-tls-key %s): %w", certFile, keyFile, err)
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("read --raft-tls-ca: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("--raft-tls-ca %s holds no PEM certificate", caFile)
	}
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		RootCAs:      pool,
		ClientCAs:    pool,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		MinVersion:   tls.VersionTLS13,
	}, nil
}

// Accept waits for the next connection from a peer.
func (l *Layer) Accept() (net.Conn, error) {
	c, err := l.ln.Accept()
	if err != nil || l.tls == nil {
		return c, err
	}
	return tls.Server(c, l.tls), nil
}

// Close stops listening.
func (l *Layer) Close() error { return l.ln.Close() }

// Addr is the address other nodes reach this one at.
func (l *Layer) Addr() net.Addr { return l.advertise }

// Dial connects to a peer.
func (l *Layer) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	d := l.dialer
	d.Timeout = timeout
	if l.tls == nil {
		return d.Dial("tcp", string(address))
	}
	host, _, err := net.SplitHostPort(string(address))
	if err != nil {
		return nil, err
	}
	tc := l.tls.Clone()
	tc.ServerName = host
	td := tls.Dialer{NetDialer: &d, Config: tc}
	return td.Dial("tcp", string(address))
}
