package systemtest

import (
	"fmt"
	"testing"
	"time"

	"github.com/floodgate/floodgate/internal/testkit"
)

// TestSinkSurvivesLeaderKill kills the leader with SIGKILL while it delivers
// order events to a slow webhook: the new leader resumes from the cursor the
// old one committed, so the shop gets every event, in seq order, with
// repeats only of what the old leader sent after its last committed cursor.
func TestSinkSurvivesLeaderKill(t *testing.T) {
	recv := testkit.StartWebhookReceiver(t, "shop-webhook-secret", 0)
	recv.SetDelay(40 * time.Millisecond)
	c := testkit.StartCluster(t, 3, testkit.ClusterOptions{Node: testkit.Options{Args: []string{"--sink-max-backoff", "300ms"}}})
	leader := c.WaitLeader(t, nil, 10*time.Second)
	ln := c.Nodes[leader]
	sk := ln.MustAddSink(t, testkit.SinkRequest{Kind: "webhook", URL: recv.URL, Secret: "shop-webhook-secret"})
	createDrop(t, ln, "feed", 100)
	recv.SetDown(true) // let a backlog build up first
	for i := range 30 {
		ln.MustBuy(t, "feed", fmt.Sprintf("b%d@example.com", i), fmt.Sprintf("k%d", i))
	}
	recv.SetDown(false)
	deadline := time.Now().Add(30 * time.Second)
	for len(recv.Accepted()) < 5 {
		if time.Now().After(deadline) {
			t.Fatal("delivery did not start")
		}
		time.Sleep(10 * time.Millisecond)
	}
	ln.Kill()
	atKill := len(recv.Accepted())
	if atKill >= 30 {
		t.Fatalf("all %d events were delivered before the kill; the test needs a slower shop", atKill)
	}
	var survivors []int
	for i := range c.Nodes {
		if i != leader {
			survivors = append(survivors, i)
		}
	}
	next := c.WaitLeader(t, survivors, 15*time.Second)
	nn := c.Nodes[next]
	for i := 30; i < 40; i++ {
		nn.MustBuy(t, "feed", fmt.Sprintf("b%d@example.com", i), fmt.Sprintf("k%d", i))
	}
	ctx := testkit.Context(t, 60*time.Second)
	deadline = time.Now().Add(60 * time.Second)
	for {
		sinks, err := nn.Sinks(ctx)
		if err == nil && len(sinks) == 1 && sinks[0].ID == sk.ID && sinks[0].DeliveredSeq == 40 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the new leader did not deliver up to 40: %+v %v", sinks, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if problem := recv.CheckInOrder(40); problem != "" {
		t.Fatal(problem)
	}
	if _, badSigs, badIDs := recv.Failed(); badSigs != 0 || badIDs != 0 {
		t.Fatalf("bad signatures %d, bad event ids %d", badSigs, badIDs)
	}
	t.Logf("%d events accepted before the kill, %d in all for 40 events (repeats %d)", atKill, len(recv.Accepted()), len(recv.Accepted())-40)
}
