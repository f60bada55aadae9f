package testkit

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
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
