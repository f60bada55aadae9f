package store

import (
	"fmt"
	"net"
	"net/netip"
)

// Check refuses what Open refuses before it touches the disk, so that a
// node can say so at once: some of the TLS files without the others, and
// Raft in plain TCP on an address other nodes can reach, where anyone who
// reaches the port could read the cluster secret that signs tickets and
// sessions, and inject log entries. Loopback is fine (a single node, or
// tests); elsewhere mutual TLS is needed, or the loudly named
// InsecurePlaintext (--insecure-raft-plaintext).
func (c Config) Check() error {
	tls, err := c.TLS.on()
	if err != nil {
		return err
	}
	if tls || c.InsecurePlaintext {
		return nil // mutual TLS, or plain TCP by the operator's express choice
	}
	for _, addr := range []string{c.RaftAddr, c.AdvertiseAddr} {
		if addr == "" {
			continue
		}
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			host = addr
		}
		if host == "localhost" {
			continue
		}
		ip, err := netip.ParseAddr(host)
		if err == nil && ip.IsLoopback() {
			continue
		}
		return fmt.Errorf("the Raft address %s is not loopback and has no TLS: give every node --raft-tls-cert, --raft-tls-key and --raft-tls-ca (mutual TLS), or, on a network you fully trust, --insecure-raft-plaintext", addr)
	}
	return nil
}
