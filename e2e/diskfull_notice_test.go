package e2e

import (
	"encoding/json"
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
//
// The send is held open until the disk is full, and the node gives up a
// send after 20 s (and sends it again: at least once). So the log is first
// filled to a few drops short of the end of its segment, which a full disk
// does not stop, and only then is the notice queued: the send is held
// across a few writes, not across filling the whole segment, which takes
// minutes on a loaded machine.
func TestNoticeSentWhileTheDiskIsFullIsSentOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: fills a disk")
	}
	dir := testkit.SmallDisk(t, "400M")
	data := filepath.Join(dir, "data")
	n := testkit.StartNode(t, testkit.Options{DataDir: data})
	c := n.Client
	ctx := testkit.Context(t, 4*time.Minute)
	admin := testkit.Bearer(n.AdminToken)

	const incident = "Orders are slow"
	// The webhook counts the sends of the incident's notice, and those the
	// node gave up on (its timeout) while they were held. Other notices
	// (the node's own incident about its full disk) are answered and not
	// counted.
	var (
		mu               sync.Mutex
		events           = map[string]bool{}
		sends, abandoned int
		held             = make(chan struct{}, 1)
		release          = make(chan struct{})
		once             sync.Once
	)
	letGo := func() { once.Do(func() { close(release) }) }
	t.Cleanup(letGo)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p struct {
			Incident struct{ Name string }
		}
		if err := json.NewDecoder(r.Body).Decode(&p); err != nil || p.Incident.Name != incident {
			w.WriteHeader(http.StatusOK)
			return
		}
		mu.Lock()
		events[r.Header.Get("Floodgate-Event-Id")] = true
		sends++
		mu.Unlock()
		select {
		case <-release:
		default: // held until the disk is full
			select {
			case held <- struct{}{}:
			default:
			}
			select {
			case <-release:
			case <-r.Context().Done():
				mu.Lock()
				abandoned++
				mu.Unlock()
				return
			}
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(hook.Close)
	// sent is how many times the notice was sent, and whether every send
	// was of one event.
	sent := func() (int, bool) {
		mu.Lock()
		defer mu.Unlock()
		return sends, len(events) == 1
	}
	if _, err := c.Call(ctx, http.MethodPost, "/api/v1/subscribers", admin,
		map[string]any{"channel": "webhook", "target": hook.URL + "/notices", "secret": "0123456789abcdef"}, nil); err != nil {
		t.Fatalf("subscribe: %v", err)
	}

	// Fill the disk, and the log's segment to a few drops short of its end.
	ballast := filepath.Join(dir, "ballast")
	testkit.FillDisk(t, ballast)
	drops := 0
	createDrop := func() int {
		t.Helper()
		resp, err := c.Do(ctx, http.MethodPost, "/api/v1/drops", admin, testkit.FillerDrop(fmt.Sprintf("big-%d", drops)))
		if err != nil {
			t.Fatalf("create drop %d: %v", drops, err)
		}
		drops++
		return resp.Status
	}
	room, step := testkit.WALRoom(t, data), int64(0)
	for room > 3*step+(1<<20) {
		if st := createDrop(); st != http.StatusCreated {
			t.Fatalf("create drop %d with %d bytes left in the log's segment: %d", drops, room, st)
		}
		now := testkit.WALRoom(t, data)
		step = max(step, room-now)
		room = now
	}

	if _, err := c.Call(ctx, http.MethodPost, "/api/v1/incidents", admin, map[string]any{"name": incident,
		"status": "investigating", "impact": "minor", "message": "We are looking into it.", "components": []string{"orders"}}, nil); err != nil {
		t.Fatalf("post an incident: %v", err)
	}
	select {
	case <-held:
	case <-ctx.Done():
		t.Fatal("the notice was not sent")
	}
	before := drops

	// Fill the log while the notice is on its way.
	full := false
	for i := 0; i < 1000 && !full; i++ {
		full = createDrop() == http.StatusServiceUnavailable
	}
	if !full {
		t.Fatal("the disk never filled")
	}
	mu.Lock()
	gaveUp := abandoned
	mu.Unlock()
	if gaveUp > 0 { // it was not answered while the disk was full
		t.Fatalf("the node gave up the held send of the notice before the disk was full, %d drops later", drops-before)
	}
	letGo() // delivered now, and its record refused
	// The held send ends at once; while the disk stays full the node reads
	// its records back, and leads now and then: give it time to send the
	// notice again.
	time.Sleep(5 * time.Second)
	if got, one := sent(); got != 1 || !one {
		t.Fatalf("the notice was sent %d times while the disk was full (one event: %v), want once", got, one)
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
	if got, one := sent(); got != 1 || !one {
		t.Fatalf("the notice was sent %d times in all (one event: %v), want once", got, one)
	}
}
