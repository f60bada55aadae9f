package rush

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/floodgate/floodgate/internal/testkit"
)

func TestMain(m *testing.M) { os.Exit(testkit.RunMain(m)) }

// runFloodgate runs the binary and returns the last line of its stdout.
func runFloodgate(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(testkit.Binary(t), args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("floodgate %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, stdout.String(), tail(stderr.String(), 6000))
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	t.Logf("stderr:\n%s", tail(stderr.String(), 3000))
	return lines[len(lines)-1]
}

// runRush runs floodgate rush with args (--json among them) and returns
// its summary, the summary's fields by name, and the line they came from.
func runRush(t *testing.T, args ...string) (s Summary, fields map[string]any, last string) {
	t.Helper()
	last = runFloodgate(t, append([]string{"rush"}, args...)...)
	if err := json.Unmarshal([]byte(last), &s); err != nil {
		t.Fatalf("the last line of stdout is not the JSON summary: %v\n%s", err, last)
	}
	if err := json.Unmarshal([]byte(last), &fields); err != nil {
		t.Fatal(err)
	}
	return s, fields, last
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// TestShortRushKeepsEveryPromise is the sell-out in small: 5,000 visitors for
// 300 units against a real server with the limits of `floodgate rush --demo`.
func TestShortRushKeepsEveryPromise(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server and 5,000 visitors")
	}
	report := filepath.Join(t.TempDir(), "report.html")
	// The limits of floodgate rush --demo: per-address join limits that
	// hold the bots back, with rush's spread of client addresses trusted.
	n := testkit.StartNode(t, testkit.Options{KeepRateLimits: true, Args: []string{
		"--trusted-proxy", "127.0.0.1/32", "--join-rate", "2", "--join-burst", "5"}})
	s, fields, last := runRush(t, "--target", n.URL, "--admin-token", n.AdminToken, "--server-pid", strconv.Itoa(n.PID()), "--quiet", "--json", "--report", report,
		"--visitors", "5000", "--stock", "300", "--admit-rate", "500", "--lead", "3s", "--window", "5s", "--deadline", "60s", "--in-flight", "64")
	for _, k := range []string{"visitors", "stock", "sold", "oversold", "lost_orders", "duplicate_orders", "errors_5xx", "sellout_seconds", "p50_ms", "p99_ms", "kendall_tau", "bots_admitted"} {
		if _, ok := fields[k]; !ok {
			t.Errorf("summary lacks %q: %s", k, last)
		}
	}
	t.Logf("summary: %s", last)
	if s.Visitors != 5000 || s.Stock != 300 {
		t.Errorf("visitors %d, stock %d; want 5000 and 300", s.Visitors, s.Stock)
	}
	if s.Oversold != 0 || s.LostOrders != 0 || s.DuplicateOrders != 0 || s.Errors5xx != 0 {
		t.Errorf("oversold %d, lost %d, duplicates %d, 5xx %d; want all 0", s.Oversold, s.LostOrders, s.DuplicateOrders, s.Errors5xx)
	}
	if s.CounterMismatch || s.DuplicateVouchers != 0 {
		t.Errorf("counters mismatch %v, duplicate vouchers %d", s.CounterMismatch, s.DuplicateVouchers)
	}
	if s.ForgedAccepted != 0 || s.PrematureAccepted != 0 || s.ReuseAccepted != 0 || s.IdempotencyBroken != 0 {
		t.Errorf("tickets taken that must not be: forged %d, premature %d, reused %d; idempotency broken %d",
			s.ForgedAccepted, s.PrematureAccepted, s.ReuseAccepted, s.IdempotencyBroken)
	}
	if s.Sold != 300 || s.Ordered != 300 {
		t.Errorf("sold %d, confirmed to visitors %d; 5,000 visitors for 300 units must sell out", s.Sold, s.Ordered)
	}
	if s.SelloutSeconds < 0 {
		t.Error("no sell-out time recorded")
	}
	// The "auto" join challenge: bots on four addresses are asked for work
	// and solve it; visitors, each on their own address, are asked for none.
	if s.BotChallenges == 0 || s.BotChallengesSolved == 0 || s.BotMaxBits == 0 {
		t.Errorf("bots: %d challenges, %d solved, up to %d bits; want the bots challenged", s.BotChallenges, s.BotChallengesSolved, s.BotMaxBits)
	}
	if s.VisitorChallenges != 0 || s.VisitorChallengeP50MS != 0 {
		t.Errorf("visitors on their own addresses got %d challenges (median %.1f ms); want none", s.VisitorChallenges, s.VisitorChallengeP50MS)
	}

	// The timeline accounts for every order and every request it saw.
	if tl := s.Timeline; tl == nil {
		t.Error("the summary has no timeline")
	} else {
		sum := func(v []int64) (n int64) {
			for _, x := range v {
				n += x
			}
			return n
		}
		if n := sum(tl.Ordered); n != s.Ordered {
			t.Errorf("timeline: %d orders, summary %d", n, s.Ordered)
		}
		if n := sum(tl.Admitted); n < s.Ordered {
			t.Errorf("timeline: %d admissions for %d orders", n, s.Ordered)
		}
		if n := sum(tl.ServerAdmitted); n < s.Stock {
			t.Errorf("timeline: the server admitted %d positions for %d units", n, s.Stock)
		}
		reqs := sum(tl.Join) + sum(tl.Status) + sum(tl.Hold) + sum(tl.Session) + sum(tl.Order) + sum(tl.Other)
		if sum(tl.Join) < int64(s.Visitors)/2 || reqs > s.Requests {
			t.Errorf("timeline: %d joins of %d visitors, %d requests of %d sent", sum(tl.Join), s.Visitors, reqs, s.Requests)
		}
		if tl.Start > -1 || len(tl.WaitMaxMS) != len(tl.Join) || len(tl.JoinWaitMaxMS) != len(tl.Join) {
			t.Errorf("timeline starts at %d s (early visitors arrive within 3 s before the opening), %d and %d waits for %d seconds", tl.Start, len(tl.WaitMaxMS), len(tl.JoinWaitMaxMS), len(tl.Join))
		}
		// Every lane together: a quantile of a union lies between the
		// lanes' own (up to one bucket of the histogram, 1/16 of a power of
		// two, and the rounding of the summary).
		lo := min(s.GeneratorJoinQueueP99, s.GeneratorInLineQueueP99)
		hi := max(s.GeneratorJoinQueueP99, s.GeneratorInLineQueueP99)
		if s.GeneratorQueueP99 < lo-0.002 || s.GeneratorQueueP99 > hi*1.07+0.002 {
			t.Errorf("generator queueing p99 %.3f ms over every lane, outside joins' %.3f ms and in line %.3f ms", s.GeneratorQueueP99, s.GeneratorJoinQueueP99, s.GeneratorInLineQueueP99)
		}
	}

	// Every lane's exchanges are measured, and the server's own time per
	// request is read from its /metrics: the rush has its admin token. The
	// status polls' is not: visitors opened event streams, on the same
	// route.
	for _, l := range []struct {
		lane                string
		mean, p50, p99, srv float64
		share               float64
		requests            int64
	}{
		{"joins", s.GeneratorJoinExchangeMeanMS, s.GeneratorJoinExchangeP50MS, s.GeneratorJoinExchangeP99MS, s.ServerJoinMeanMS, s.ServerJoinShare, s.ServerJoins},
		{"status", s.GeneratorStatusExchangeMeanMS, s.GeneratorStatusExchangeP50MS, s.GeneratorStatusExchangeP99MS, s.ServerStatusMeanMS, s.ServerStatusShare, s.ServerStatusRequests},
		{"buying", s.GeneratorBuyExchangeMeanMS, s.GeneratorBuyExchangeP50MS, s.GeneratorBuyExchangeP99MS, s.ServerBuyMeanMS, s.ServerBuyShare, s.ServerBuyRequests},
	} {
		if l.mean <= 0 || l.p50 <= 0 || l.p50 > l.p99 {
			t.Errorf("%s: exchange mean %.3f ms, p50 %.3f ms, p99 %.3f ms", l.lane, l.mean, l.p50, l.p99)
		}
		if l.lane == "status" {
			if l.srv != 0 || l.requests != 0 || l.share != 0 || s.GeneratorStatusExchangeMeanMS <= 0 {
				t.Errorf("status: server %.3f ms over %d requests, share %.2f; want them left out, the route's time taken with the event streams'", l.srv, l.requests, l.share)
			}
			continue
		}
		if l.srv <= 0 || l.requests <= 0 || l.share <= 0 {
			t.Errorf("%s: server %.3f ms over %d requests, share %.2f; want the server's figures read", l.lane, l.srv, l.requests, l.share)
		}
	}
	if s.ServerJoins < int64(s.Visitors)/2 || s.ServerBuyRequests < 3*s.Stock {
		t.Errorf("the server counted %d joins of %d visitors and %d buying requests for %d units", s.ServerJoins, s.Visitors, s.ServerBuyRequests, s.Stock)
	}
	if s.ServerSchedRuns <= 0 || s.GeneratorSchedRuns <= 0 || s.ServerSchedWaitP99MS < s.ServerSchedWaitP50MS {
		t.Errorf("goroutines' waits for a core: the server's %d runs (p50 %g ms, p99 %g ms), the generator's %d; want both read", s.ServerSchedRuns, s.ServerSchedWaitP50MS, s.ServerSchedWaitP99MS, s.GeneratorSchedRuns)
	}

	f, err := os.Open(report)
	if err != nil {
		t.Fatalf("no report file: %v", err)
	}
	defer f.Close()
	charts, marks, _ := parseReport(t, f)
	if charts != 7 || marks < 10 {
		t.Errorf("report has %d charts with %d marks; want 7 charts with their data", charts, marks)
	}
}

// TestBenchOrdersCommitsEveryReservation runs the reservation benchmark in
// small and checks that every reservation answered 2xx is in the orders list.
func TestBenchOrdersCommitsEveryReservation(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server")
	}
	n := testkit.StartNode(t, testkit.Options{})
	last := runFloodgate(t, "rush", "--target", n.URL, "--admin-token", n.AdminToken, "--bench-orders", "300", "--concurrency", "16")
	var res BenchOrdersResult
	if err := json.Unmarshal([]byte(last), &res); err != nil {
		t.Fatalf("not a JSON result: %v\n%s", err, last)
	}
	if res.Reservations != 300 || res.Failed != 0 || res.LostOrders != 0 {
		t.Errorf("reservations %d, failed %d, lost %d; want 300, 0, 0", res.Reservations, res.Failed, res.LostOrders)
	}
	if res.PerSecond <= 0 {
		t.Errorf("rate %v, want a positive number", res.PerSecond)
	}

	// Paced: 100 reservations started at 200 a second take at least half
	// a second, and still all commit.
	last = runFloodgate(t, "rush", "--target", n.URL, "--admin-token", n.AdminToken, "--bench-orders", "100", "--concurrency", "16", "--bench-rate", "200")
	res = BenchOrdersResult{}
	if err := json.Unmarshal([]byte(last), &res); err != nil {
		t.Fatalf("not a JSON result: %v\n%s", err, last)
	}
	if res.Reservations != 100 || res.Failed != 0 || res.LostOrders != 0 || res.Rate != 200 {
		t.Errorf("paced: reservations %d, failed %d, lost %d, rate %v; want 100, 0, 0, 200", res.Reservations, res.Failed, res.LostOrders, res.Rate)
	}
	if res.Seconds < 99.0/200 {
		t.Errorf("paced: 100 reservations at 200/s took %.3f s, less than the pacing allows", res.Seconds)
	}
}

// TestQueueOnlyQueuesEveryone queues visitors without admitting them and
// reads the server's memory.
func TestQueueOnlyQueuesEveryone(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server")
	}
	n := testkit.StartNode(t, testkit.Options{})
	last := runFloodgate(t, "rush", "--target", n.URL, "--admin-token", n.AdminToken, "--server-pid", strconv.Itoa(n.PID()),
		"--queue-only", "2000", "--concurrency", "32")
	var res QueueOnlyResult
	if err := json.Unmarshal([]byte(last), &res); err != nil {
		t.Fatalf("not a JSON result: %v\n%s", err, last)
	}
	if res.Joined != 2000 {
		t.Errorf("%d of 2000 visitors joined", res.Joined)
	}
	if res.RSSAfterMB <= 0 || res.RSSWarmMB <= 0 {
		t.Errorf("server RSS %v MiB after the warm-up, %v MiB after; want both measured", res.RSSWarmMB, res.RSSAfterMB)
	}
	// 2,000 visitors: the warm-up is the first 1,000 (2% would be 40).
	if res.WarmupVisitors < 1000 || res.WarmupVisitors >= 2000 {
		t.Errorf("warm-up of %d visitors; want the first 1,000 (and those in flight), fewer than all 2,000", res.WarmupVisitors)
	}
}

