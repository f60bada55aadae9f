package rush

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"io"
	"math"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/floodgate/floodgate/internal/testkit"
)

func TestHistogramQuantiles(t *testing.T) {
	var h histogram
	for i := 1; i <= 1000; i++ {
		h.record(time.Duration(i) * time.Millisecond)
	}
	for _, tc := range []struct{ q, want float64 }{{0.5, 500}, {0.9, 900}, {0.99, 990}, {1, 1000}} {
		got := h.quantile(tc.q)
		if math.Abs(got-tc.want)/tc.want > 0.07 {
			t.Errorf("quantile(%v) = %.1f ms, want %.0f ms within 7%%", tc.q, got, tc.want)
		}
	}
	if h.count() != 1000 {
		t.Errorf("count = %d, want 1000", h.count())
	}
	var empty histogram
	if empty.quantile(0.5) != 0 {
		t.Errorf("empty histogram quantile = %v, want 0", empty.quantile(0.5))
	}
}

func TestBucketsCoverValues(t *testing.T) {
	for _, us := range []int64{0, 1, 15, 16, 17, 31, 32, 1000, 123456, 1 << 30} {
		b := bucketOf(us)
		if up := bucketUpper(b); up < us {
			t.Errorf("bucketUpper(bucketOf(%d)) = %d, below the value", us, up)
		}
		if b > 0 && bucketUpper(b-1) >= us {
			t.Errorf("value %d also fits the bucket below %d", us, b)
		}
	}
}

