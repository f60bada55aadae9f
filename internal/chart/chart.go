// Package chart draws the small SVG charts of Floodgate's reports (the rush
// report and the post-sale report) and of the operator console: line charts
// of counters over time, grouped bars on a log scale, and scatter plots.
// The charts are plain SVG strings with no script and no external
// resources, so a report prints and opens offline.
package chart

import (
	"fmt"
	"html"
	"html/template"
	"math"
	"strings"
)

// Geometry of every chart, in SVG user units.
const (
	Width, Height          = 720, 300
	padL, padR, padT, padB = 70, 20, 36, 46
	plotW, plotH           = Width - padL - padR, Height - padT - padB
	svgOpen                = `<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="%s">`
	fontAttrs              = `font-family="sans-serif" font-size="11"`
)

// Series is one line of a line chart: Y over X. NaN values are left out.
type Series struct {
	Name  string
	Color string
	X, Y  []float64
}

// Marker is a dashed vertical line at X with a label (e.g. "opening").
type Marker struct {
	X     float64
	Label string
}

// Line draws a line chart of series over a shared X axis. id, when not
// empty, names the chart (data-chart attribute) so that a page's script
// can redraw it with new points.
func Line(id, title, xLabel, yLabel string, series []Series, markers ...Marker) template.HTML {
	var b strings.Builder
	fmt.Fprintf(&b, svgOpen, Width, Height, Width, Height, html.EscapeString(title))
	x0, x1 := math.Inf(1), math.Inf(-1)
	ymax := 0.0
	for _, s := range series {
		for i, x := range s.X {
			if i < len(s.Y) && !math.IsNaN(s.Y[i]) {
				x0, x1 = min(x0, x), max(x1, x)
				ymax = max(ymax, s.Y[i])
			}
		}
	}
	if math.IsInf(x0, 0) {
		x0, x1 = 0, 1
	}
	if x1 <= x0 {
		x1 = x0 + 1
	}
	ymax = NiceMax(ymax)
	if id != "" {
		fmt.Fprintf(&b, `<g data-chart="%s" data-x0="%g" data-x1="%g" data-ymax="%g" data-plot="%d %d %d %d">`, html.EscapeString(id), x0, x1, ymax, padL, padT, plotW, plotH)
	} else {
		b.WriteString(`<g>`)
	}
	axes(&b, title, xLabel, yLabel, x0, x1, ymax)
	var names, colors []string
	for _, s := range series {
		names, colors = append(names, s.Name), append(colors, s.Color)
		var pts []string
		for i, x := range s.X {
			if i >= len(s.Y) || math.IsNaN(s.Y[i]) {
				continue
			}
			px := float64(padL) + (x-x0)/(x1-x0)*plotW
			py := float64(padT+plotH) - s.Y[i]/ymax*plotH
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", px, py))
		}
		fmt.Fprintf(&b, `<polyline class="series" data-series="%s" fill="none" stroke="%s" stroke-width="2" points="%s"/>`, html.EscapeString(s.Name), s.Color, strings.Join(pts, " "))
	}
	for _, m := range markers {
		if m.X < x0 || m.X > x1 {
			continue
		}
		px := float64(padL) + (m.X-x0)/(x1-x0)*plotW
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#000" stroke-dasharray="4 3"/>`, px, padT, px, padT+plotH)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" %s>%s</text>`, px+3, padT+plotH-4, fontAttrs, html.EscapeString(m.Label))
	}
	legend(&b, names, colors)
	b.WriteString(`</g></svg>`)
	return template.HTML(b.String())
}

// Group is one group of bars (e.g. one endpoint's p50, p90 and p99).
type Group struct {
	Name   string
	Values []float64
}

