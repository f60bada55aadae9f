package store

import (
	"os"
	"strings"
	"testing"
)

// TestCheckRefusesPlaintextOffLoopback: Raft in plain TCP on a network
// address is refused unless InsecurePlaintext says so; on loopback or with
// TLS it is fine; some of the TLS files without the others are refused.
// Open refuses the same before it writes anything.
func TestCheckRefusesPlaintextOffLoopback(t *testing.T) {
	tls := TLSFiles{CertFile: "c.pem", KeyFile: "k.pem", CAFile: "ca.pem"}
	for _, c := range []struct {
		cfg  Config
		want string // in the error; "" for none
	}{
		{Config{RaftAddr: "127.0.0.1:7000"}, ""},
		{Config{RaftAddr: "localhost:7000"}, ""},
		{Config{RaftAddr: "[::1]:7000"}, ""},
		{Config{RaftAddr: "10.0.0.5:7000"}, "--insecure-raft-plaintext"},
		{Config{RaftAddr: "0.0.0.0:7000"}, "--insecure-raft-plaintext"},
		{Config{RaftAddr: "[::]:7000"}, "--insecure-raft-plaintext"},
		{Config{RaftAddr: "127.0.0.1:0", AdvertiseAddr: "10.0.0.5:7000"}, "10.0.0.5:7000 is not loopback"},
		{Config{RaftAddr: "10.0.0.5:7000", InsecurePlaintext: true}, ""},
		{Config{RaftAddr: "10.0.0.5:7000", TLS: tls}, ""},
		{Config{RaftAddr: "127.0.0.1:7000", TLS: TLSFiles{CertFile: "c.pem"}}, "all three"},
	} {
		err := c.cfg.Check()
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%+v: err = %v; want %q", c.cfg, err, c.want)
		}
	}
	dir := t.TempDir()
	if _, err := Open(Config{Dir: dir, RaftAddr: "10.0.0.5:7000", Logger: quietLogger()}); err == nil {
		t.Fatal("Open took plain TCP off loopback")
	}
	if entries, _ := os.ReadDir(dir); len(entries) > 0 {
		t.Errorf("the refused Open wrote %d files into the data dir", len(entries))
	}
}