// TestRushWithPaymentPhase: with a payment step, a share of the buyers never
// pay; their orders expire, the units go to visitors still waiting, and the
// drop still sells out, later, with every promise kept.
func TestRushWithPaymentPhase(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server and 1,000 visitors")
	}
	n := testkit.StartNode(t, testkit.Options{KeepRateLimits: true, Args: []string{
		"--trusted-proxy", "127.0.0.1/32", "--join-rate", "2", "--join-burst", "5"}})
	last := runFloodgate(t, "rush", "--target", n.URL, "--admin-token", n.AdminToken, "--quiet", "--json",
		"--visitors", "1000", "--stock", "60", "--admit-rate", "200", "--lead", "2s", "--window", "3s", "--deadline", "50s", "--in-flight", "64",
		"--payment-seconds", "3", "--unpaid", "0.3", "--pay-delay", "1s")
	var s Summary
	if err := json.Unmarshal([]byte(last), &s); err != nil {
		t.Fatalf("the last line of stdout is not the JSON summary: %v\n%s", err, last)
	}
	t.Logf("summary: %s", last)
	if s.Oversold != 0 || s.LostOrders != 0 || s.DuplicateOrders != 0 || s.Errors5xx != 0 || s.CounterMismatch || s.DuplicateVouchers != 0 {
		t.Errorf("oversold %d, lost %d, duplicates %d, 5xx %d, counters mismatch %v, duplicate vouchers %d",
			s.Oversold, s.LostOrders, s.DuplicateOrders, s.Errors5xx, s.CounterMismatch, s.DuplicateVouchers)
	}
	if s.PaymentSeconds != 3 || s.Paid == 0 || s.Unpaid == 0 || s.UnitsRecycled == 0 {
		t.Errorf("payment phase: %d s, paid %d, unpaid %d, units recycled %d; want all above 0", s.PaymentSeconds, s.Paid, s.Unpaid, s.UnitsRecycled)
	}
	if s.Ordered <= s.Stock {
		t.Errorf("%d orders for %d units: recycled units were not ordered again", s.Ordered, s.Stock)
	}
	if s.Sold != 60 || s.FinalSelloutSeconds <= 0 {
		t.Errorf("sold %d of 60, final sell-out at %.1f s; want every unit paid within the deadline", s.Sold, s.FinalSelloutSeconds)
	}
}

