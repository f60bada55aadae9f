package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/status"
)

// TestNoticeSentWhileTheDiskIsFullIsSentOnce: a status notice queued before
// the node's data disk fills and delivered after cannot be recorded as sent
// (the outbox is in the Raft log, which takes nothing). The node reads its
// records back from the log, which still has the notice queued: every
// second while a write fails, and when it leads again once there is room.
// It must not send the notice again either way: the webhook gets it once.
// (Before, a node alone sent it a second time after the disk had room.)
func TestNoticeSentWhileTheDiskIsFullIsSentOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: fills a disk")
	}
	dir := testkit.SmallDisk(t, "400M")
	n := testkit.StartNode(t, testkit.Options{DataDir: filepath.Join(dir, "data")})
	c := n.Client
	ctx := testkit.Context(t, 4*time.Minute)
	admin := testkit.Bearer(n.AdminToken)

	var (
		mu      sync.Mutex
		hits    int
		entered = make(chan struct{}, 1)
		release = make(chan struct{})
		once    sync.Once
	)
	letGo := func() { once.Do(func() { close(release) }) }
	t.Cleanup(letGo)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits++
		first := hits == 1
		mu.Unlock()
		if first { // held until the disk is full
			entered <- struct{}{}
			<-release
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(hook.Close)
	sent := func() int {
		mu.Lock()
		defer mu.Unlock()
		return hits
	}
	if _, err := c.Call(ctx, http.MethodPost, "/api/v1/subscribers", admin,
		map[string]any{"channel": "webhook", "target": hook.URL + "/notices", "secret": "0123456789abcdef"}, nil); err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	if _, err := c.Call(ctx, http.MethodPost, "/api/v1/incidents", admin, map[string]any{"name": "Orders are slow",
		"status": "investigating", "impact": "minor", "message": "We are looking into it.", "components": []string{"orders"}}, nil); err != nil {
		t.Fatalf("post an incident: %v", err)
	}
	select {
	case <-entered:
	case <-time.After(30 * time.Second):
		t.Fatal("the notice was not sent")
	}

	// Fill the disk while the notice is on its way.
	ballast := filepath.Join(dir, "ballast")
	testkit.FillDisk(t, ballast)
	full := false
	for i := 0; i < 1000 && !full; i++ {
		resp, err := c.Do(ctx, http.MethodPost, "/api/v1/drops", admin, testkit.FillerDrop(fmt.Sprintf("big-%d", i)))
		if err != nil {
			t.Fatalf("create drop %d: %v", i, err)
		}
		full = resp.Status == http.StatusServiceUnavailable
	}
	if !full {
		t.Fatal("the disk never filled")
	}
	letGo() // delivered now, and its record refused
	// The held send ends at once; while the disk stays full the node reads
	// its records back, and leads now and then: give it time to send the
	// notice again.
	time.Sleep(5 * time.Second)
	if got := sent(); got != 1 {
		t.Fatalf("the notice was sent %d times while the disk was full, want once", got)
	}

	// Room again: the send is recorded, and the notice is not sent again.
	if err := os.Remove(ballast); err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, "the outbox to be empty once writes succeed", func() bool {
		var d struct{ Queued []status.DeliveryView }
		_, err := c.Call(ctx, http.MethodGet, "/api/v1/deliveries", admin, nil, &d)
		return err == nil && len(d.Queued) == 0 && healthz(t, ctx, c).Status == http.StatusOK
	})
	time.Sleep(2 * time.Second)
	if got := sent(); got != 1 {
		t.Fatalf("the notice was sent %d times in all, want once", got)
	}
}
