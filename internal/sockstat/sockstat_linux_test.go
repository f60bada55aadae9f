package sockstat

import (
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// TestDescribeSeesAListenerAndItsEnd: a real listener of this process shows
// as listening and held by it, its connection at both ends; once it is
// closed, nothing listens and the process holds no listener; a process that
// ended is gone.
func TestDescribeSeesAListenerAndItsEnd(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := uint16(ln.Addr().(*net.TCPAddr).Port)
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	got := Describe(port, os.Getpid())
	for _, want := range []string{
		ln.Addr().String() + " listens (inode ",
		"at the server's end: ESTABLISHED 1;",
		"at clients' ends: ESTABLISHED 1",
		"process " + strconv.Itoa(os.Getpid()) + ": state ",
		"holds the listener",
	} {
		if !strings.Contains(got, want) {
			t.Fatalf("%q lacks %q", got, want)
		}
	}
	p, err := Process(os.Getpid())
	if err != nil || p.Files < 5 || len(p.Sockets) < 3 {
		t.Fatalf("this process: %+v, %v", p, err)
	}

	ln.Close()
	got = Describe(port, os.Getpid())
	if !strings.Contains(got, "port "+strconv.Itoa(int(port))+": nothing listens;") || !strings.Contains(got, "holds no listener of the port") {
		t.Fatalf("after the listener closed: %s", got)
	}

	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	if got := Describe(port, cmd.Process.Pid); !strings.HasSuffix(got, "process "+strconv.Itoa(cmd.Process.Pid)+" is gone") {
		t.Fatalf("an ended process: %s", got)
	}
}