// LogBars draws groups of bars on a log scale from bottom up, one color
// and legend name per bar of a group (for values spanning decades, such as
// latencies).
func LogBars(title string, names, colors []string, groups []Group, bottom float64) template.HTML {
	var b strings.Builder
	fmt.Fprintf(&b, svgOpen, Width, Height, Width, Height, html.EscapeString(title))
	maxV := bottom * 10
	for _, g := range groups {
		for _, v := range g.Values {
			maxV = max(maxV, v)
		}
	}
	top := math.Pow(10, math.Ceil(math.Log10(maxV)))
	logY := func(v float64) float64 {
		v = max(v, bottom)
		return float64(padT+plotH) - (math.Log10(v)-math.Log10(bottom))/(math.Log10(top)-math.Log10(bottom))*plotH
	}
	fmt.Fprintf(&b, `<text x="%d" y="20" %s font-size="14" font-weight="bold">%s</text>`, padL, fontAttrs, html.EscapeString(title))
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#999"/>`, padL, padT, plotW, plotH)
	for v := bottom; v <= top*1.001; v *= 10 {
		y := logY(v)
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#eee"/>`, padL, y, padL+plotW, y)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" %s text-anchor="end">%s</text>`, padL-6, y+4, fontAttrs, FmtTick(v))
	}
	if n := len(groups); n > 0 {
		group := float64(plotW) / float64(n)
		bar := group / float64(len(names)+1)
		for i, g := range groups {
			gx := float64(padL) + group*float64(i)
			for k, v := range g.Values {
				if k >= len(colors) {
					break
				}
				y := logY(v)
				fmt.Fprintf(&b, `<rect class="bar" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s %s %.2f</title></rect>`,
					gx+bar*(float64(k)+0.5), y, bar*0.9, float64(padT+plotH)-y, colors[k], html.EscapeString(g.Name), html.EscapeString(names[k]), v)
			}
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" %s font-size="9" text-anchor="middle">%s</text>`, gx+group/2, padT+plotH+14, fontAttrs, html.EscapeString(g.Name))
		}
	}
	legend(&b, names, colors)
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// Bars draws one bar per value on a linear scale (e.g. a funnel).
func Bars(title, yLabel string, labels []string, values []float64, color string) template.HTML {
	var b strings.Builder
	fmt.Fprintf(&b, svgOpen, Width, Height, Width, Height, html.EscapeString(title))
	ymax := 0.0
	for _, v := range values {
		ymax = max(ymax, v)
	}
	ymax = NiceMax(ymax)
	fmt.Fprintf(&b, `<text x="%d" y="20" %s font-size="14" font-weight="bold">%s</text>`, padL, fontAttrs, html.EscapeString(title))
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#999"/>`, padL, padT, plotW, plotH)
	for i := 0; i <= 4; i++ {
		y := padT + plotH - plotH*i/4
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#eee"/>`, padL, y, padL+plotW, y)
		fmt.Fprintf(&b, `<text x="%d" y="%d" %s text-anchor="end">%s</text>`, padL-6, y+4, fontAttrs, FmtTick(ymax*float64(i)/4))
	}
	fmt.Fprintf(&b, `<text x="14" y="%d" %s text-anchor="middle" transform="rotate(-90 14 %d)">%s</text>`, padT+plotH/2, fontAttrs, padT+plotH/2, html.EscapeString(yLabel))
	if n := len(values); n > 0 {
		slot := float64(plotW) / float64(n)
		for i, v := range values {
			h := v / ymax * plotH
			x := float64(padL) + slot*float64(i) + slot*0.15
			fmt.Fprintf(&b, `<rect class="bar" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s: %g</title></rect>`, x, float64(padT+plotH)-h, slot*0.7, h, color, html.EscapeString(labels[i]), v)
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" %s text-anchor="middle">%s</text>`, x+slot*0.35, float64(padT+plotH)-h-4, fontAttrs, FmtTick(v))
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" %s text-anchor="middle">%s</text>`, x+slot*0.35, padT+plotH+16, fontAttrs, html.EscapeString(labels[i]))
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// Points is one colored set of a scatter plot.
type Points struct {
	Name  string
	Color string
	X, Y  []float64
}

// MaxPoints bounds the points a scatter plot draws; more are thinned evenly.
const MaxPoints = 2000

// Scatter draws sets of points on shared axes from 0.
func Scatter(title, xLabel, yLabel string, sets []Points) template.HTML {
	var b strings.Builder
	fmt.Fprintf(&b, svgOpen, Width, Height, Width, Height, html.EscapeString(title))
	maxX, maxY, total := 1.0, 1.0, 0
	for _, s := range sets {
		total += len(s.X)
		for i := range s.X {
			maxX, maxY = max(maxX, s.X[i]), max(maxY, s.Y[i])
		}
	}
	maxX, maxY = NiceMax(maxX), NiceMax(maxY)
	axes(&b, title, xLabel, yLabel, 0, maxX, maxY)
	step := max(1, total/MaxPoints)
	var names, colors []string
	for _, s := range sets {
		names, colors = append(names, s.Name), append(colors, s.Color)
		for i := 0; i < len(s.X); i += step {
			px := float64(padL) + s.X[i]/maxX*plotW
			py := float64(padT+plotH) - s.Y[i]/maxY*plotH
			fmt.Fprintf(&b, `<circle class="point" cx="%.1f" cy="%.1f" r="1.6" fill="%s"/>`, px, py, s.Color)
		}
	}
	legend(&b, names, colors)
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// NiceMax rounds v up to 1, 2, 2.5 or 5 times a power of ten.
func NiceMax(v float64) float64 {
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

// FmtTick writes an axis value short: 1.5k, 2M, 0.25.
func FmtTick(v float64) string {
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
		fmt.Fprintf(b, `<text class="ytick" x="%d" y="%d" %s text-anchor="end">%s</text>`, padL-6, y+4, fontAttrs, FmtTick(y1*float64(i)/4))
		x := padL + plotW*i/4
		fmt.Fprintf(b, `<text class="xtick" x="%d" y="%d" %s text-anchor="middle">%s</text>`, x, padT+plotH+16, fontAttrs, FmtTick(x0+(x1-x0)*float64(i)/4))
	}
	fmt.Fprintf(b, `<text x="%d" y="%d" %s text-anchor="middle">%s</text>`, padL+plotW/2, Height-8, fontAttrs, html.EscapeString(xLabel))
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
