package edge

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestNewReadsTheUpstreamList: blank entries of a comma-separated list are
// skipped, a list with none left is refused, and so is an entry that is
// not a base URL.
func TestNewReadsTheUpstreamList(t *testing.T) {
	e, err := New(Config{Upstreams: strings.Split(" http://10.0.0.1:8080/ ,, http://10.0.0.2:8080", ",")})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if len(e.upstreams) != 2 || e.upstream(0) != "http://10.0.0.1:8080" || e.upstream(1) != "http://10.0.0.2:8080" {
		t.Fatalf("upstreams = %v", e.upstreams)
	}
	for _, list := range []string{"", " , ", "10.0.0.1:8080"} {
		if _, err := New(Config{Upstreams: strings.Split(list, ",")}); err == nil {
			t.Errorf("upstreams %q were accepted", list)
		}
	}
}

// TestMetricsOfTheProcess: without a registry of its own the edge's
// /metrics give the Go runtime's and the process's figures, to the holder
// of the metrics token only.
func TestMetricsOfTheProcess(t *testing.T) {
	e, err := New(Config{Upstreams: []string{"http://10.0.0.1:8080"}, MetricsToken: "edge-metrics-token-0123"})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	for _, c := range []struct {
		token string
		want  int
	}{{"", http.StatusUnauthorized}, {"edge-metrics-token-0123", http.StatusOK}} {
		req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		if c.token != "" {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		if rec.Code != c.want {
			t.Fatalf("/metrics with token %q: %d, want %d", c.token, rec.Code, c.want)
		}
		for _, series := range []string{"go_goroutines", `go_sched_latencies_seconds_bucket{le="+Inf"}`} {
			if c.want == http.StatusOK && !strings.Contains(rec.Body.String(), series) {
				t.Fatalf("/metrics lack the Go runtime's %s:\n%.500s", series, rec.Body.String())
			}
		}
	}
}
