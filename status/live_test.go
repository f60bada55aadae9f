package status

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/floodgate/floodgate/internal/testkit"
)

var diskSignal = Signal{Key: "disk_full", Component: "checkout,orders,waiting-room", Impact: ImpactMajor,
	Title: diskFullTitle, Message: diskFullMessage, Local: true}

// liveOnes returns the incidents of a summary shown live, unrecorded.
func liveOnes(sum Summary) []SPIncident {
	var out []SPIncident
	for _, inc := range sum.Incidents {
		if inc.Floodgate != nil && inc.Floodgate.Unrecorded {
			out = append(out, inc)
		}
	}
	return out
}

// liveService is node 1 of a replicated status page on a fake clock, with
// leader leading the log; signals open after 30 s and resolve after 2 min.
func liveService(t *testing.T, leader int32) (*Service, *memLog, *fakeClock) {
	t.Helper()
	log := newMemLog()
	log.leader.Store(leader)
	clock := newFakeClock()
	s, _ := MustOpen(t, func(c *Config) {
		c.Replica = log.node(1)
		c.Now = clock.Now
		c.AutoOpenAfter = 30 * time.Second
		c.AutoResolveAfter = 2 * time.Minute
	})
	return s, log, clock
}

// TestLiveIncidentWhileWritesFail: a signal bad past its open delay while
// the cluster log refuses every write is shown on the page and in the JSON
// as a live, unrecorded incident that says nothing of the error; once
// writes succeed it is recorded (from when it began) and resolves as usual.
func TestLiveIncidentWhileWritesFail(t *testing.T) {
	s, log, clock := liveService(t, 1)
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	testkit.WaitFor(t, "the fixed components to be recorded", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		_, ok := s.recSeq[string(bucketComponents)+"/checkout"]
		return ok
	})

	log.refuse.Store(true)
	began := clock.Now()
	// Each failed write has the node read the log afresh (as it does
	// within a second), which forgets what was not written: the start of
	// the problem must hold all the same.
	observe := func(sig Signal) {
		s.Observe(sig)
		s.syncReplica(false)
	}
	observe(diskSignal)
	clock.Add(20 * time.Second)
	observe(diskSignal)
	if live := liveOnes(s.Summary()); len(live) != 0 {
		t.Fatalf("shown before the open delay: %+v", live)
	}
	clock.Add(15 * time.Second)
	observe(diskSignal)
	clock.Add(5 * time.Second)
	observe(diskSignal)

	sum := s.Summary()
	live := liveOnes(sum)
	if len(live) != 1 {
		t.Fatalf("live incidents past the open delay with writes failing: %+v", sum.Incidents)
	}
	inc := live[0]
	if inc.Name != diskFullTitle || inc.Status != StatusInvestigating || inc.Impact != ImpactMajor || !inc.CreatedAt.Equal(began) ||
		!strings.HasPrefix(inc.ID, "live_") || len(inc.IncidentUpdates) != 1 || inc.IncidentUpdates[0].Body != diskFullMessage {
		t.Fatalf("live incident: %+v", inc)
	}
	if sum.Status.Indicator != ImpactMajor || componentStatus(sum, "checkout") != ComponentPartialOutage && componentStatus(sum, "checkout") != ComponentMajorOutage {
		t.Fatalf("indicator %q, checkout %q; want the live problem to count", sum.Status.Indicator, componentStatus(sum, "checkout"))
	}
	if n := len(s.Incidents()); n != 0 {
		t.Fatalf("%d incidents recorded while writes fail", n)
	}
	if b := s.Banner(); !b.Active || b.Title != diskFullTitle {
		t.Fatalf("banner: %+v", b)
	}
	page := testkit.MustGetOK(t, srv.URL+"/status")
	js := testkit.MustGetOK(t, srv.URL+"/api/v2/summary.json")
	for name, body := range map[string]string{"page": page, "summary.json": js, "banner": testkit.MustGetOK(t, srv.URL+"/api/v1/banner")} {
		if !strings.Contains(body, "Checkout is paused") {
			t.Errorf("%s does not show the live problem", name)
		}
		for _, leak := range []string{"secret-path", "no space left", ".wal", "committed"} {
			if strings.Contains(body, leak) {
				t.Errorf("%s reveals %q", name, leak)
			}
		}
	}
	if !strings.Contains(page, "Shown live") {
		t.Error("the page does not say the incident is shown live and not recorded")
	}
	var raw struct {
		Incidents []struct {
			Floodgate struct {
				Unrecorded bool `json:"unrecorded"`
			} `json:"floodgate"`
		} `json:"incidents"`
	}
	if err := json.Unmarshal([]byte(js), &raw); err != nil || len(raw.Incidents) != 1 || !raw.Incidents[0].Floodgate.Unrecorded {
		t.Fatalf("summary.json incidents: %s (%v)", js, err)
	}

	// Room again: the signal is good, and the problem it was is recorded,
	// from when it began.
	log.refuse.Store(false)
	clock.Add(10 * time.Second)
	s.Observe(Signal{Key: "disk_full", OK: true})
	incs := s.Incidents()
	if len(incs) != 1 || incs[0].SignalKey != "disk_full" || incs[0].Name != diskFullTitle || !incs[0].CreatedAt.Equal(began) || isResolved(incs[0].Status) {
		t.Fatalf("after writes succeed again: %+v", incs)
	}
	id := incs[0].ID
	testkit.WaitFor(t, "the page to show the recorded incident only", func() bool {
		sum := s.Summary()
		return len(liveOnes(sum)) == 0 && len(sum.Incidents) == 1 && sum.Incidents[0].ID == id
	})
	clock.Add(2*time.Minute + time.Second)
	s.Observe(Signal{Key: "disk_full", OK: true})
	s.Observe(Signal{Key: "disk_full", OK: true})
	if inc, err := s.Incident(id); err != nil || inc.Status != StatusResolved {
		t.Fatalf("two minutes good: %+v %v", inc, err)
	}
	if sum := s.Summary(); len(sum.Incidents) != 0 || sum.Status.Indicator != ImpactNone {
		t.Fatalf("after it resolved: %+v", sum)
	}
}

