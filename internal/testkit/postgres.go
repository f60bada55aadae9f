package testkit

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Postgres is a throwaway PostgreSQL server from the system's packages
// (Debian's postgresql: /usr/lib/postgresql/<version>/bin), in its own
// temporary directory, listening on a free loopback port. PostgreSQL refuses
// to run as root: when the tests run as root, it runs as the postgres user
// (or nobody) through the process credentials, in a directory that user owns.
type Postgres struct {
	DSN  string
	Dir  string
	Port int

	tb   testing.TB
	bin  string
	cred *syscall.Credential
	log  string

	mu  sync.Mutex
	cmd *exec.Cmd
}

// postgresBin finds the directory of initdb and postgres.
func postgresBin() string {
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p)
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(matches) == 0 {
		return ""
	}
	return filepath.Dir(matches[len(matches)-1])
}

// StartPostgres initialises and starts a server; it is stopped and removed
// when the test ends. Without PostgreSQL installed the test is skipped, or
// fails when CI=true.
func StartPostgres(tb testing.TB) *Postgres {
	tb.Helper()
	bin := postgresBin()
	if bin == "" {
		if os.Getenv("CI") == "true" {
			tb.Fatal("testkit: PostgreSQL is not installed (initdb not found on PATH nor in /usr/lib/postgresql/*/bin); install Debian's postgresql package")
		}
		tb.Skip("PostgreSQL is not installed (initdb not found); install Debian's postgresql package")
	}
	dir, err := os.MkdirTemp("", "floodgate-pg-")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	p := &Postgres{tb: tb, bin: bin, Dir: filepath.Join(dir, "data"), log: filepath.Join(dir, "postgres.log")}
	if os.Geteuid() == 0 {
		p.cred = unprivileged(tb)
		if err := os.Chown(dir, int(p.cred.Uid), int(p.cred.Gid)); err != nil {
			tb.Fatal(err)
		}
	}
	p.Port, _ = strconv.Atoi(portOf(FreeAddr(tb)))
	p.DSN = fmt.Sprintf("postgres://floodgate@127.0.0.1:%d/postgres?sslmode=disable", p.Port)
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", p.Dir, "-U", "floodgate", "--auth=trust", "-E", "UTF8", "--no-sync")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: p.cred}
	initdb.Dir = dir
	if out, err := initdb.CombinedOutput(); err != nil {
		tb.Fatalf("testkit: initdb: %v\n%s", err, out)
	}
	tb.Cleanup(func() { p.kill() })
	p.Start()
	return p
}

// unprivileged returns the credentials of the postgres user, or nobody.
func unprivileged(tb testing.TB) *syscall.Credential {
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	tb.Fatal("testkit: running as root and there is neither a postgres nor a nobody user to run PostgreSQL as")
	return nil
}

func portOf(addr string) string {
	_, port, _ := net.SplitHostPort(addr)
	return port
}

// Start starts the server (again) and waits until it takes connections.
func (p *Postgres) Start() {
	p.tb.Helper()
	logf, err := os.OpenFile(p.log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o666)
	if err != nil {
		p.tb.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command(filepath.Join(p.bin, "postgres"), "-D", p.Dir, "-p", strconv.Itoa(p.Port),
		"-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="+filepath.Dir(p.Dir),
		"-c", "fsync=off", "-c", "max_connections=40")
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: p.cred, Setpgid: true}
	if err := cmd.Start(); err != nil {
		p.tb.Fatalf("testkit: start postgres: %v", err)
	}
	p.mu.Lock()
	p.cmd = cmd
	p.mu.Unlock()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		conn, err := pgx.Connect(ctx, p.DSN)
		if err == nil {
			_ = conn.Close(ctx)
			cancel()
			return
		}
		cancel()
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(p.log)
			p.tb.Fatalf("testkit: postgres did not start: %v\n%s", err, b)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Stop shuts the server down (fast shutdown: connections are cut) and waits
// for it to be gone.
func (p *Postgres) Stop() {
	p.mu.Lock()
	cmd := p.cmd
	p.cmd = nil
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGINT)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
}

func (p *Postgres) kill() {
	p.mu.Lock()
	cmd := p.cmd
	p.mu.Unlock()
	if cmd != nil {
		p.Stop()
	}
}

// Conn opens a connection to the server for the test to look at tables.
func (p *Postgres) Conn(tb testing.TB) *pgx.Conn {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, p.DSN)
	if err != nil {
		tb.Fatalf("testkit: connect to postgres: %v", err)
	}
	tb.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}
