package rush

import (
	"fmt"
	"html/template"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/floodgate/floodgate/internal/chart"
)

// WriteReport writes the rush as one self-contained HTML page: the summary,
// and SVG charts of arrivals, admissions and orders over time, the queue
// length and stock left, latency percentiles per endpoint, and the fairness
// plot of arrival rank against queue position. It needs no network to view.
func WriteReport(w io.Writer, res *Result) error {
	s := res.Summary
	verdict := func(ok bool) string {
		if ok {
			return "ok"
		}
		return "FAILED"
	}
	rows := []row{
		{"Visitors", fmt.Sprint(s.Visitors), fmt.Sprintf("%d bots", s.Bots)},
		{"Stock / sold", fmt.Sprintf("%d / %d", s.Stock, s.Sold), fmt.Sprintf("%d orders listed by the server, %d confirmed to visitors", s.ServerOrders, s.Ordered)},
		{"Oversold", fmt.Sprint(s.Oversold), verdict(s.Oversold == 0 && !s.CounterMismatch)},
		{"Lost orders", fmt.Sprint(s.LostOrders), verdict(s.LostOrders == 0) + ": confirmed to a visitor but missing from the server's list"},
		{"Duplicate orders", fmt.Sprint(s.DuplicateOrders), verdict(s.DuplicateOrders == 0) + fmt.Sprintf(" (duplicate vouchers: %d)", s.DuplicateVouchers)},
		{"5xx answers", fmt.Sprint(s.Errors5xx), verdict(s.Errors5xx == 0) + fmt.Sprintf(" (no answer at all: %d, unexpected answers: %d)", s.TransportErrors, s.Unexpected)},
		{"Sold out after the opening", seconds(s.SelloutSeconds), "every unit ordered"},
		{"All stock taken after the opening", seconds(s.AllocatedSeconds), "nothing left to hold: every unit held or sold"},
		{"Latency p50 / p99", fmt.Sprintf("%.1f ms / %.1f ms", s.P50MS, s.P99MS), "over join, status, hold, session and order requests"},
		{"Kendall tau (after-start arrivals)", fmt.Sprintf("%.4f", s.KendallTau), fmt.Sprintf("%d visitors; early arrivals, shuffled on purpose: %.4f", s.FairnessSample, s.EarlyKendallTau)},
		{"Bots admitted / bought", fmt.Sprintf("%d / %d", s.BotsAdmitted, s.BotsOrdered), fmt.Sprintf("%d bots got a ticket; %d bot joins answered 429", s.BotsJoined, s.BotJoinsLimited)},
		{"Join challenge, visitors", fmt.Sprintf("median %.1f ms per visitor", s.VisitorChallengeP50MS),
			fmt.Sprintf("%d challenges (up to %d bits), p50 %.1f ms / p99 %.1f ms each, %.1f s of hashing in all", s.VisitorChallenges, s.VisitorMaxBits, s.VisitorChallengedP50, s.VisitorChallengedP99, s.VisitorSolveSeconds)},
		{"Join challenge, bots", fmt.Sprintf("%.1f s of hashing", s.BotSolveSeconds),
			fmt.Sprintf("%d challenges (up to %d bits): %d solved, %d given up; %d hashes; per bot admitted: %s", s.BotChallenges, s.BotMaxBits, s.BotChallengesSolved, s.BotChallengesGaveUp, s.BotHashes, perAdmitted(s))},
		{"Forged / premature / reused tickets taken", fmt.Sprintf("%d / %d / %d", s.ForgedAccepted, s.PrematureAccepted, s.ReuseAccepted), verdict(s.ForgedAccepted+s.PrematureAccepted+s.ReuseAccepted == 0)},
		{"Requests", fmt.Sprintf("%d (%.0f/s)", s.Requests, s.RequestsPerSecond), fmt.Sprintf("over %.1f s", s.DurationSeconds)},
		{"Generator CPU", fmt.Sprintf("%.0f%% of all cores", 100*s.GeneratorCPUShare), serverNote(s)},
		{"Generator queueing p99", fmt.Sprintf("%.1f ms", s.GeneratorQueueP99), "time visitors' requests waited for a free worker in the generator, over the joins', the status polls' and the buyers' lanes together (bots have a lane of their own); a long wait says the workers were busy, not with what: the exchange and pace rows below say whether with the server's time or the generator's"},
		{"Generator queueing p99 per lane", fmt.Sprintf("joins %.1f ms / status %.1f ms / buying %.1f ms", s.GeneratorJoinQueueP99, s.GeneratorStatusQueueP99, s.GeneratorBuyQueueP99),
			fmt.Sprintf("each lane has its own workers, as each browser its own connection; visitors holding a ticket (status and buying): %.1f ms", s.GeneratorInLineQueueP99)},
		{"Generator exchange mean / p99 per lane", fmt.Sprintf("joins %.1f / %.1f ms, status %.1f / %.1f ms, buying %.1f / %.1f ms", s.GeneratorJoinExchangeMeanMS, s.GeneratorJoinExchangeP99MS, s.GeneratorStatusExchangeMeanMS, s.GeneratorStatusExchangeP99MS, s.GeneratorBuyExchangeMeanMS, s.GeneratorBuyExchangeP99MS),
			"time from a worker sending a request to having its answer: what the lane's workers were busy with"},
	}
	rows = append(rows, paceRows(s)...)
	rows = append(rows, schedRow(s))
	if s.PaymentSeconds > 0 {
		rows = append(rows,
			row{"Payment", fmt.Sprintf("%d paid, %d never paid", s.Paid, s.Unpaid), fmt.Sprintf("%d s to pay; %d paid too late", s.PaymentSeconds, s.PaidLate)},
			row{"Units recycled", fmt.Sprint(s.UnitsRecycled), "units of expired or cancelled orders that went back on sale"},
			row{"Final sell-out after the opening", seconds(s.FinalSelloutSeconds), "every unit paid"})
	}
	var outcomes []row
	for _, name := range outcomeNames {
		if n := s.Outcomes[name]; n > 0 {
			outcomes = append(outcomes, row{name, fmt.Sprint(n), ""})
		}
	}
	data := struct {
		Title    string
		When     string
		Config   string
		Rows     []row
		Outcomes []row
		Charts   []template.HTML
		Latency  []latencyRow
		Timeline []timelineCells
	}{
		Title:    "Floodgate rush: " + res.Drop,
		When:     res.StartedAt.UTC().Format(time.RFC3339),
		Config:   describeConfig(res.Config),
		Rows:     rows,
		Outcomes: outcomes,
		Latency:  latencyRows(res.client),
		Timeline: timelineTable(res.Summary.Timeline),
	}
	data.Charts = []template.HTML{
		lineChart("Visitors over time", "seconds since the opening", "visitors", res.Series, []seriesDef{
			{"arrived", "#7f7f7f", func(_ int, s sample) float64 { return float64(s.Arrived) }},
			{"got a ticket", "#1f77b4", func(_ int, s sample) float64 { return float64(s.Joined) }},
			{"admitted", "#ff7f0e", func(_ int, s sample) float64 { return float64(s.Admitted) }},
			{"ordered", "#2ca02c", func(_ int, s sample) float64 { return float64(s.Ordered) }},
		}),
		lineChart("Queue length and stock left", "seconds since the opening", "count", res.Series, []seriesDef{
			{"waiting in the queue", "#1f77b4", func(_ int, s sample) float64 { return float64(s.Waiting) }},
			{"stock left", "#d62728", func(_ int, s sample) float64 {
				if s.StockLeft < 0 {
					return math.NaN()
				}
				return float64(s.StockLeft)
			}},
		}),
		lineChart("Join challenge difficulty", "seconds since the opening", "bits (each doubles the work)", res.Series, []seriesDef{
			{"bots", "#d62728", func(_ int, s sample) float64 { return float64(s.BotBits) }},
			{"visitors", "#1f77b4", func(_ int, s sample) float64 { return float64(s.VisitorBits) }},
		}),
		requestsChart(res.timeline),
		admissionsChart(res.timeline),
		latencyChart(data.Latency),
		fairnessChart(res.fairness, res.earlyCount),
	}
	return reportTemplate.Execute(w, data)
}

