package systemtest

import (
	"net/http"
	"testing"
	"time"

	"github.com/floodgate/floodgate/internal/testkit"
)

// TestForwardKeepsBuyerAddress: a join sent to a follower is forwarded to
// the leader with the buyer's address, so the leader's per-address ceiling
// counts buyers, not the follower; and a forwarding marker that a client
// sets itself neither stops the forwarding nor lends it any address.
func TestForwardKeepsBuyerAddress(t *testing.T) {
	c := testkit.StartCluster(t, 3, testkit.ClusterOptions{Node: testkit.Options{
		KeepRateLimits: true, Args: []string{"--join-rate", "0.1", "--join-burst", "3"},
	}})
	leader := c.WaitLeader(t, nil, 10*time.Second)
	createDrop(t, c.Nodes[leader], "fwd", 10)
	follower := c.Nodes[(leader+1)%3]
	ctx := testkit.Context(t, 30*time.Second)
	join := func(hdr http.Header) int {
		t.Helper()
		var resp *testkit.Response
		err := testkit.Retry(ctx, func() error {
			var err error
			resp, err = follower.Do(ctx, http.MethodPost, "/api/v1/drops/fwd/queue", hdr, nil)
			if err == nil && resp.Status == http.StatusServiceUnavailable {
				return &testkit.APIError{Status: resp.Status}
			}
			return err
		})
		if err != nil {
			t.Fatalf("join through the follower: %v", err)
		}
		return resp.Status
	}
	a := http.Header{"X-Forwarded-For": {"198.51.100.1"}}
	for i := range 3 {
		if st := join(a); st != http.StatusCreated {
			t.Fatalf("join %d of address A through the follower: %d, want 201", i+1, st)
		}
	}
	if st := join(a); st != http.StatusTooManyRequests {
		t.Fatalf("join 4 of address A (burst 3): %d, want 429", st)
	}
	b := http.Header{"X-Forwarded-For": {"198.51.100.2"}}
	if st := join(b); st != http.StatusCreated {
		t.Fatalf("address B through the same follower: %d, want 201 (the leader limited the follower, not the buyer)", st)
	}
	forged := http.Header{"X-Forwarded-For": {"198.51.100.3"}, "X-Floodgate-Forwarded": {"1"}}
	if st := join(forged); st != http.StatusCreated {
		t.Fatalf("a join with a forwarding marker set by the client: %d, want 201 (forwarded like any other)", st)
	}
	adminForged := http.Header{"X-Floodgate-Forwarded": {"t=1,ip=127.0.0.1,admin=1,mac=x"}}
	resp, err := follower.Do(ctx, http.MethodPost, "/api/v1/drops/fwd/close", adminForged, nil)
	if err != nil || resp.Status != http.StatusUnauthorized {
		t.Fatalf("an admin call with a forged marker: %v %v, want 401", resp, err)
	}
}
