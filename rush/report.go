package rush

import (
	"fmt"
	"html"
	"html/template"
	"io"
	"math"
	"slices"
	"strings"
	"time"
)

// WriteReport writes the rush as one self-contained HTML page: the summary,
// and SVG charts of arrivals, admissions and orders over time, the queue
// length and stock left, latency percentiles per endpoint, and the fairness
// plot of arrival rank against queue position. It needs no network to view.
func WriteReport(w io.Writer, res *Result) error {
	s := res.Summary
	type row struct{ Name, Value, Note string }
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
		{"Forged / premature / reused tickets taken", fmt.Sprintf("%d / %d / %d", s.ForgedAccepted, s.PrematureAccepted, s.ReuseAccepted), verdict(s.ForgedAccepted+s.PrematureAccepted+s.ReuseAccepted == 0)},
		{"Requests", fmt.Sprintf("%d (%.0f/s)", s.Requests, s.RequestsPerSecond), fmt.Sprintf("over %.1f s", s.DurationSeconds)},
		{"Generator CPU", fmt.Sprintf("%.0f%% of all cores", 100*s.GeneratorCPUShare), serverNote(s)},
		{"Generator queueing p99", fmt.Sprintf("%.1f ms", s.GeneratorQueueP99), "time requests waited for a free slot in the generator; large values mean the generator, not the server, set the pace"},
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
	}{
		Title:    "Floodgate rush: " + res.Drop,
		When:     res.StartedAt.UTC().Format(time.RFC3339),
		Config:   describeConfig(res.Config),
		Rows:     rows,
		Outcomes: outcomes,
		Latency:  latencyRows(res.client),
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
		lineChart("Requests per second", "seconds since the opening", "requests/s", res.Series, rateDefs(res.Series)),
		latencyChart(data.Latency),
		fairnessChart(res.fairness, res.earlyCount),
	}
	return reportTemplate.Execute(w, data)
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

// rateDefs turns the cumulative request count into a rate.
func rateDefs(series []sample) []seriesDef {
	rates := make(map[int]float64, len(series))
	for i := 1; i < len(series); i++ {
		if dt := series[i].T - series[i-1].T; dt > 0 {
			rates[i] = float64(series[i].Requests-series[i-1].Requests) / dt
		}
	}
	return []seriesDef{{"requests/s", "#9467bd", func(i int, _ sample) float64 {
		if v, ok := rates[i]; ok {
			return v
		}
		return math.NaN()
	}}}
}

// Chart geometry.
const (
	chartW, chartH         = 720, 300
	padL, padR, padT, padB = 70, 20, 36, 46
	plotW, plotH           = chartW - padL - padR, chartH - padT - padB
	maxFairnessPoints      = 2000
	svgOpen                = `<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="%s">`
	fontAttrs              = `font-family="sans-serif" font-size="11"`
)

func niceMax(v float64) float64 {
	if v <= 0 || math.IsNaN(v) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

func fmtTick(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%gM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%gk", v/1e3)
	default:
		return fmt.Sprintf("%g", math.Round(v*100)/100)
	}
}

