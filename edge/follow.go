package edge

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/floodgate/floodgate"
	fhttp "github.com/floodgate/floodgate/http"
	"github.com/floodgate/floodgate/sale"
)

// follower keeps the latest admission state of one drop, read from the
// cluster's admission stream, and reconnects (to the next node) when the
// stream breaks.
type follower struct {
	drop string

	mu       sync.Mutex
	ev       *fhttp.AdmissionEvent // nil until the first event
	updated  time.Time
	missing  bool          // the cluster says there is no such drop
	ready    chan struct{} // closed at the first event or a not-found answer
	changed  chan struct{} // closed and replaced at every event
	lastUsed time.Time
}

func newFollower(drop string) *follower {
	return &follower{drop: drop, ready: make(chan struct{}), changed: make(chan struct{}), lastUsed: time.Now()}
}

// state returns the latest event (nil when none yet) and a channel closed
// at the next one.
func (f *follower) state() (*fhttp.AdmissionEvent, <-chan struct{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lastUsed = time.Now()
	return f.ev, f.changed
}

func (f *follower) set(ev *fhttp.AdmissionEvent) {
	f.mu.Lock()
	f.ev = ev
	f.updated = time.Now()
	f.missing = false
	close(f.changed)
	f.changed = make(chan struct{})
	f.readyLocked()
	f.mu.Unlock()
}

func (f *follower) setMissing() {
	f.mu.Lock()
	f.missing = true
	f.readyLocked()
	f.mu.Unlock()
}

// readyLocked closes ready at the first answer, an event or not found; the
// caller holds f.mu.
func (f *follower) readyLocked() {
	select {
	case <-f.ready:
	default:
		close(f.ready)
	}
}

func (f *follower) idleSince() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lastUsed
}

// run follows the stream until ctx ends or the drop turns out not to exist.
func (f *follower) run(ctx context.Context, e *Edge) {
	backoff := 100 * time.Millisecond
	for attempt := 0; ctx.Err() == nil; attempt++ {
		base := e.upstream(attempt)
		got, status, err := f.stream(ctx, e, base)
		switch {
		case status == http.StatusNotFound:
			f.setMissing()
			return
		case got:
			backoff = 100 * time.Millisecond
		}
		if ctx.Err() != nil {
			return
		}
		e.metrics.streamReconnects.Inc()
		e.log.Debug("admission stream ended; reconnecting", "drop", f.drop, "upstream", base, "status", status, "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}

// stream reads one admission stream from base. It reports whether any event
// arrived, and the HTTP status of a refused stream.
func (f *follower) stream(ctx context.Context, e *Edge, base string) (bool, int, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v1/drops/"+url.PathEscape(f.drop)+"/admission", nil)
	if err != nil {
		return false, 0, err
	}
	req.Header.Set("Accept", "text/event-stream")
	resp, err := e.stream.Do(req)
	if err != nil {
		return false, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false, resp.StatusCode, nil
	}
	// A stream that stays silent past the keepalive is dead (a node cut
	// off by the network): drop it and try another node.
	watchdog := time.AfterFunc(e.cfg.StreamTimeout, cancel)
	defer watchdog.Stop()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	got := false
	for sc.Scan() {
		watchdog.Reset(e.cfg.StreamTimeout)
		line := sc.Bytes()
		data, ok := bytes.CutPrefix(line, []byte("data: "))
		if !ok {
			continue
		}
		var ev fhttp.AdmissionEvent
		if err := json.Unmarshal(data, &ev); err != nil {
			return got, 0, err
		}
		got = true
		f.set(&ev)
	}
	return got, 0, sc.Err()
}

// drop returns the follower of drop, starting it when this edge does not
// follow the drop yet, and waits for its first event. A drop the cluster
// does not know is ENotFound.
func (e *Edge) follow(ctx context.Context, drop string) (*follower, error) {
	if !sale.ValidID(drop) {
		return nil, floodgate.Errorf(floodgate.ENotFound, "There is no drop %q.", drop)
	}
	e.mu.Lock()
	f := e.followers[drop]
	if f == nil {
		if len(e.followers) >= e.cfg.MaxDrops {
			e.mu.Unlock()
			return nil, floodgate.Errorf(floodgate.EUnavailable, "This edge follows too many drops; retry in a moment.")
		}
		f = newFollower(drop)
		e.followers[drop] = f
		fctx, cancel := context.WithCancel(e.ctx)
		e.cancels[drop] = cancel
		go func() {
			f.run(fctx, e)
			e.mu.Lock()
			if e.followers[drop] == f {
				delete(e.followers, drop)
				delete(e.cancels, drop)
			}
			e.mu.Unlock()
			cancel()
		}()
	}
	e.mu.Unlock()
	select {
	case <-f.ready:
	case <-ctx.Done():
		return nil, floodgate.Errorf(floodgate.EUnavailable, "The cluster did not answer in time; retry in a moment.")
	case <-time.After(e.cfg.FirstEventTimeout):
		return nil, floodgate.Errorf(floodgate.EUnavailable, "The cluster did not answer in time; retry in a moment.")
	}
	f.mu.Lock()
	missing := f.missing
	f.mu.Unlock()
	if missing {
		return nil, floodgate.Errorf(floodgate.ENotFound, "There is no drop %q.", drop)
	}
	return f, nil
}

// sweep stops following drops nobody asked about for a while.
func (e *Edge) sweep(idle time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for id, f := range e.followers {
		if time.Since(f.idleSince()) > idle {
			e.cancels[id]()
			delete(e.followers, id)
			delete(e.cancels, id)
		}
	}
}
