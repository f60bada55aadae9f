// Package sse writes server-sent event streams: the queue status a waiting
// visitor follows, and the admission state an edge follows, on nodes and
// edges alike.
package sse

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Source returns the current event, whether it is the last one, and a
// channel that is closed when there may be a newer event. It is called once
// at the start and again after every change.
type Source func() (data []byte, final bool, changed <-chan struct{})

// Options shape a stream.
type Options struct {
	Retry       time.Duration   // the reconnect delay suggested to the client
	MinInterval time.Duration   // the shortest time between two events
	Keepalive   time.Duration   // a comment line is sent after this long without an event
	Done        <-chan struct{} // closed when the server shuts down; may be nil
}

// ErrNotFlushable is returned when w cannot stream.
var ErrNotFlushable = errors.New("sse: the response writer cannot flush")

// Stream writes the events of next as "data:" lines, skipping events equal
// to the last one sent, until an event is final, the client goes away or
// o.Done closes. It returns ErrNotFlushable, before writing anything, when w
// cannot stream.
func Stream(w http.ResponseWriter, r *http.Request, o Options, next Source) error {
	fl, ok := w.(http.Flusher)
	if !ok {
		return ErrNotFlushable
	}
	if o.Keepalive <= 0 {
		o.Keepalive = 15 * time.Second
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if o.Retry > 0 {
		fmt.Fprintf(w, "retry: %s\n\n", strconv.FormatInt(o.Retry.Milliseconds(), 10))
	}
	keepalive := time.NewTicker(o.Keepalive)
	defer keepalive.Stop()
	var last []byte
	for {
		data, final, changed := next()
		if data != nil && !bytes.Equal(data, last) {
			if _, err := fmt.Fprintf(w, "data: %s\n\n", data); err != nil {
				return nil
			}
			fl.Flush()
			last = data
		}
		if final {
			return nil
		}
		select {
		case <-r.Context().Done():
			return nil
		case <-o.Done:
			return nil
		case <-keepalive.C:
			if _, err := fmt.Fprint(w, ": keepalive\n\n"); err != nil {
				return nil
			}
			fl.Flush()
			continue
		case <-changed:
		}
		if o.MinInterval > 0 {
			select {
			case <-r.Context().Done():
				return nil
			case <-o.Done:
				return nil
			case <-time.After(o.MinInterval):
			}
		}
	}
}
