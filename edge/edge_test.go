package edge

import (
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
