package testkit

import "testing"

// TestMetricValue reads samples as a node's /metrics writes them: by their
// labels, a histogram's and a summary's _sum and _count, values in exponent
// form; and tells an absent sample from a zero.
func TestMetricValue(t *testing.T) {
	page := []byte(`# HELP floodgate_disk_full Whether the disk is full.
# TYPE floodgate_disk_full gauge
floodgate_disk_full 0
# TYPE floodgate_join_gate_joins_total counter
floodgate_join_gate_joins_total{outcome="overdue"} 2
floodgate_join_gate_joins_total{outcome="turn"} 1.5e+06
# TYPE floodgate_join_gate_wait_seconds histogram
floodgate_join_gate_wait_seconds_bucket{le="0.1"} 1
floodgate_join_gate_wait_seconds_bucket{le="+Inf"} 3
floodgate_join_gate_wait_seconds_sum 2.5e-05
floodgate_join_gate_wait_seconds_count 3
# TYPE go_gc_duration_seconds summary
go_gc_duration_seconds{quantile="0.5"} 0.001
go_gc_duration_seconds_sum 0.25
go_gc_duration_seconds_count 7
plain_untyped{a="x",b="y"} 4
`)
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
		ok     bool
	}{
		{"floodgate_disk_full", nil, 0, true},
		{"floodgate_join_gate_joins_total", map[string]string{"outcome": "turn"}, 1.5e6, true},
		{"floodgate_join_gate_joins_total", map[string]string{"outcome": "overdue"}, 2, true},
		{"floodgate_join_gate_joins_total", map[string]string{"outcome": "bound"}, 0, false},
		{"floodgate_join_gate_joins_total", nil, 0, false},
		{"floodgate_join_gate_wait_seconds_sum", nil, 2.5e-5, true},
		{"floodgate_join_gate_wait_seconds_count", nil, 3, true},
		{"go_gc_duration_seconds_sum", nil, 0.25, true},
		{"go_gc_duration_seconds_count", nil, 7, true},
		{"plain_untyped", map[string]string{"b": "y", "a": "x"}, 4, true},
		{"plain_untyped", map[string]string{"a": "x"}, 0, false},
		{"floodgate_absent", nil, 0, false},
		{"floodgate_absent_count", nil, 0, false},
	} {
		if v, ok := MetricValue(t, page, c.name, c.labels); v != c.want || ok != c.ok {
			t.Errorf("%s%v = %v, %v; want %v, %v", c.name, c.labels, v, ok, c.want, c.ok)
		}
	}
}