func TestKendallTau(t *testing.T) {
	pairs := func(pos ...int64) []rankPair {
		ps := make([]rankPair, len(pos))
		for i, p := range pos {
			ps[i] = rankPair{i, p}
		}
		return ps
	}
	for _, tc := range []struct {
		name  string
		pairs []rankPair
		want  float64
	}{
		{"fifo", pairs(1, 2, 3, 4, 5), 1},
		{"reversed", pairs(5, 4, 3, 2, 1), -1},
		{"one swap of five", pairs(2, 1, 3, 4, 5), 0.8},
		{"single", pairs(7), 1},
		{"gaps in positions", pairs(10, 20, 15, 40), 1 - 2*1.0/6},
	} {
		if got := kendallTau(tc.pairs); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("%s: tau = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestScheduleFollowsTheCurve(t *testing.T) {
	c := DefaultConfig()
	c.Visitors = 20000
	vs := schedule(c)
	var early, bots, after int
	addrs := map[string]int{}
	for i, v := range vs {
		if v.id != i {
			t.Fatalf("visitor %d has id %d; ids must be arrival ranks", i, v.id)
		}
		if i > 0 && vs[i-1].arrival > v.arrival {
			t.Fatalf("visitors not sorted by arrival at %d", i)
		}
		switch {
		case v.bot:
			bots++
		case v.early:
			early++
			if v.arrival < -c.Lead {
				t.Fatalf("early arrival %v before the lead %v", v.arrival, c.Lead)
			}
		default:
			after++
			if v.arrival >= c.Window {
				t.Fatalf("arrival %v after the window %v", v.arrival, c.Window)
			}
		}
		addrs[v.addr]++
	}
	if bots < 200 || bots > 600 {
		t.Errorf("%d bots of 20000, want about 2%%", bots)
	}
	if early < 3400 || early > 4400 {
		t.Errorf("%d early arrivals of 20000, want about 20%%", early)
	}
	if len(addrs) != 20000-bots+c.BotAddrs {
		t.Errorf("%d distinct addresses, want one per real visitor plus %d for bots", len(addrs), c.BotAddrs)
	}
	// The burst: more arrivals in the first 2 s after the opening than in the last 2 s.
	var first, last int
	for _, v := range vs {
		if !v.bot && v.arrival >= 0 && v.arrival < 2*time.Second {
			first++
		}
		if !v.bot && v.arrival >= 8*time.Second {
			last++
		}
	}
	if first <= 3*last {
		t.Errorf("no opening burst: %d arrivals in the first 2 s, %d in the last 2 s", first, last)
	}
}

func TestVisitorAddrsAreDistinct(t *testing.T) {
	seen := map[string]bool{}
	for _, n := range []int{0, 1, 1<<17 - 3, 1<<17 - 2, 1<<17 - 1, 999_999} {
		a := visitorAddr(n)
		if seen[a] {
			t.Fatalf("address %s given twice", a)
		}
		seen[a] = true
	}
	if visitorAddr(0) != "198.18.0.1" || visitorAddr(1<<17-2) != "100.64.0.1" {
		t.Errorf("unexpected address ranges: %s, %s", visitorAddr(0), visitorAddr(1<<17-2))
	}
}

func TestForgeTicketClaimsTheFront(t *testing.T) {
	enc := base64.RawURLEncoding
	ticket := enc.EncodeToString([]byte(`{"alg":"EdDSA"}`)) + "." + enc.EncodeToString([]byte(`{"drop":"d","pos":4711,"vid":"x"}`)) + ".c2ln"
	forged := forgeTicket(ticket)
	parts := strings.Split(forged, ".")
	if len(parts) != 3 || parts[2] != "c2ln" {
		t.Fatalf("forged ticket %q lost its shape or signature", forged)
	}
	var claims map[string]any
	testkit.MustClaims(t, forged, &claims)
	if claims["pos"] != 1.0 {
		t.Errorf("forged claims %v, want pos 1", claims)
	}
	if forgeTicket("opaque") == "opaque" {
		t.Error("an opaque ticket must still be altered")
	}
}

// parseReport checks that the report is well-formed markup (parsed with the
// HTML rules of encoding/xml) and counts its SVG charts and their marks.
func parseReport(t *testing.T, r io.Reader) (charts, marks int, title string) {
	t.Helper()
	dec := xml.NewDecoder(r)
	dec.Strict = true
	dec.AutoClose = xml.HTMLAutoClose
	dec.Entity = xml.HTMLEntity
	inTitle := false
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("the report does not parse: %v", err)
		}
		switch el := tok.(type) {
		case xml.StartElement:
			switch el.Name.Local {
			case "svg":
				charts++
			case "polyline", "circle", "rect":
				for _, a := range el.Attr {
					if a.Name.Local == "class" && (a.Value == "series" || a.Value == "point" || a.Value == "bar") {
						marks++
					}
				}
			case "title":
				inTitle = true
			}
		case xml.CharData:
			if inTitle && title == "" {
				title = string(el)
			}
		case xml.EndElement:
			inTitle = false
		}
	}
	return charts, marks, title
}

func TestReportOfASyntheticRush(t *testing.T) {
	c := newClient("http://127.0.0.1:1", 4)
	for i := 1; i <= 100; i++ {
		c.stats[epJoin].hist.record(time.Duration(i) * time.Millisecond)
		c.stats[epJoin].byStatus[201].Add(1)
	}
	res := &Result{Config: DefaultConfig(), Drop: "d<&>", StartedAt: time.Now(), client: c}
	res.Summary.Outcomes = map[string]int{"ordered": 3}
	for i := range 20 {
		res.Series = append(res.Series, sample{T: float64(i)/4 - 2, Arrived: int64(i * 10), Joined: int64(i * 9), Admitted: int64(i), Ordered: int64(i / 2), StockLeft: int64(20 - i), Requests: int64(i * 30)})
	}
	res.fairness = []rankPair{{0, 1}, {1, 2}, {2, 3}, {3, 5}, {4, 4}}
	res.earlyCount = 2
	var buf bytes.Buffer
	if err := WriteReport(&buf, res); err != nil {
		t.Fatal(err)
	}
	charts, marks, title := parseReport(t, &buf)
	if charts != 7 {
		t.Errorf("%d charts, want 7", charts)
	}
	if marks < 4+2+2+1+3+5 {
		t.Errorf("%d drawn marks, want at least one per series, bar and point", marks)
	}
	if title != "Floodgate rush: d<&>" {
		t.Errorf("title %q not escaped back to the drop name", title)
	}
}