// row is a line of the report's summary table.
type row struct{ Name, Value, Note string }

// paceRows are the server's own time per lane and what it says of the
// lane's pace.
func paceRows(s Summary) []row {
	if s.ServerJoins == 0 {
		return []row{{"Server time per request", "not read", "needs the rush's own server (--demo or --server-pid) and a token that may read its /metrics"}}
	}
	rows := []row{{"Server time per join", fmt.Sprintf("%.1f ms mean over %d joins", s.ServerJoinMeanMS, s.ServerJoins),
		fmt.Sprintf("from the server's /metrics, every client's joins, bots' too; %d joins waited at the join gate while the node was busy with visitors in line, %.1f ms on average", s.ServerJoinGateWaited, s.ServerJoinGateWaitMeanMS)}}
	for _, p := range s.paces() {
		v := fmt.Sprintf("server %.1f ms of a %.1f ms exchange", p.ServerMean, p.ExchangeMean)
		if p.Share == 0 {
			v = fmt.Sprintf("a %.1f ms exchange", p.ExchangeMean)
		}
		rows = append(rows, row{"Pace of " + p.Lane, v, p.verdict()})
	}
	return rows
}

// schedRow is how long each process's goroutines waited for a core.
func schedRow(s Summary) row {
	return row{"Goroutines waiting for a core", s.schedWaits(),
		"the Go runtime's time from runnable to running over the rush (bucket upper bounds; the server's buckets are about ten times apart), the server's from its /metrics: the two processes share the machine's cores"}
}

