package rush

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestTimelineCountsBySecond: events land in the second they happened in,
// counted from the opening (before it too), the server's admissions are the
// rise of admitted_up_to, and the seconds before the first and after the
// last event are left out.
func TestTimelineCountsBySecond(t *testing.T) {
	origin := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	at := func(s float64) time.Time { return origin.Add(time.Duration(s * float64(time.Second))) }
	tl := newTimeline(origin, -5*time.Second, 10*time.Second)

	tl.request(epJoin, at(-2.9)) // second -3
	tl.request(epJoin, at(-2.0)) // second -2 (its first instant)
	tl.request(epJoin, at(-0.001))
	tl.request(epStatus, at(0))
	tl.request(epStatus, at(0.99))
	tl.request(epHold, at(1.5))
	tl.request(epSession, at(1.6))
	tl.request(epOrder, at(1.7))
	tl.request(epForged, at(1.8))
	tl.request(epDrop, at(1.9))
	tl.request(epJoin, at(-60)) // outside: dropped
	tl.request(epJoin, at(60))
	tl.serverAdmittedUpTo(at(0.25), 100)
	tl.serverAdmittedUpTo(at(0.5), 90) // a lagging read changes nothing
	tl.serverAdmittedUpTo(at(1.25), 250)
	tl.admit(at(0.6))
	tl.admit(at(1.1))
	tl.admit(at(1.2))
	tl.order(at(1.75))
	tl.waited(at(1.3), 40*time.Millisecond, false)
	tl.waited(at(1.4), 12*time.Millisecond, false)
	tl.waited(at(-1.5), 30*time.Millisecond, true) // a join: its own column
	tl.waited(at(1.1), 900*time.Millisecond, true)

	got := tl.summary()
	want := &Timeline{
		Start:          -3,
		Join:           []int64{1, 1, 1, 0, 0},
		Status:         []int64{0, 0, 0, 2, 0},
		Hold:           []int64{0, 0, 0, 0, 1},
		Session:        []int64{0, 0, 0, 0, 1},
		Order:          []int64{0, 0, 0, 0, 1},
		Other:          []int64{0, 0, 0, 0, 2},
		ServerAdmitted: []int64{0, 0, 0, 100, 150},
		Admitted:       []int64{0, 0, 0, 1, 2},
		Ordered:        []int64{0, 0, 0, 0, 1},
		WaitMaxMS:      []float64{0, 0, 0, 0, 40},
		JoinWaitMaxMS:  []float64{0, 30, 0, 0, 900},
	}
	gj, _ := json.Marshal(got)
	wj, _ := json.Marshal(want)
	if !bytes.Equal(gj, wj) {
		t.Fatalf("timeline\n got %s\nwant %s", gj, wj)
	}

	// At 250 ms the report draws: the step of -0.001 s is the one before
	// the opening, and the 12 steps from -3 s to +2 s carry the events.
	rows := tl.rows(1)
	if len(rows) != 20 || rows[0].t != -3 || rows[len(rows)-1].t != 1.75 {
		t.Fatalf("%d steps from %v to %v; want 20 from -3 to 1.75", len(rows), rows[0].t, rows[len(rows)-1].t)
	}
	i := slices.IndexFunc(rows, func(r timelineRow) bool { return r.t == -0.25 })
	if i < 0 || rows[i].requests[epJoin] != 1 || rows[i+1].requests[epStatus] != 1 {
		t.Errorf("the join at -1 ms and the poll at the opening are not in the steps either side of it: %+v", rows[i:i+2])
	}
}

// TestTimelineOfNothing: a rush without a drop counts nothing, and a
// timeline without events has no seconds.
func TestTimelineOfNothing(t *testing.T) {
	var none *timeline
	none.request(epJoin, time.Now())
	none.admit(time.Now())
	if none.summary() != nil || none.rows(1) != nil {
		t.Error("a nil timeline has rows")
	}
	if tl := newTimeline(time.Now(), -time.Second, time.Second); tl.summary() != nil {
		t.Errorf("an empty timeline: %+v", tl.summary())
	}
}

// TestReportShowsTheTimeline: the report's table has a row per second of
// the summary's timeline with its figures.
func TestReportShowsTheTimeline(t *testing.T) {
	origin := time.Now()
	tl := newTimeline(origin, -10*time.Second, 10*time.Second)
	for range 12345 {
		tl.request(epStatus, origin.Add(-1500*time.Millisecond))
	}
	tl.order(origin.Add(2 * time.Second))
	res := &Result{Config: DefaultConfig(), Drop: "lamp", StartedAt: origin, client: newClient("http://127.0.0.1:1", 1), timeline: tl}
	res.Summary.Timeline = tl.summary()
	var buf bytes.Buffer
	if err := WriteReport(&buf, res); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	for _, want := range []string{"Second by second", "<td class=\"num\">-2</td>", "<td class=\"num\">12,345</td>", "<td class=\"num\">2</td>", "Requests per second by endpoint", "Admissions and orders per second"} {
		if !strings.Contains(page, want) {
			t.Errorf("the report lacks %q", want)
		}
	}
	charts, marks, _ := parseReport(t, strings.NewReader(page))
	if charts != 7 || marks == 0 {
		t.Errorf("%d charts with %d marks; want 7 with data", charts, marks)
	}
}
