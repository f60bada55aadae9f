package testkit

import (
	"bytes"
	"maps"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Metric returns the first sample of the metric name that g gathers (a
// service's own prometheus.Registry in an in-process test), and fails tb
// when g has none:
//
//	prepared := testkit.Metric(t, reg, "floodgate_receipt_signatures_prepared_total").GetCounter().GetValue()
func Metric(tb testing.TB, g prometheus.Gatherer, name string) *dto.Metric {
	tb.Helper()
	mfs, err := g.Gather()
	if err != nil {
		tb.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) > 0 {
			return mf.GetMetric()[0]
		}
	}
	tb.Fatalf("no metric %s", name)
	return nil
}

// MetricValue reads, from page (a /metrics answer in Prometheus's text
// format), the sample of name whose labels are exactly labels (nil: the
// unlabelled sample); a histogram's or summary's name_sum and name_count
// are read too. ok is false when page has no such sample; tb fails when
// page is not in the text format.
//
//	full, ok := testkit.MetricValue(t, body, "floodgate_disk_full", nil)
func MetricValue(tb testing.TB, page []byte, name string, labels map[string]string) (v float64, ok bool) {
	tb.Helper()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(bytes.NewReader(page))
	if err != nil {
		tb.Fatalf("/metrics: %v", err)
	}
	if m, ok := sampleOf(fams[name], labels); ok {
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Untyped != nil:
			return m.Untyped.GetValue(), true
		}
	}
	for _, suffix := range []string{"_sum", "_count"} {
		base, cut := strings.CutSuffix(name, suffix)
		m, ok := sampleOf(fams[base], labels)
		if !cut || !ok {
			continue
		}
		// expfmt keeps a histogram's count either as a float or as an
		// integer, and leaves the other zero.
		h, s := m.GetHistogram(), m.GetSummary()
		switch {
		case h != nil && suffix == "_sum":
			return h.GetSampleSum(), true
		case h != nil:
			return max(h.GetSampleCountFloat(), float64(h.GetSampleCount())), true
		case s != nil && suffix == "_sum":
			return s.GetSampleSum(), true
		case s != nil:
			return float64(s.GetSampleCount()), true
		}
	}
	return 0, false
}

// sampleOf is the metric of f whose labels are exactly labels.
func sampleOf(f *dto.MetricFamily, labels map[string]string) (*dto.Metric, bool) {
	for _, m := range f.GetMetric() {
		got := make(map[string]string, len(m.GetLabel()))
		for _, l := range m.GetLabel() {
			got[l.GetName()] = l.GetValue()
		}
		if maps.Equal(got, labels) {
			return m, true
		}
	}
	return nil, false
}
