package systemtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/floodgate/floodgate/internal/testkit"
)

// TestRaftTLS runs a 3-node cluster with mutual TLS between the nodes: an
// order taken through a follower reaches every node, and a peer without a
// certificate from the cluster's CA cannot even finish a handshake.
func TestRaftTLS(t *testing.T) {
	dir := t.TempDir()
	caFile, certFile, keyFile := writeClusterPKI(t, dir)
	tlsArgs := []string{"--raft-tls-cert", certFile, "--raft-tls-key", keyFile, "--raft-tls-ca", caFile}
	c := testkit.StartCluster(t, 3, testkit.ClusterOptions{Node: testkit.Options{Args: tlsArgs}})
	leader := c.WaitLeader(t, nil, 15*time.Second)
	follower := (leader + 1) % 3

	createDrop(t, c.Nodes[leader], "tls", 5)
	fc := c.Nodes[follower].Client
	order := fc.MustBuy(t, "tls", "tls@example.com", "tls-order-1")

	deadline := time.Now().Add(10 * time.Second)
	for _, n := range c.Nodes {
		cl := n.Client
		for {
			found := false
			for _, o := range cl.MustOrders(t, "tls") {
				found = found || o.ID == order.ID
			}
			if found {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("order %s did not reach %s over the TLS cluster", order.ID, n.URL)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	// A peer with no client certificate is refused by the TLS handshake.
	info, err := c.Nodes[leader].ClusterInfo(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	caPEM, _ := os.ReadFile(caFile)
	pool.AppendCertsFromPEM(caPEM)
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range info.Nodes {
		host, _, _ := net.SplitHostPort(n.RaftAddr)
		// Control: with the cluster's certificate the handshake completes,
		// so the port really speaks TLS and the refusal below is its doing.
		ok, err := tls.DialWithDialer(&net.Dialer{Timeout: 3 * time.Second}, "tcp", n.RaftAddr,
			&tls.Config{RootCAs: pool, ServerName: host, Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS13})
		if err != nil {
			t.Fatalf("node %s: TLS handshake with the cluster's certificate: %v", n.ID, err)
		}
		ok.Close()
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 3 * time.Second}, "tcp", n.RaftAddr,
			&tls.Config{RootCAs: pool, ServerName: host, MinVersion: tls.VersionTLS13})
		if err == nil {
			// TLS 1.3 reports a refused client certificate on first read.
			_ = conn.SetReadDeadline(time.Now().Add(3 * time.Second))
			_, err = conn.Read(make([]byte, 1))
			conn.Close()
		}
		if err == nil {
			t.Errorf("node %s accepted a Raft connection without a client certificate", n.ID)
		}
	}
}

// writeClusterPKI writes a CA and one node certificate (valid for the
// loopback addresses the cluster harness binds Raft to) as PEM files.
func writeClusterPKI(t *testing.T, dir string) (caFile, certFile, keyFile string) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "floodgate test cluster CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	nodeKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "floodgate node"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	for i := 1; i < 255; i++ {
		tmpl.IPAddresses = append(tmpl.IPAddresses, net.IPv4(127, 0, 0, byte(i)))
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &nodeKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(nodeKey)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, typ string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	return write("ca.pem", "CERTIFICATE", caDER), write("node.pem", "CERTIFICATE", der), write("node-key.pem", "EC PRIVATE KEY", keyDER)
}
