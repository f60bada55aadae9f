package testkit

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"
)

// process is one floodgate child process (a serve node or an edge) whose
// output goes to a log file. Node and Edge embed it, so that starting,
// waiting for /healthz and killing work the same for both.
type process struct {
	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	// endedAt is when the process ended; set before exited closes.
	endedAt time.Time
}

// run starts bin with args (and env added to the environment), its output
// appended to logf, which is closed when the process ends. The caller holds
// p.mu.
func (p *process) run(bin string, args, env []string, logf *os.File) error {
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if len(env) > 0 {
		cmd.Env = append(os.Environ(), env...)
	}
	if err := startChild(cmd); err != nil {
		logf.Close()
		return fmt.Errorf("start %s: %w", bin, err)
	}
	exited := make(chan struct{})
	p.cmd, p.exited = cmd, exited
	go func() {
		_ = cmd.Wait()
		logf.Close()
		p.endedAt = time.Now()
		close(exited)
	}()
	return nil
}

// PID returns the process id of the running process (0 when stopped).
func (p *process) PID() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || p.cmd.Process == nil {
		return 0
	}
	select {
	case <-p.exited:
		return 0
	default:
	}
	return p.cmd.Process.Pid
}

// Running reports whether the process is alive.
func (p *process) Running() bool { return p.PID() != 0 }

// Kill sends SIGKILL, as a power cut would, and waits for the process to
// be gone. It does nothing when the process is not running.
func (p *process) Kill() { p.signal(syscall.SIGKILL, 0) }

// processState says whether the process still runs, or how it ended (a
// test that fails because its process vanished shows the signal here).
func (p *process) processState() string {
	p.mu.Lock()
	cmd, exited := p.cmd, p.exited
	p.mu.Unlock()
	if cmd == nil {
		return "never started"
	}
	select {
	case <-exited:
		// The time, to set against the log's and the test's: a process
		// killed (SIGKILL) before the test ended was not killed by it.
		return "exited at " + p.endedAt.UTC().Format("2006-01-02T15:04:05.000Z") + ": " + cmd.ProcessState.String()
	default:
		return "running"
	}
}

// signal sends sig and waits for the process to end; after grace (when
// positive) it kills it.
func (p *process) signal(sig syscall.Signal, grace time.Duration) {
	p.mu.Lock()
	cmd, exited := p.cmd, p.exited
	p.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return
	}
	select {
	case <-exited:
		return
	default:
	}
	_ = cmd.Process.Signal(sig)
	if grace > 0 {
		select {
		case <-exited:
			return
		case <-time.After(grace):
			_ = cmd.Process.Kill()
		}
	}
	<-exited
}

// waitHealthy polls GET /healthz through c until it answers 200. It gives
// up when exited closes (the process is gone) or after timeout; what names
// the process in the error.
func waitHealthy(c *Client, what string, timeout time.Duration, exited <-chan struct{}) error {
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		resp, err := c.Do(ctx, http.MethodGet, "/healthz", nil, nil)
		cancel()
		status := 0
		if resp != nil {
			status = resp.Status
		}
		if err == nil && status == http.StatusOK {
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("%s exited before it was healthy", what)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s was not healthy within %v (last: status %d, %v)", what, timeout, status, err)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// FreeAddr returns a loopback address with a port that was free a moment
// ago. StartNode retries with another port if it is taken meanwhile.
func FreeAddr(tb testing.TB) string {
	tb.Helper()
	return freeAddrOn(tb, "127.0.0.1")
}

// freeAddrOn returns host:port with a port free on ip a moment ago.
func freeAddrOn(tb testing.TB, ip string) string {
	tb.Helper()
	ln, err := net.Listen("tcp", ip+":0")
	if err != nil {
		tb.Fatalf("testkit: find a free port on %s (the harness uses the 127.0.0.0/8 loopback range): %v", ip, err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}
