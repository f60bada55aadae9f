package store

import (
	"fmt"
	"log/slog"
	"net"
	"net/netip"
)

// CheckPlaintext refuses to run Raft in plain TCP on an address other
// nodes can reach: anyone who reaches the port could read the cluster
// secret that signs tickets and sessions, and inject log entries. Loopback
// is fine (a single node, or tests); elsewhere mutual TLS is needed, or the
// loudly named --insecure-raft-plaintext.
func CheckPlaintext(bind, advertise, cert string, insecure bool) error {
	if cert != "" || insecure {
		if cert == "" {
			slog.Warn("Raft runs in plain TCP on a network address (--insecure-raft-plaintext): anyone who reaches it can read the cluster secret and write to the log")
		}
		return nil
	}
	for _, addr := range []string{bind, advertise} {
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