// TestRushWithoutMetricsAccess: a tenant's key may run a rush but not read
// the server's /metrics; the rush leaves the server's figures out and
// still measures its own.
func TestRushWithoutMetricsAccess(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server and 300 visitors")
	}
	n := testkit.StartNode(t, testkit.Options{})
	c := testkit.NewClient(n.URL, n.AdminToken)
	c.MustCreateTenant(t, testkit.TenantRequest{ID: "shop", Name: "Shop", MaxDrops: 2})
	key := c.MustCreateKey(t, "shop", "operator")
	s, fields, _ := runRush(t, "--target", n.URL, "--admin-token", key.Key, "--server-pid", strconv.Itoa(n.PID()), "--quiet", "--json",
		"--visitors", "300", "--stock", "20", "--lead", "1s", "--window", "1s", "--deadline", "20s", "--in-flight", "16")
	for _, k := range []string{"server_join_mean_ms", "server_joins", "server_join_share", "server_status_mean_ms", "server_buy_mean_ms"} {
		if v, ok := fields[k]; ok {
			t.Errorf("%s = %v without access to /metrics; want it left out", k, v)
		}
	}
	if s.Sold != 20 || s.GeneratorJoinExchangeMeanMS <= 0 {
		t.Errorf("sold %d of 20, join exchange mean %.3f ms; want the rush run and measured", s.Sold, s.GeneratorJoinExchangeMeanMS)
	}
}