func axes(b *strings.Builder, title, xLabel, yLabel string, x0, x1, y1 float64) {
	fmt.Fprintf(b, `<text x="%d" y="20" %s font-size="14" font-weight="bold">%s</text>`, padL, fontAttrs, html.EscapeString(title))
	fmt.Fprintf(b, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#999"/>`, padL, padT, plotW, plotH)
	for i := 0; i <= 4; i++ {
		y := padT + plotH - plotH*i/4
		fmt.Fprintf(b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#eee"/>`, padL, y, padL+plotW, y)
		fmt.Fprintf(b, `<text x="%d" y="%d" %s text-anchor="end">%s</text>`, padL-6, y+4, fontAttrs, fmtTick(y1*float64(i)/4))
		x := padL + plotW*i/4
		fmt.Fprintf(b, `<text x="%d" y="%d" %s text-anchor="middle">%s</text>`, x, padT+plotH+16, fontAttrs, fmtTick(x0+(x1-x0)*float64(i)/4))
	}
	fmt.Fprintf(b, `<text x="%d" y="%d" %s text-anchor="middle">%s</text>`, padL+plotW/2, chartH-8, fontAttrs, html.EscapeString(xLabel))
	fmt.Fprintf(b, `<text x="14" y="%d" %s text-anchor="middle" transform="rotate(-90 14 %d)">%s</text>`, padT+plotH/2, fontAttrs, padT+plotH/2, html.EscapeString(yLabel))
}

func legend(b *strings.Builder, names, colors []string) {
	x := padL + 10
	for i, n := range names {
		fmt.Fprintf(b, `<rect x="%d" y="%d" width="10" height="10" fill="%s"/>`, x, padT+8, colors[i])
		fmt.Fprintf(b, `<text x="%d" y="%d" %s>%s</text>`, x+14, padT+17, fontAttrs, html.EscapeString(n))
		x += 24 + 7*len(n)
	}
}

func lineChart(title, xLabel, yLabel string, series []sample, defs []seriesDef) template.HTML {
	var b strings.Builder
	fmt.Fprintf(&b, svgOpen, chartW, chartH, chartW, chartH, html.EscapeString(title))
	x0, x1 := 0.0, 1.0
	if len(series) > 0 {
		x0, x1 = series[0].T, series[len(series)-1].T
		if x1 <= x0 {
			x1 = x0 + 1
		}
	}
	values := make([][]float64, len(defs))
	ymax := 0.0
	for i, d := range defs {
		values[i] = make([]float64, len(series))
		for j, s := range series {
			v := d.value(j, s)
			values[i][j] = v
			if !math.IsNaN(v) && v > ymax {
				ymax = v
			}
		}
	}
	ymax = niceMax(ymax)
	axes(&b, title, xLabel, yLabel, x0, x1, ymax)
	var names, colors []string
	for i, d := range defs {
		names, colors = append(names, d.name), append(colors, d.color)
		var pts []string
		for j, s := range series {
			v := values[i][j]
			if math.IsNaN(v) {
				continue
			}
			px := float64(padL) + (s.T-x0)/(x1-x0)*plotW
			py := float64(padT+plotH) - v/ymax*plotH
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", px, py))
		}
		if len(pts) > 0 {
			fmt.Fprintf(&b, `<polyline class="series" fill="none" stroke="%s" stroke-width="2" points="%s"/>`, d.color, strings.Join(pts, " "))
		}
	}
	if x0 < 0 && x1 > 0 {
		px := float64(padL) + (0-x0)/(x1-x0)*plotW
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#000" stroke-dasharray="4 3"/>`, px, padT, px, padT+plotH)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" %s>opening</text>`, px+3, padT+plotH-4, fontAttrs)
	}
	legend(&b, names, colors)
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// latencyChart draws p50, p90 and p99 per endpoint as bars on a log scale
// (latencies span from below a millisecond to seconds).
func latencyChart(rows []latencyRow) template.HTML {
	var b strings.Builder
	const title = "Latency percentiles per endpoint (ms, log scale)"
	fmt.Fprintf(&b, svgOpen, chartW, chartH, chartW, chartH, title)
	maxV := 1.0
	for _, r := range rows {
		maxV = max(maxV, r.P99)
	}
	top := math.Pow(10, math.Ceil(math.Log10(maxV)))
	const bottom = 0.01
	logY := func(v float64) float64 {
		v = max(v, bottom)
		return float64(padT+plotH) - (math.Log10(v)-math.Log10(bottom))/(math.Log10(top)-math.Log10(bottom))*plotH
	}
	fmt.Fprintf(&b, `<text x="%d" y="20" %s font-size="14" font-weight="bold">%s</text>`, padL, fontAttrs, title)
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#999"/>`, padL, padT, plotW, plotH)
	for v := bottom; v <= top*1.001; v *= 10 {
		y := logY(v)
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#eee"/>`, padL, y, padL+plotW, y)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" %s text-anchor="end">%s</text>`, padL-6, y+4, fontAttrs, fmtTick(v))
	}
	colors := []string{"#2ca02c", "#ff7f0e", "#d62728"}
	if n := len(rows); n > 0 {
		group := float64(plotW) / float64(n)
		bar := group / 4
		for i, r := range rows {
			gx := float64(padL) + group*float64(i)
			for k, v := range []float64{r.P50, r.P90, r.P99} {
				y := logY(v)
				fmt.Fprintf(&b, `<rect class="bar" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s p%s %.2f ms</title></rect>`,
					gx+bar*(float64(k)+0.5), y, bar*0.9, float64(padT+plotH)-y, colors[k], html.EscapeString(r.Name), []string{"50", "90", "99"}[k], v)
			}
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" %s font-size="9" text-anchor="middle">%s</text>`, gx+group/2, padT+plotH+14, fontAttrs, html.EscapeString(shortName(r.Name)))
		}
	}
	legend(&b, []string{"p50", "p90", "p99"}, colors)
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
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
	var b strings.Builder
	const title = "Fairness: arrival rank against queue position (non-bot visitors)"
	fmt.Fprintf(&b, svgOpen, chartW, chartH, chartW, chartH, title)
	maxA, maxP := 1.0, 1.0
	for _, p := range pairs {
		maxA = max(maxA, float64(p.arrival))
		maxP = max(maxP, float64(p.position))
	}
	maxA, maxP = niceMax(maxA), niceMax(maxP)
	axes(&b, title, "arrival rank", "queue position", 0, maxA, maxP)
	after := len(pairs) - early
	step := max(1, len(pairs)/maxFairnessPoints)
	idx := make([]int, 0, len(pairs)/step+1)
	for i := 0; i < len(pairs); i += step {
		idx = append(idx, i)
	}
	slices.Sort(idx)
	for _, i := range idx {
		p := pairs[i]
		color := "#1f77b4"
		if i >= after {
			color = "#ff7f0e"
		}
		px := float64(padL) + float64(p.arrival)/maxA*plotW
		py := float64(padT+plotH) - float64(p.position)/maxP*plotH
		fmt.Fprintf(&b, `<circle class="point" cx="%.1f" cy="%.1f" r="1.6" fill="%s"/>`, px, py, color)
	}
	legend(&b, []string{"arrived after the opening", "arrived early (shuffled at the opening)"}, []string{"#1f77b4", "#ff7f0e"})
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
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
<h2>Latency per endpoint</h2>
<table>
<tr><th>endpoint</th><th>requests</th><th>p50 ms</th><th>p90 ms</th><th>p99 ms</th><th>max ms</th><th>answers</th></tr>
{{range .Latency}}<tr><td>{{.Name}}</td><td class="num">{{.Count}}</td><td class="num">{{printf "%.2f" .P50}}</td><td class="num">{{printf "%.2f" .P90}}</td><td class="num">{{printf "%.2f" .P99}}</td><td class="num">{{printf "%.1f" .Max}}</td><td>{{.Statuses}}</td></tr>
{{end}}</table>
</body>
</html>
`))
