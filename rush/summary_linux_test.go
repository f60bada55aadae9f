package rush

import (
	"context"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// TestNoAnswerShowsTheKernelView: when the read after a rush gets no
// answer from a server on this machine, the error says what the kernel
// shows: nothing listens on the port, and the server process is gone.
func TestNoAnswerShowsTheKernelView(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // the server's port, closed with the server
	server := exec.Command("true")
	if err := server.Run(); err != nil {
		t.Fatal(err)
	}
	pid := server.Process.Pid
	r := &run{cfg: Config{ServerPid: pid}, c: newClient("http://"+addr, 1)}
	defer r.c.close()
	a := getAgain(context.Background(), r.c, call{ep: epAdmin, method: "GET", path: "/api/v1/drops/x"})
	if a.status != 0 {
		t.Fatalf("an answer %d from a closed port", a.status)
	}
	_, port, _ := net.SplitHostPort(addr)
	msg := r.noAnswer(a)
	for _, want := range []string{"connection refused", "kernel view: port " + port + ": nothing listens;", "process " + strconv.Itoa(pid) + " is gone"} {
		if !strings.Contains(msg, want) {
			t.Fatalf("%q lacks %q", msg, want)
		}
	}
	// An answer, even an error, is described as it came.
	if got := r.noAnswer(answer{status: 404, body: []byte(`{"error":{}}`)}); got != `HTTP 404 {"error":{}}` {
		t.Fatalf("a 404 described as %q", got)
	}
}
