package http

import (
	"bytes"
	"net/http"
	"net/netip"
	"reflect"
	"sync"
	"testing"
	"time"
)

func TestForwardBatchEncoding(t *testing.T) {
	jobs := []*fwdJob{
		{method: "POST", uri: "/api/v1/drops/d/holds", header: http.Header{"Authorization": {"Bearer t"}, "X-Forwarded-For": {"198.51.100.1, 127.0.0.1"}}, body: []byte(`{"quantity":1}`), marker: forwardMarker{ip: netip.MustParseAddr("198.51.100.1")}},
		{method: "POST", uri: "/api/v1/drops?x=1", header: http.Header{"A": {"1", "2"}}, marker: forwardMarker{ip: netip.MustParseAddr("2001:db8::1"), admin: true}},
	}
	got, err := decodeBatch(encodeBatch(jobs))
	if err != nil {
		t.Fatal(err)
	}
	for i := range jobs {
		want := *jobs[i]
		g := *got[i]
		if len(want.body) == 0 {
			want.body = []byte{}
		}
		if g.method != want.method || g.uri != want.uri || !reflect.DeepEqual(g.header, want.header) || !bytes.Equal(g.body, want.body) || g.marker != want.marker {
			t.Errorf("job %d: got %+v, want %+v", i, g, want)
		}
	}
	as := []fwdAnswer{{status: 201, header: http.Header{"Content-Type": {"application/json"}}, body: []byte("{}\n")}, {status: 429, header: http.Header{"Retry-After": {"1"}}}}
	back, err := decodeAnswers(encodeAnswers(as), 2)
	if err != nil || back[0].status != 201 || string(back[0].body) != "{}\n" || back[1].header.Get("Retry-After") != "1" {
		t.Fatalf("answers: %+v %v", back, err)
	}
	if _, err := decodeAnswers(encodeAnswers(as), 3); err == nil {
		t.Error("answers for 2 writes taken for 3")
	}
	for _, bad := range [][]byte{nil, {0}, {1}, append(encodeBatch(jobs), 0), encodeBatch(jobs)[:20]} {
		if _, err := decodeBatch(bad); err == nil {
			t.Errorf("%q decoded", bad)
		}
	}
}

func FuzzDecodeBatch(f *testing.F) {
	f.Add(encodeBatch([]*fwdJob{{method: "POST", uri: "/x", header: http.Header{"K": {"v"}}, body: []byte("b"), marker: forwardMarker{ip: netip.MustParseAddr("10.0.0.1")}}}))
	f.Add([]byte{1, 4, 'P', 'O', 'S', 'T'})
	f.Fuzz(func(t *testing.T, raw []byte) {
		jobs, err := decodeBatch(raw)
		if err != nil {
			return
		}
		again, err := decodeBatch(encodeBatch(jobs))
		if err != nil || len(again) != len(jobs) {
			t.Fatalf("a decoded batch does not survive encoding: %v", err)
		}
	})
}

// The leader runs a batch's writes at once, on workers that live on: run
// never waits for a worker, a worker takes the next write once it is done
// with one, and a worker with nothing to do ends.
func TestWorkersRunAtOnceLiveOnAndEnd(t *testing.T) {
	w := newWorkers(time.Hour)
	const n = 50
	var started, done sync.WaitGroup
	started.Add(n)
	done.Add(n)
	release := make(chan struct{})
	for range n {
		w.run(func() {
			started.Done()
			<-release
			done.Done()
		})
	}
	all := make(chan struct{})
	go func() { started.Wait(); close(all) }()
	select {
	case <-all:
	case <-time.After(30 * time.Second):
		t.Fatal("the writes of one batch did not all run at once")
	}
	close(release)
	done.Wait()
	if got := w.started.Load(); got != n {
		t.Fatalf("%d workers for %d writes at once", got, n)
	}

	// One at a time now: the workers of the first round take them.
	time.Sleep(50 * time.Millisecond) // let them come back for more
	for range 20 {
		ran := make(chan struct{})
		w.run(func() { close(ran) })
		<-ran
	}
	if got := w.started.Load() - n; got >= 20 {
		t.Errorf("%d new workers for 20 writes after the first round: none was reused", got)
	}

	short := newWorkers(time.Millisecond)
	short.run(func() {})
	for deadline := time.Now().Add(30 * time.Second); short.started.Load() < 2; {
		if time.Now().After(deadline) {
			t.Fatal("an idle worker never ended")
		}
		time.Sleep(5 * time.Millisecond)
		ran := make(chan struct{})
		short.run(func() { close(ran) })
		<-ran
	}
}
