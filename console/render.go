package console

import (
	"encoding/json"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"strings"
	"time"

	fhttp "github.com/floodgate/floodgate/http"
	"github.com/floodgate/floodgate/internal/chart"
	"github.com/floodgate/floodgate/internal/pages"
)

func (h *Handler) parseTemplates() error {
	funcs := template.FuncMap{
		"t":    T,
		"msgs": msgs,
		"list": func(v ...string) []string { return v },
		"err": func(l string, errs map[string]string, field string) string {
			v, ok := errs[field]
			if !ok {
				return ""
			}
			if strings.HasPrefix(v, "api:") {
				return v[4:]
			}
			return T(l, v)
		},
		"num": chart.Thousands,
		"f1":  func(v float64) string { return fmt.Sprintf("%.1f", v) },
		"f2":  func(v float64) string { return fmt.Sprintf("%.2f", v) },
		"pct": func(v float64) string { return fmt.Sprintf("%.1f%%", 100*v) },
		"when": func(t time.Time) string {
			if t.IsZero() {
				return "—"
			}
			return t.UTC().Format("2006-01-02 15:04:05 UTC")
		},
		"whenp": func(t *time.Time) string {
			if t == nil {
				return "—"
			}
			return t.UTC().Format("2006-01-02 15:04:05 UTC")
		},
		"secs": func(v *float64) string {
			if v == nil {
				return "—"
			}
			return fmt.Sprintf("%.2f s", *v)
		},
		"eta": func(v *float64) string {
			if v == nil {
				return "—"
			}
			return fmt.Sprintf("%.0f s", math.Ceil(*v))
		},
		"share": func(a, b int64) string {
			if b == 0 {
				return "—"
			}
			return fmt.Sprintf("%.1f%%", 100*float64(a)/float64(b))
		},
	}
	var err error
	h.pages, err = pages.Parse(templateFS, funcs, "login", "drops", "new", "live", "report", "orders", "incidents", "audit", "notfound")
	if err != nil {
		return fmt.Errorf("console: %w", err)
	}
	return nil
}

// page is what every template gets.
type page struct {
	Lang    string
	Path    string
	CSRF    string
	Signed  bool
	Done    string
	Data    map[string]any
	Expires time.Time
}

func (h *Handler) render(w http.ResponseWriter, r *http.Request, name string, status int, data map[string]any) {
	pages.RememberLang(w, r, "/admin", h.secure(r))
	p := page{Lang: pages.Lang(r), Path: r.URL.Path, Data: data, Done: r.URL.Query().Get("done")}
	if s := sessionOf(r); s.ID != "" {
		p.Signed, p.CSRF, p.Expires = true, h.csrf(s), time.Unix(s.Exp, 0).UTC()
	}
	h.pages.Write(w, h.log, name, status, p, "The page could not be drawn.")
}

func jsonJS(v any) template.JS {
	b, _ := json.Marshal(v) // escapes <, > and &
	return template.JS(b)
}

// timelineSeries turns timeline points into chart series.
func timelineSeries(l string, tl []fhttp.TimelinePoint) (counts, rates []chart.Series) {
	tl = steps(tl)
	xs := make([]float64, len(tl))
	var joined, admitted, held, sold, waiting []float64
	for i, p := range tl {
		xs[i] = p.T
		joined = append(joined, float64(p.Joined))
		admitted = append(admitted, float64(p.Admitted))
		held = append(held, float64(p.Held))
		sold = append(sold, float64(p.Sold))
		waiting = append(waiting, float64(max(0, p.Joined-p.Admitted)))
	}
	counts = []chart.Series{
		{Name: T(l, "waiting"), Color: "#1f5fa8", X: xs, Y: waiting},
		{Name: T(l, "admitted"), Color: "#c25e00", X: xs, Y: admitted},
		{Name: T(l, "holds"), Color: "#7b3fa0", X: xs, Y: held},
		{Name: T(l, "sold"), Color: "#1d7a36", X: xs, Y: sold},
	}
	rate := func(vals []float64) []float64 {
		out := make([]float64, len(vals))
		for i := range vals {
			out[i] = math.NaN()
			// Over about a second, so that one tick's jitter does not show.
			j := i
			for j > 0 && xs[i]-xs[j] < 1 {
				j--
			}
			if dt := xs[i] - xs[j]; dt > 0 {
				out[i] = (vals[i] - vals[j]) / dt
			}
		}
		return out
	}
	rates = []chart.Series{
		{Name: T(l, "joins_per_s"), Color: "#1f5fa8", X: xs, Y: rate(joined)},
		{Name: T(l, "admitted_per_s"), Color: "#c25e00", X: xs, Y: rate(admitted)},
		{Name: T(l, "sold_per_s"), Color: "#1d7a36", X: xs, Y: rate(sold)},
	}
	_ = joined
	return counts, rates
}

func liveCharts(lv fhttp.LiveView, l string) []template.HTML {
	counts, rates := timelineSeries(l, lv.Timeline)
	return []template.HTML{
		chart.Line("counts", T(l, "chart_counts"), T(l, "seconds_since_opening"), T(l, "people_units"), counts, chart.Marker{X: 0, Label: T(l, "opening")}),
		chart.Line("rates", T(l, "chart_rates"), T(l, "seconds_since_opening"), T(l, "per_second"), rates, chart.Marker{X: 0, Label: T(l, "opening")}),
	}
}

func reportCharts(rep fhttp.Report, l string) []template.HTML {
	counts, rates := timelineSeries(l, rep.Timeline)
	var labels []string
	var values []float64
	for _, st := range rep.Funnel {
		labels = append(labels, T(l, "funnel_"+st.Step))
		values = append(values, float64(st.Count))
	}
	out := []template.HTML{
		chart.Bars(T(l, "chart_funnel"), T(l, "people"), labels, values, "#1f5fa8"),
		chart.Line("", T(l, "chart_counts"), T(l, "seconds_since_opening"), T(l, "people_units"), counts, chart.Marker{X: 0, Label: T(l, "opening")}),
		chart.Line("", T(l, "chart_rates"), T(l, "seconds_since_opening"), T(l, "per_second"), rates, chart.Marker{X: 0, Label: T(l, "opening")}),
	}
	if w := rep.WaitSeconds; rep.WaitSample > 0 {
		out = append(out, chart.Bars(T(l, "chart_wait"), T(l, "seconds"), []string{"p50", "p90", "p99"}, []float64{w.P50, w.P90, w.P99}, "#c25e00"))
	}
	return out
}

// steps makes the timeline a step function: points are recorded only when
// a counter moves, so before each point that follows a quiet spell the
// counters stood where the previous point left them.
func steps(tl []fhttp.TimelinePoint) []fhttp.TimelinePoint {
	out := make([]fhttp.TimelinePoint, 0, len(tl))
	for i, p := range tl {
		if i > 0 && p.T-tl[i-1].T > 0.5 {
			q := tl[i-1]
			if p.T-q.T > 1.2 {
				q.T = tl[i-1].T + 1
				out = append(out, q)
			}
			q.T = p.T - 0.1
			out = append(out, q)
		}
		out = append(out, p)
	}
	return out
}