// perAdmitted is the bots' hashing per bot admitted.
func perAdmitted(s Summary) string {
	if s.BotsAdmitted == 0 {
		return "no bot admitted"
	}
	return fmt.Sprintf("%.2f s", s.BotSolveSeconds/float64(s.BotsAdmitted))
}

func serverNote(s Summary) string {
	if s.ServerCPUShare == 0 && s.ServerPeakRSSMB == 0 {
		return ""
	}
	return fmt.Sprintf("server: %.0f%% of all cores, peak RSS %.0f MiB", 100*s.ServerCPUShare, s.ServerPeakRSSMB)
}

func seconds(v float64) string {
	if v < 0 {
		return "not sold out"
	}
	return fmt.Sprintf("%.2f s", v)
}

func describeConfig(c Config) string {
	return fmt.Sprintf("%d visitors (%.0f%% early within %v before the opening, the rest within %v after it, burst time constant %v, %.0f%% bots on %d addresses, %.0f%% over SSE), %d units, %d per customer, admission %d/s, %d requests in flight, seed %d",
		c.Visitors, 100*c.EarlyShare, c.Lead, c.Window, c.Burst, 100*c.BotShare, c.BotAddrs, 100*c.SSEShare, c.Stock, c.PerCustomerLimit, c.AdmitPerSecond, c.InFlight, c.Seed)
}

type latencyRow struct {
	Name                    string
	Count                   int64
	P50, P90, P99, Max, Avg float64
	Statuses                string
}

func latencyRows(c *client) []latencyRow {
	var rows []latencyRow
	for ep := range numEndpoints {
		st := &c.stats[ep]
		var codes []string
		for code := range st.byStatus {
			if n := st.byStatus[code].Load(); n > 0 {
				codes = append(codes, fmt.Sprintf("%d×%d", code, n))
			}
		}
		if n := st.transport.Load(); n > 0 {
			codes = append(codes, fmt.Sprintf("no answer×%d", n))
		}
		if st.hist.count() == 0 && len(codes) == 0 {
			continue
		}
		h := &st.hist
		rows = append(rows, latencyRow{
			Name: endpointNames[ep], Count: h.count(),
			P50: h.quantile(0.5), P90: h.quantile(0.9), P99: h.quantile(0.99), Max: h.maxMS(), Avg: h.meanMS(),
			Statuses: strings.Join(codes, ", "),
		})
	}
	return rows
}

type seriesDef struct {
	name  string
	color string
	value func(i int, s sample) float64
}