// TestLiveIncidentOffTheWriter: a node that does not record incidents shows
// live only what it sees of itself (a Local signal), never another
// signal, and not once the record has it; a node alone whose disk was full
// (it loses its leadership with it) records it once it leads again.
func TestLiveIncidentOffTheWriter(t *testing.T) {
	s, log, clock := liveService(t, 2) // another node leads
	noLeader := Signal{Key: "raft_leader", Component: "checkout", Impact: ImpactMajor, Title: "Checkout is unavailable", Message: "No leader."}
	began := clock.Now()
	s.Observe(diskSignal)
	s.Observe(noLeader)
	clock.Add(20 * time.Second)
	s.Observe(diskSignal)
	s.Observe(noLeader)
	if live := liveOnes(s.Summary()); len(live) != 0 {
		t.Fatalf("shown before the open delay: %+v", live)
	}
	clock.Add(11 * time.Second)
	s.Observe(diskSignal)
	s.Observe(noLeader)
	live := liveOnes(s.Summary())
	if len(live) != 1 || live[0].Name != diskFullTitle || !live[0].CreatedAt.Equal(began) {
		t.Fatalf("a node not recording incidents shows %+v; want its own full disk only", live)
	}

	// On the record (another node recorded the same signal): not twice.
	s.mu.Lock()
	s.incidents["inc_x"] = &Incident{ID: "inc_x", Name: diskFullTitle, Status: StatusInvestigating, Impact: ImpactMajor, SignalKey: "disk_full", CreatedAt: began, UpdatedAt: began}
	s.mu.Unlock()
	if sum := s.Summary(); len(liveOnes(sum)) != 0 || len(sum.Incidents) != 1 {
		t.Fatalf("with the incident on the record: %+v", sum.Incidents)
	}
	s.mu.Lock()
	delete(s.incidents, "inc_x")
	s.mu.Unlock()

	// Room again; this node leads again a moment later and records it.
	clock.Add(5 * time.Second)
	s.Observe(Signal{Key: "disk_full", OK: true, Local: true})
	if live := liveOnes(s.Summary()); len(live) != 0 {
		t.Fatalf("a problem over is shown by a node that cannot record it: %+v", live)
	}
	log.leader.Store(1)
	clock.Add(time.Second)
	s.Observe(Signal{Key: "disk_full", OK: true, Local: true})
	incs := s.Incidents()
	if len(incs) != 1 || incs[0].SignalKey != "disk_full" || !incs[0].CreatedAt.Equal(began) {
		t.Fatalf("after leading again: %+v", incs)
	}

}

// TestMirrorSkipsLiveIncidents: a standalone status server does not keep a
// core's live, unrecorded incident as one of its own (it would never
// resolve there); it carries the core's indicator.
func TestMirrorSkipsLiveIncidents(t *testing.T) {
	s, _ := MustOpen(t, nil)
	now := time.Now().UTC()
	sum := Summary{Status: Indicator{Indicator: ImpactMajor},
		Incidents: []SPIncident{{ID: "live_disk_full", Name: diskFullTitle, Status: StatusInvestigating, Impact: ImpactMajor,
			CreatedAt: now, UpdatedAt: now, Floodgate: &Extension{Unrecorded: true, Auto: true}}}}
	if err := s.importMirror(sum, IncidentsDoc{}); err != nil {
		t.Fatal(err)
	}
	if n := len(s.Incidents()); n != 0 {
		t.Fatalf("the mirror kept %d live incidents", n)
	}
	if got := s.Summary().Status.Indicator; got != ImpactMajor {
		t.Fatalf("mirror indicator %q, want major", got)
	}
}