// TestServerTimesFromANodesMetrics reads a node's own /metrics before and
// after joins of the rush's client and finds them in the route's
// histogram, and the node's waits for a core in its buckets.
func TestServerTimesFromANodesMetrics(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server")
	}
	n := testkit.StartNode(t, testkit.Options{})
	n.MustCreateDrop(t, testkit.DropRequest{ID: "tees", Name: "Tees", Stock: 5})
	c := newClient(n.URL, 1)
	ctx := context.Background()
	before, ok := readServerTimes(ctx, c, n.AdminToken)
	if !ok {
		t.Fatal("the node's /metrics were not read")
	}
	const joins = 7
	for range joins {
		if a := c.do(ctx, call{ep: epJoin, method: "POST", path: "/api/v1/drops/tees/queue"}); a.status == 0 {
			t.Fatalf("join: %v", a.err)
		}
	}
	after, ok := readServerTimes(ctx, c, n.AdminToken)
	if !ok {
		t.Fatal("the node's /metrics were not read the second time")
	}
	d := after.sub(before)
	if d.join.count != joins || d.join.sum <= 0 || d.buy.count != 0 || d.gate.count != 0 {
		t.Errorf("between the reads: %g joins over %g s, %g buying requests, %g waited at the gate; want %d joins, none of the others",
			d.join.count, d.join.sum, d.buy.count, d.gate.count, joins)
	}
	w := after.sched
	if len(w.le) < 2 || !slices.IsSorted(w.le) || !math.IsInf(w.le[len(w.le)-1], 1) || !slices.IsSorted(w.cum) || w.runs() <= before.sched.runs() {
		t.Errorf("the node's waits for a core: bounds %v, runs %v (%g before); want ascending bounds ending with +Inf and more runs", w.le, w.cum, before.sched.runs())
	}
}

// TestServerTimesUnread: an answer that is not the text format, or not a
// Floodgate node's metrics, leaves the server's figures out.
func TestServerTimesUnread(t *testing.T) {
	for _, c := range []struct{ name, body string }{
		{"not the text format", `{"error":"nope"}`},
		{"a sample that is not a number", "# TYPE x histogram\nx_bucket{le=\"1\"} one\n"},
		{"another process's metrics", "# TYPE go_goroutines gauge\ngo_goroutines 12\n"},
	} {
		srv := startRawServer(t, http.StatusOK, "", c.body)
		if st, ok := readServerTimes(context.Background(), newClient(srv.url(), 1), "token"); ok || st.join.count != 0 {
			t.Errorf("%s: read %+v, ok %v; want nothing read", c.name, st, ok)
		}
	}
}
