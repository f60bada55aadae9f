package main

import (
	"context"
	"errors"
	"flag"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/floodgate/floodgate"
	"github.com/floodgate/floodgate/internal/client"
	"github.com/floodgate/floodgate/internal/testkit"
)

// startMain runs floodgate serve in-process on port 0 with the given extra
// flags, and closes it when the test ends.
func startMain(t *testing.T, dir string, extra ...string) *Main {
	t.Helper()
	m := NewMain()
	args := append([]string{"--data-dir", dir, "--http-addr", "127.0.0.1:0", "--admin-token", "main-test-admin-token"}, extra...)
	if err := m.ParseFlags(args); err != nil {
		t.Fatal(err)
	}
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	testkit.WaitFor(t, "/healthz of floodgate serve", func() bool { return answersOK(m.URL() + "/healthz") })
	return m
}

// answersOK reports whether a GET of url answers 200.
func answersOK(url string) bool {
	resp, err := http.Get(url)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func TestMainTakesAWriteAndKeepsItAcrossARestart(t *testing.T) {
	dir := t.TempDir()
	m := startMain(t, dir)
	c := testkit.NewClient(m.URL(), "main-test-admin-token")
	c.MustCreateDrop(t, testkit.DropRequest{ID: "lamp", Name: "Lamp", Stock: 7})
	if d := c.MustDrop(t, "lamp"); d.Stock != 7 || d.Available != 7 {
		t.Fatalf("drop after create = %+v; want stock and available 7", d)
	}
	if err := m.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	// A 2xx is durable: the same data dir serves the drop after a restart.
	m2 := startMain(t, dir)
	if d := testkit.NewClient(m2.URL(), "main-test-admin-token").MustDrop(t, "lamp"); d.Name != "Lamp" || d.Stock != 7 {
		t.Fatalf("drop after restart = %+v", d)
	}
}

// TestDebugAddrServesPprof: --debug-addr serves the profiles, and the API
// address does not.
func TestDebugAddrServesPprof(t *testing.T) {
	debug := testkit.FreeAddr(t)
	m := startMain(t, t.TempDir(), "--debug-addr", debug)
	testkit.WaitFor(t, "pprof on --debug-addr", func() bool { return answersOK("http://" + debug + "/debug/pprof/cmdline") })
	resp, err := http.Get(m.URL() + "/debug/pprof/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		t.Fatal("the API address serves pprof")
	}
}

func TestParseFlagsReadsTheEnvironment(t *testing.T) {
	t.Setenv("FLOODGATE_HOLD_MAX_PAUSE", "7m")
	t.Setenv("FLOODGATE_OIDC_CLIENT_SECRET", "s3cret")
	t.Setenv("FLOODGATE_SMTP_ADDR", "mail.example:25")
	t.Setenv("FLOODGATE_ADMIN_TOKEN", "from-env-admin-token")
	t.Setenv("FLOODGATE_REQUEST_RATE", "12.5")
	m := NewMain()
	if err := m.ParseFlags([]string{"--oidc-client-id", "floodgate", "--request-rate", "20"}); err != nil {
		t.Fatal(err)
	}
	c := m.cfg
	if c.queue.MaxPause != 7*time.Minute {
		t.Errorf("hold max pause = %v; want FLOODGATE_HOLD_MAX_PAUSE's 7m", c.queue.MaxPause)
	}
	if c.identity.ClientSecret != "s3cret" || c.identity.ClientID != "floodgate" {
		t.Errorf("identity = %+v", c.identity)
	}
	if c.status.SMTP.Addr != "mail.example:25" || c.adminToken != "from-env-admin-token" {
		t.Errorf("smtp addr %q, admin token %q", c.status.SMTP.Addr, c.adminToken)
	}
	if c.api.RequestRate != 20 {
		t.Errorf("request rate = %v; the command line (20) wins over the environment (12.5)", c.api.RequestRate)
	}
}

func TestParseFlagsNamesABadEnvironmentVariable(t *testing.T) {
	t.Setenv("FLOODGATE_HOLD_MAX_PAUSE", "a while")
	err := NewMain().ParseFlags([]string{"--admin-token", "x"})
	if err == nil || !strings.Contains(err.Error(), "FLOODGATE_HOLD_MAX_PAUSE") {
		t.Fatalf("err = %v; want one naming FLOODGATE_HOLD_MAX_PAUSE", err)
	}
}

// TestDevRefusedBesideOIDC: --dev (anyone signs in as any email, webhooks
// may reach private addresses) is refused next to a real identity provider.
func TestDevRefusedBesideOIDC(t *testing.T) {
	err := NewMain().ParseFlags([]string{"--admin-token", "a-long-enough-admin-token", "--dev", "--oidc-issuer", "https://id.example.com", "--oidc-client-id", "c", "--oidc-redirect-url", "https://shop.example.com/auth/callback"})
	if err == nil || !strings.Contains(err.Error(), "--dev") {
		t.Fatalf("err = %v; want --dev with --oidc-issuer refused", err)
	}
}

func TestClusterStatusCallsTheNodeAndReportsItsRefusal(t *testing.T) {
	m := startMain(t, t.TempDir())
	ctx := context.Background()
	if err := runCluster(ctx, []string{"status", "--addr", m.URL(), "--admin-token", "main-test-admin-token", "--json"}); err != nil {
		t.Fatalf("cluster status: %v", err)
	}
	err := runCluster(ctx, []string{"status", "--addr", m.URL(), "--admin-token", "wrong-admin-token-0123"})
	if floodgate.ErrorCode(err) != floodgate.EUnauthenticated {
		t.Fatalf("cluster status with a wrong token: %v; want the node's unauthenticated answer", err)
	}
	err = runCluster(ctx, []string{"remove", "--addr", m.URL(), "--admin-token", "main-test-admin-token", "--id", "node1"})
	if floodgate.ErrorCode(err) != floodgate.EConflict {
		t.Fatalf("removing the only node: %v; want conflict", err)
	}
	// A node that is not a member can be neither removed nor registered.
	err = runCluster(ctx, []string{"remove", "--addr", m.URL(), "--admin-token", "main-test-admin-token", "--id", "node9"})
	if floodgate.ErrorCode(err) != floodgate.ENotFound || !strings.Contains(err.Error(), `"node9" is not a member of the cluster.`) {
		t.Fatalf("removing a node that is not a member: %v; want not_found", err)
	}
	c := client.New(m.URL())
	_, err = c.Call(ctx, http.MethodPut, "/api/v1/cluster/nodes/node9", client.Bearer("main-test-admin-token"), map[string]string{"http_addr": "http://127.0.0.1:9"}, nil)
	if floodgate.ErrorCode(err) != floodgate.ENotFound || !strings.Contains(err.Error(), "add it with floodgate cluster add") {
		t.Fatalf("registering a node that is not a member: %v; want not_found with what to do", err)
	}
}

// TestSubcommandsNameWhatIsMissing: floodgate status and floodgate cluster
// without a command, or with an unknown one, fail as a usage error that
// lists the commands; -h is no error.
func TestSubcommandsNameWhatIsMissing(t *testing.T) {
	for _, c := range []struct {
		run  command
		args []string
		want string
	}{
		{runStatus, nil, "export, serve"},
		{runStatus, []string{"nope"}, "export, serve"},
		{runCluster, []string{"nope"}, "add, remove, status"},
		{func(ctx context.Context, args []string) error { return subcommand(ctx, usage, commands, args) }, []string{"nope"}, "rush, serve, status"},
	} {
		err := c.run(t.Context(), c.args)
		if !errors.As(err, new(usageError)) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: err = %v; want a usage error naming %s", c.args, err, c.want)
		}
	}
	if err := runCluster(t.Context(), []string{"-h"}); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("cluster -h: %v", err)
	}
}