// TestEarlyVisitorsPollLikeThePage: before the opening a visitor whose
// place is not drawn yet asks every 3 s, as the page does, not every
// second, and comes back within a second after the opening; one with a
// place follows its ETA and comes back by the opening too.
func TestEarlyVisitorsPollLikeThePage(t *testing.T) {
	r := &run{cfg: DefaultConfig(), origin: time.Now().Add(8 * time.Second)}
	v := &visitor{early: true}
	for range 200 {
		if d := r.pollPause(v, &queueStatus{State: "waiting", EtaSeconds: 8}); d < 2700*time.Millisecond || d > 3300*time.Millisecond {
			t.Fatalf("an early visitor without a place waits %v with the opening 8 s away; want 3 s ± 10%%", d)
		}
	}
	r.origin = time.Now().Add(1500 * time.Millisecond)
	for range 200 {
		if d := r.pollPause(v, &queueStatus{State: "waiting", EtaSeconds: 2}); d > 2500*time.Millisecond {
			t.Fatalf("an early visitor without a place waits %v with the opening 1.5 s away; want it back within a second after the opening", d)
		}
	}
	r.origin = time.Now().Add(2 * time.Second)
	for range 200 {
		if d := r.pollPause(v, &queueStatus{State: "waiting", Position: 40, Ahead: 39, EtaSeconds: 60}); d > 3*time.Second+100*time.Millisecond {
			t.Fatalf("a visitor with a place waits %v with the opening 2 s away; want it back within a second of the opening", d)
		}
	}
	r.origin = time.Now().Add(-time.Second)
	for range 200 {
		if d := r.pollPause(v, &queueStatus{State: "waiting", Position: 400, Ahead: 399, EtaSeconds: 1}); d > r.cfg.MinPoll*6/5 {
			t.Fatalf("after the opening a visitor near the front waits %v; want about MinPoll (%v)", d, r.cfg.MinPoll)
		}
	}
}

// TestCollectLess: during a rush the generator collects less often, and
// afterwards the setting is back; it collects once before the opening;
// GOGC or GOMEMLIMIT set by the user win.
func TestCollectLess(t *testing.T) {
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	percent := debug.SetGCPercent(100)
	defer debug.SetGCPercent(percent)
	restore := collectLess()
	if p := debug.SetGCPercent(400); p != 400 {
		t.Errorf("during the rush GOGC %d; want 400", p)
	}
	restore()
	if p := debug.SetGCPercent(100); p != 100 {
		t.Errorf("after the rush GOGC %d; want 100 back", p)
	}
	// The collection it was asked for ahead of the opening comes.
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	forced := ms.NumForcedGC
	cancel := collectBefore(time.Now().Add(collectAhead + 10*time.Millisecond))
	for deadline := time.Now().Add(10 * time.Second); ms.NumForcedGC == forced && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
		runtime.ReadMemStats(&ms)
	}
	cancel()
	if ms.NumForcedGC == forced {
		t.Error("no collection at the time asked for")
	}
	for _, env := range []string{"GOGC", "GOMEMLIMIT"} {
		t.Run(env, func(t *testing.T) {
			t.Setenv(env, "100")
			restore := collectLess()
			if p := debug.SetGCPercent(100); p != 100 {
				t.Errorf("with %s set, a rush changed GOGC to %d", env, p)
			}
			restore()
			runtime.ReadMemStats(&ms)
			forced := ms.NumForcedGC
			cancel := collectBefore(time.Now().Add(collectAhead + time.Millisecond))
			time.Sleep(100 * time.Millisecond)
			cancel()
			if runtime.ReadMemStats(&ms); ms.NumForcedGC != forced {
				t.Errorf("with %s set, a rush collected before the opening", env)
			}
		})
	}
}
