package http_test

import "testing"

// TestFeedAndSinksShowOnlyTheirOwn checks that the order feed and the sink
// list of one tenant never show another's.
func TestFeedAndSinksShowOnlyTheirOwn(t *testing.T) {
	e := newScopeEnv(t) // one order in drop-a, one sink of a
	var feed struct {
		Events []struct {
			Seq   uint64
			Order struct{ ID, Drop string }
		}
	}
	for token, want := range map[string]int{scopeRoot: 1, e.keys["a/viewer"]: 1, e.keys["b/owner"]: 0} {
		e.mustJSON(token, "GET", "/api/v1/events", "", &feed)
		if len(feed.Events) != want {
			t.Errorf("feed of %.8s…: %d events, want %d", token, len(feed.Events), want)
		}
	}
	var sinks struct{ Sinks []struct{ ID string } }
	for token, want := range map[string]int{scopeRoot: 1, e.keys["a/viewer"]: 1, e.keys["b/owner"]: 0} {
		e.mustJSON(token, "GET", "/api/v1/sinks", "", &sinks)
		if len(sinks.Sinks) != want {
			t.Errorf("sinks of %.8s…: %d, want %d", token, len(sinks.Sinks), want)
		}
	}
}