// lineChart draws defs over the samples' time, with the opening marked.
func lineChart(title, xLabel, yLabel string, series []sample, defs []seriesDef) template.HTML {
	xs := make([]float64, len(series))
	for j, s := range series {
		xs[j] = s.T
	}
	var out []chart.Series
	for _, d := range defs {
		ys := make([]float64, len(series))
		for j, s := range series {
			ys[j] = d.value(j, s)
		}
		out = append(out, chart.Series{Name: d.name, Color: d.color, X: xs, Y: ys})
	}
	return chart.Line("", title, xLabel, yLabel, out, chart.Marker{X: 0, Label: "opening"})
}

// requestsChart draws the requests answered per second by endpoint, at the
// timeline's 250 ms resolution.
func requestsChart(tl *timeline) template.HTML {
	rows := tl.rows(1)
	per := 1 / timelineStep.Seconds()
	xs := make([]float64, len(rows))
	for i, r := range rows {
		xs[i] = r.t
	}
	line := func(name, color string, value func(timelineRow) int64) chart.Series {
		ys := make([]float64, len(rows))
		for i, r := range rows {
			ys[i] = float64(value(r)) * per
		}
		return chart.Series{Name: name, Color: color, X: xs, Y: ys}
	}
	ep := func(eps ...endpoint) func(timelineRow) int64 {
		return func(r timelineRow) int64 {
			var n int64
			for _, e := range eps {
				n += r.requests[e]
			}
			return n
		}
	}
	return chart.Line("", "Requests per second by endpoint", "seconds since the opening", "requests/s", []chart.Series{
		line("all", "#7f7f7f", ep(epJoin, epStatus, epSSE, epHold, epSession, epOrder, epDrop, epAdmin, epForged)),
		line("join", "#1f77b4", ep(epJoin)),
		line("status", "#ff7f0e", ep(epStatus)),
		line("hold + session + order", "#2ca02c", ep(epHold, epSession, epOrder)),
		line("forged tickets", "#d62728", ep(epForged)),
	}, chart.Marker{X: 0, Label: "opening"})
}

// admissionsChart draws, per second at the timeline's resolution, the
// positions the server admitted, the admissions visitors learnt of and the
// orders confirmed: the gap between the first two is the polling delay.
func admissionsChart(tl *timeline) template.HTML {
	rows := tl.rows(1)
	per := 1 / timelineStep.Seconds()
	xs := make([]float64, len(rows))
	server, learnt, ordered := make([]float64, len(rows)), make([]float64, len(rows)), make([]float64, len(rows))
	for i, r := range rows {
		xs[i] = r.t
		server[i] = float64(r.serverAdmitted) * per
		learnt[i] = float64(r.admitted) * per
		ordered[i] = float64(r.ordered) * per
	}
	return chart.Line("", "Admissions and orders per second", "seconds since the opening", "per second", []chart.Series{
		{Name: "admitted by the server", Color: "#9467bd", X: xs, Y: server},
		{Name: "admissions visitors learnt of", Color: "#ff7f0e", X: xs, Y: learnt},
		{Name: "orders confirmed", Color: "#2ca02c", X: xs, Y: ordered},
	}, chart.Marker{X: 0, Label: "opening"})
}

// timelineCells are the cells of one second of the timeline's table.
type timelineCells []string

func timelineTable(tl *Timeline) []timelineCells {
	if tl == nil {
		return nil
	}
	out := make([]timelineCells, len(tl.Join))
	for i := range tl.Join {
		n := func(v []int64) string { return chart.Thousands(v[i]) }
		out[i] = timelineCells{strconv.Itoa(tl.Start + i), n(tl.Join), n(tl.Status), n(tl.Hold), n(tl.Session), n(tl.Order), n(tl.Other),
			n(tl.ServerAdmitted), n(tl.Admitted), n(tl.Ordered), fmt.Sprintf("%.1f", tl.WaitMaxMS[i]), joinWait(tl, i)}
	}
	return out
}

// joinWait is the cell of the joins' generator wait in second i; empty in
// a summary from before the joins had a lane of their own.
func joinWait(tl *Timeline, i int) string {
	if i >= len(tl.JoinWaitMaxMS) {
		return ""
	}
	return fmt.Sprintf("%.1f", tl.JoinWaitMaxMS[i])
}

