package rush

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ServerOptions says how to start a throwaway `floodgate serve`.
type ServerOptions struct {
	// Binary is the floodgate executable; empty means the running one.
	Binary string
	// DataDir holds the node's data; empty means a temporary directory that
	// Close removes.
	DataDir string
	// JoinRate and JoinBurst set the per-client-address limit on queue joins
	// (--join-rate, --join-burst); 0 leaves the server's default.
	JoinRate  float64
	JoinBurst int
	// ExtraArgs are appended to the serve command line.
	ExtraArgs []string
}

// Server is a `floodgate serve` child process on a loopback port, started
// with the dev identity provider and 127.0.0.1 as a trusted proxy so that each
// simulated visitor can bring its own address in X-Forwarded-For.
type Server struct {
	URL        string
	AdminToken string
	DataDir    string
	cmd        *exec.Cmd
	logPath    string
	removeDir  bool
	exited     chan error
}

// StartServer starts the server and waits until GET /healthz answers 200.
func StartServer(ctx context.Context, opts ServerOptions) (*Server, error) {
	bin := opts.Binary
	if bin == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("find the floodgate binary to start a demo server: %w", err)
		}
		bin = exe
	}
	s := &Server{DataDir: opts.DataDir, AdminToken: randomToken()}
	if s.DataDir == "" {
		dir, err := os.MkdirTemp("", "floodgate-rush-")
		if err != nil {
			return nil, fmt.Errorf("create a data directory for the demo server: %w", err)
		}
		s.DataDir, s.removeDir = dir, true
	}
	addr, err := freeLoopbackAddr()
	if err != nil {
		return nil, err
	}
	s.URL = "http://" + addr
	args := []string{"serve",
		"--data-dir", filepath.Join(s.DataDir, "node"),
		"--http-addr", addr,
		"--admin-token", s.AdminToken,
		"--dev",
		"--trusted-proxy", "127.0.0.1/32",
	}
	if opts.JoinRate > 0 {
		args = append(args, "--join-rate", strconv.FormatFloat(opts.JoinRate, 'f', -1, 64))
	}
	if opts.JoinBurst > 0 {
		args = append(args, "--join-burst", strconv.Itoa(opts.JoinBurst))
	}
	args = append(args, opts.ExtraArgs...)
	s.logPath = filepath.Join(s.DataDir, "serve.log")
	logFile, err := os.Create(s.logPath)
	if err != nil {
		return nil, fmt.Errorf("create the demo server's log file: %w", err)
	}
	s.cmd = exec.Command(bin, args...)
	s.cmd.Stdout, s.cmd.Stderr = logFile, logFile
	s.cmd.Env = append(os.Environ(), "LOG_LEVEL=warn")
	if err := s.cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s serve: %w", bin, err)
	}
	s.exited = make(chan error, 1)
	go func() { s.exited <- s.cmd.Wait(); logFile.Close() }()

	deadline := time.Now().Add(60 * time.Second)
	hc := &http.Client{Timeout: time.Second}
	for {
		resp, err := hc.Get(s.URL + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		select {
		case err := <-s.exited:
			s.exited <- err
			tail := s.LogTail(4000)
			s.Close()
			return nil, fmt.Errorf("the demo server exited before it was ready (%v); its log:\n%s", err, tail)
		case <-ctx.Done():
			s.Close()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			tail := s.LogTail(4000)
			s.Close()
			return nil, fmt.Errorf("the demo server at %s did not answer /healthz with 200 within 60s; its log:\n%s", s.URL, tail)
		}
	}
}

// Pid is the process id of the server.
func (s *Server) Pid() int { return s.cmd.Process.Pid }

// LogTail returns the last n bytes of the server's log.
func (s *Server) LogTail(n int) string {
	buf, err := os.ReadFile(s.logPath)
	if err != nil {
		return ""
	}
	if len(buf) > n {
		buf = buf[len(buf)-n:]
	}
	return string(buf)
}

// Close stops the server (SIGTERM, then SIGKILL after 10 s) and removes a
// temporary data directory.
func (s *Server) Close() error {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-s.exited:
			s.exited <- err
		case <-time.After(10 * time.Second):
			_ = s.cmd.Process.Kill()
			err := <-s.exited
			s.exited <- err
		}
	}
	if s.removeDir {
		return os.RemoveAll(s.DataDir)
	}
	return nil
}

// procStats reads the CPU time and the resident memory of a process from
// /proc (Linux). ok is false elsewhere or when the process is gone.
type procStats struct {
	cpu     time.Duration
	rss     int64 // bytes
	peakRSS int64 // bytes (VmHWM)
}

func readProcStats(pid int) (procStats, bool) {
	var ps procStats
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ps, false
	}
	// Fields after the command name, which is in parentheses and may hold spaces.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return ps, false
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 13 {
		return ps, false
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	const clockTicks = 100 // USER_HZ on Linux
	ps.cpu = time.Duration(utime+stime) * time.Second / clockTicks
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return ps, false
	}
	for _, line := range strings.Split(string(status), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "VmRSS":
			ps.rss = kb << 10
		case "VmHWM":
			ps.peakRSS = kb << 10
		}
	}
	return ps, true
}

func freeLoopbackAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free loopback port for the demo server: %w", err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr, nil
}

func randomToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
