package e2e

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/floodgate/floodgate"
	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/status"
)

// diskBuyers buys one unit per buyer and remembers every hold and order the
// node acknowledged (2xx), whatever the disk was doing.
type diskBuyers struct {
	t     *testing.T
	c     *testkit.Client
	drop  string
	n     int
	holds map[string]bool            // every hold answered 2xx
	acked map[string]floodgate.Order // every order answered 2xx, by id
}

// buy runs one buyer as far as the node lets it: join, admission, a hold, an
// order. A 503 ends the buyer there (the write was not made, or may be sent
// again); any other refusal fails the test.
func (b *diskBuyers) buy(ctx context.Context) (ordered bool) {
	b.t.Helper()
	b.n++
	ok := func(what string, err error) bool {
		b.t.Helper()
		if err == nil {
			return true
		}
		var ae *testkit.APIError
		if errors.As(err, &ae) && ae.Status == http.StatusServiceUnavailable {
			if ae.Code != floodgate.EUnavailable {
				b.t.Fatalf("%s: 503 with code %q, want unavailable", what, ae.Code)
			}
			return false
		}
		b.t.Fatalf("buyer %d, %s: %v (want a 2xx or a 503)", b.n, what, err)
		return false
	}
	tk, err := b.c.Join(ctx, b.drop)
	if !ok("join", err) {
		return false
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	st, err := b.c.WaitAdmitted(wctx, b.drop, tk.Ticket, 20*time.Millisecond)
	cancel()
	if err != nil || st.State != floodgate.QueueAdmitted {
		// Admission is a tick, a write: it stands still while the disk is full.
		return false
	}
	h, _, err := b.c.Hold(ctx, b.drop, tk.Ticket, 1)
	if !ok("hold", err) {
		return false
	}
	b.holds[h.ID] = true
	session, err := b.c.Session(ctx, fmt.Sprintf("disk%04d@example.com", b.n))
	if !ok("sign in", err) {
		return false
	}
	o, _, err := b.c.Order(ctx, h.ID, tk.Ticket, session, fmt.Sprintf("disk-%d", b.n))
	if !ok("order", err) {
		return false
	}
	b.acked[o.ID] = o
	return true
}

// check asserts that every acknowledged order and hold is there and that
// stock adds up.
func (b *diskBuyers) check(ctx context.Context, when string) {
	b.t.Helper()
	orders, err := b.c.Orders(ctx, b.drop)
	if err != nil {
		b.t.Fatalf("%s: list orders: %v", when, err)
	}
	have := map[string]bool{}
	for _, o := range orders {
		have[o.ID] = true
	}
	for id := range b.acked {
		if !have[id] {
			b.t.Errorf("%s: acknowledged order %s is lost", when, id)
		}
	}
	d, err := b.c.Drop(ctx, b.drop)
	if err != nil {
		b.t.Fatalf("%s: read drop: %v", when, err)
	}
	if d.Available+d.Held+d.AwaitingPayment+d.Sold != d.Stock {
		b.t.Errorf("%s: available %d + held %d + awaiting payment %d + sold %d != stock %d", when, d.Available, d.Held, d.AwaitingPayment, d.Sold, d.Stock)
	}
	if d.Sold != int64(len(orders)) {
		b.t.Errorf("%s: sold %d but %d orders", when, d.Sold, len(orders))
	}
	// Holds last 10 minutes: every acknowledged one is still held or sold.
	if d.Held+d.Sold < int64(len(b.holds)) {
		b.t.Errorf("%s: %d units held or sold, but %d holds were acknowledged", when, d.Held+d.Sold, len(b.holds))
	}
}

// TestDiskFull fills the data disk of a real node: writes are refused with
// 503 (never a 2xx that is not durable, never a crash), /healthz and
// /metrics say the disk is full, the status page and summary.json show it
// live (the incident cannot be recorded), and once space is freed the same
// process takes writes again within seconds, with every hold and order
// acknowledged before, during and after present, and again after a restart;
// the full disk's incident is then recorded and resolves.
//
// The disk is a small tmpfs, which needs root (CI runs as root).
func TestDiskFull(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: fills a disk")
	}
	// raft-wal preallocates 64 MiB segments: the node's first segment fits,
	// and the ballast file takes the rest. Freed, the ballast leaves room for
	// a new segment and snapshots of the ~65 MB state the fillers make.
	dir := testkit.SmallDisk(t, "400M")

	// A short open delay and resolve delay, so the status page's incident
	// for the full disk opens and resolves within the test.
	n := testkit.StartNode(t, testkit.Options{DataDir: filepath.Join(dir, "data"),
		Args: []string{"--auto-open-after", "2s", "--auto-resolve-after", "3s"}})
	c := n.Client
	ctx := testkit.Context(t, 4*time.Minute)

	now := time.Now()
	c.MustCreateDrop(t, testkit.DropRequest{ID: "shoe", Name: "Shoe", Stock: 500, PerCustomerLimit: 1,
		StartsAt: &now, HoldSeconds: 600, AdmitPerSecond: 1000})
	b := &diskBuyers{t: t, c: c, drop: "shoe", holds: map[string]bool{}, acked: map[string]floodgate.Order{}}
	for range 5 {
		if !b.buy(ctx) {
			t.Fatal("a buyer failed before the disk filled")
		}
	}
	before := len(b.acked)

	// Fill the file system. The node goes on writing into its preallocated
	// segment (durable), and fails when it needs the next one.
	ballast := filepath.Join(dir, "ballast")
	testkit.FillDisk(t, ballast)
	full := false
	for i := 0; i < 1000 && !full; i++ {
		resp, err := c.Do(ctx, http.MethodPost, "/api/v1/drops", testkit.Bearer(n.AdminToken), testkit.FillerDrop(fmt.Sprintf("big-%d", i)))
		if err != nil {
			t.Fatalf("create drop %d: %v (the node must answer, not crash)", i, err)
		}
		switch resp.Status {
		case http.StatusCreated:
			if i%20 == 0 {
				b.buy(ctx) // acknowledged or 503; remembered either way
			}
		case http.StatusServiceUnavailable:
			apiErr := testkit.ParseError(resp)
			if apiErr.Code != floodgate.EUnavailable || resp.Header.Get("Retry-After") == "" {
				t.Fatalf("disk full answered %d %+v; want 503 unavailable with Retry-After", resp.Status, apiErr)
			}
			full = true
		default:
			t.Fatalf("create drop %d: unexpected status %d: %s", i, resp.Status, resp.Body)
		}
	}
	if !full {
		t.Fatal("the disk never filled")
	}
	during := len(b.acked) - before
	// What the operator sees.
	health := healthz(t, ctx, c)
	if health.Status != http.StatusServiceUnavailable || !strings.Contains(string(health.Body), "disk_full") {
		t.Fatalf("/healthz with a full disk: %d %s; want 503 saying disk_full", health.Status, health.Body)
	}
	if v := metric(t, ctx, c, "floodgate_disk_full"); v != 1 {
		t.Fatalf("floodgate_disk_full = %v with a full disk, want 1", v)
	}
	// Writes keep answering 503 while it is full, never 2xx.
	for range 3 {
		if b.buy(ctx) {
			t.Fatal("an order was acknowledged while the log was out of service")
		}
	}
	if !n.Running() {
		t.Fatalf("the node exited on a full disk:\n%s", n.Logs())
	}
	// What buyers see: the status page and its JSON show the full disk,
	// live, although the incident cannot be recorded on the full disk.
	testkit.WaitFor(t, "the status page to show the full disk", func() bool {
		page, sum := statusNow(t, ctx, c)
		inc, ok := diskIncident(sum)
		return ok && inc.Floodgate != nil && inc.Floodgate.Unrecorded && sum.Status.Indicator == "major" &&
			strings.Contains(page, "Checkout is paused") && strings.Contains(page, "Shown live")
	})
	if page, sum := statusNow(t, ctx, c); strings.Contains(page, dir) || strings.Contains(page, "no space") {
		t.Fatalf("the status page reveals the node's error: %s", page)
	} else if inc, _ := diskIncident(sum); inc.ID == "" || strings.HasPrefix(inc.ID, "inc_") {
		t.Fatalf("the full disk's incident %q is shown as recorded", inc.ID)
	}

	// Free the space: the same process takes writes again, within seconds.
	if err := os.Remove(ballast); err != nil {
		t.Fatal(err)
	}
	freed := time.Now()
	deadline := freed.Add(30 * time.Second)
	for {
		_, st, err := c.CreateDrop(ctx, testkit.DropRequest{ID: "after-free", Name: "after", Stock: 1})
		if err == nil && (st == http.StatusCreated || st == http.StatusOK) {
			break
		}
		if err != nil && !testkit.Retryable(err) {
			t.Fatalf("a write after freeing space: %v", err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("no write succeeded within 30s of freeing space (last: %v):\n%s", err, n.Logs())
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("writes succeed again %v after the space was freed; %d orders acknowledged before, %d while filling", time.Since(freed).Round(time.Millisecond), before, during)
	testkit.WaitFor(t, "/healthz 200 after freeing space", func() bool { return healthz(t, ctx, c).Status == http.StatusOK })
	if v := metric(t, ctx, c, "floodgate_disk_full"); v != 0 {
		t.Fatalf("floodgate_disk_full = %v after freeing space, want 0", v)
	}
	if v := metric(t, ctx, c, "floodgate_disk_recoveries_total"); v < 1 {
		t.Fatalf("floodgate_disk_recoveries_total = %v, want at least 1", v)
	}
	for range 5 {
		if !b.buy(ctx) {
			t.Fatal("a buyer failed after the space was freed")
		}
	}
	b.check(ctx, "after freeing space")
	// The full disk is then recorded as an incident, which resolves.
	var recorded string
	testkit.WaitFor(t, "the full disk's incident to be recorded and resolved", func() bool {
		doc := incidentsNow(t, ctx, c)
		for _, inc := range doc.Incidents {
			if strings.HasPrefix(inc.Name, "Checkout is paused") && strings.HasPrefix(inc.ID, "inc_") {
				recorded = inc.ID
				return inc.Status == "resolved"
			}
		}
		return false
	})
	if _, sum := statusNow(t, ctx, c); len(sum.Incidents) > 0 {
		if inc, ok := diskIncident(sum); ok {
			t.Fatalf("the full disk still shows after %s resolved: %+v", recorded, inc)
		}
	}

	// And after a restart.
	n.Kill()
	n.Restart(t)
	b.check(ctx, "after a restart")
	if !b.buy(ctx) {
		t.Fatal("a buyer failed after the restart")
	}
	b.check(ctx, "after a restart and one more buyer")
}

func healthz(t *testing.T, ctx context.Context, c *testkit.Client) *testkit.Response {
	t.Helper()
	resp, err := c.Do(ctx, http.MethodGet, "/healthz", nil, nil)
	if err != nil {
		t.Fatalf("/healthz: %v", err)
	}
	return resp
}

// metric returns the value of an unlabelled metric (-1 when absent).
func metric(t *testing.T, ctx context.Context, c *testkit.Client, name string) float64 {
	t.Helper()
	resp, err := c.Do(ctx, http.MethodGet, "/metrics", testkit.Bearer(c.AdminToken), nil)
	if err != nil || resp.Status != http.StatusOK {
		t.Fatalf("/metrics: %v %v", resp, err)
	}
	if v, ok := testkit.MetricValue(t, resp.Body, name, nil); ok {
		return v
	}
	return -1
}

// statusNow reads the node's public status page and its summary.json.
func statusNow(t *testing.T, ctx context.Context, c *testkit.Client) (string, status.Summary) {
	t.Helper()
	page, err := c.Do(ctx, http.MethodGet, "/status", nil, nil)
	if err != nil || page.Status != http.StatusOK {
		t.Fatalf("GET /status: %v %v", page, err)
	}
	var sum status.Summary
	if _, err := c.Call(ctx, http.MethodGet, "/api/v2/summary.json", nil, nil, &sum); err != nil {
		t.Fatalf("GET /api/v2/summary.json: %v", err)
	}
	return string(page.Body), sum
}

// incidentsNow reads the node's incidents.json (recorded incidents).
func incidentsNow(t *testing.T, ctx context.Context, c *testkit.Client) status.IncidentsDoc {
	t.Helper()
	var doc status.IncidentsDoc
	if _, err := c.Call(ctx, http.MethodGet, "/api/v2/incidents.json", nil, nil, &doc); err != nil {
		t.Fatalf("GET /api/v2/incidents.json: %v", err)
	}
	return doc
}

// diskIncident finds the full disk's incident among the unresolved ones.
func diskIncident(sum status.Summary) (status.SPIncident, bool) {
	for _, inc := range sum.Incidents {
		if strings.HasPrefix(inc.Name, "Checkout is paused") {
			return inc, true
		}
	}
	return status.SPIncident{}, false
}