// latencyChart draws p50, p90 and p99 per endpoint as bars on a log scale
// (latencies span from below a millisecond to seconds).
func latencyChart(rows []latencyRow) template.HTML {
	groups := make([]chart.Group, len(rows))
	for i, r := range rows {
		groups[i] = chart.Group{Name: shortName(r.Name), Values: []float64{r.P50, r.P90, r.P99}}
	}
	return chart.LogBars("Latency percentiles per endpoint (ms, log scale)", []string{"p50", "p90", "p99"},
		[]string{"#2ca02c", "#ff7f0e", "#d62728"}, groups, 0.01)
}

func shortName(s string) string {
	if i := strings.IndexByte(s, '('); i > 0 {
		return strings.TrimSpace(s[:i])
	}
	return s
}

// fairnessChart plots each visitor's arrival rank against its queue
// position. A fair FIFO queue is a rising diagonal for arrivals after the
// opening; early arrivals form a shuffled block at the front.
func fairnessChart(pairs []rankPair, early int) template.HTML {
	after := len(pairs) - early
	sets := []chart.Points{
		{Name: "arrived after the opening", Color: "#1f77b4"},
		{Name: "arrived early (shuffled at the opening)", Color: "#ff7f0e"},
	}
	for i, p := range pairs {
		k := 0
		if i >= after {
			k = 1
		}
		sets[k].X = append(sets[k].X, float64(p.arrival))
		sets[k].Y = append(sets[k].Y, float64(p.position))
	}
	return chart.Scatter("Fairness: arrival rank against queue position (non-bot visitors)", "arrival rank", "queue position", sets)
}

var reportTemplate = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8"/>
<meta name="viewport" content="width=device-width, initial-scale=1"/>
<title>{{.Title}}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 760px; padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; width: 100%; }
th, td { border-bottom: 1px solid #ddd; padding: 4px 8px; text-align: left; font-size: 14px; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
svg.chart { display: block; margin: 1.5em 0; max-width: 100%; height: auto; }
p.config { color: #555; font-size: 13px; }
</style>
</head>
<body>
<h1>{{.Title}}</h1>
<p>Opening at {{.When}}.</p>
<p class="config">{{.Config}}</p>
<h2>Summary</h2>
<table>
{{range .Rows}}<tr><th>{{.Name}}</th><td class="num">{{.Value}}</td><td>{{.Note}}</td></tr>
{{end}}</table>
<h2>What happened to the visitors</h2>
<table>
{{range .Outcomes}}<tr><th>{{.Name}}</th><td class="num">{{.Value}}</td></tr>
{{end}}</table>
<h2>Charts</h2>
{{range .Charts}}{{.}}
{{end}}
{{if .Timeline}}<h2>Second by second</h2>
<p class="config">Requests answered per endpoint in each second (bots included; other: forged tickets, the drop monitor, admin calls), positions the server admitted, admissions visitors learnt of, orders confirmed, and the longest a request waited for a slot in the generator: a poll or buying request of a visitor already in line, and a join (joins have a lane of their own).</p>
<table>
<tr><th>s</th><th>join</th><th>status</th><th>hold</th><th>session</th><th>order</th><th>other</th><th>admitted (server)</th><th>admitted (visitors)</th><th>ordered</th><th>generator wait max ms (in line)</th><th>generator wait max ms (joins)</th></tr>
{{range .Timeline}}<tr>{{range .}}<td class="num">{{.}}</td>{{end}}</tr>
{{end}}</table>
{{end}}<h2>Latency per endpoint</h2>
<table>
<tr><th>endpoint</th><th>requests</th><th>p50 ms</th><th>p90 ms</th><th>p99 ms</th><th>max ms</th><th>answers</th></tr>
{{range .Latency}}<tr><td>{{.Name}}</td><td class="num">{{.Count}}</td><td class="num">{{printf "%.2f" .P50}}</td><td class="num">{{printf "%.2f" .P90}}</td><td class="num">{{printf "%.2f" .P99}}</td><td class="num">{{printf "%.1f" .Max}}</td><td>{{.Statuses}}</td></tr>
{{end}}</table>
</body>
</html>
`))
