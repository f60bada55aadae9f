package sale

import (
	"bytes"
	"encoding/json"
	"iter"

	"github.com/go-json-experiment/json/jsontext"
	jsonv1 "github.com/go-json-experiment/json/v1"
)

// feedChunk is how many events one chunk of the feed holds.
const feedChunk = 4096

// EventFeed is the order feed (State.Events): the events in seq order, in
// chunks, so that appending one never copies the others (a slice that
// doubles copies a large feed again and again) and a snapshot's copy can
// share the chunks (Clone): no event already in the feed is ever written
// again. Empty chunks are never kept, so an empty feed is an empty slice
// (and left out of a snapshot). Snapshots write it as before: one JSON
// array.
type EventFeed [][]Event

// Len is the number of events.
func (f EventFeed) Len() int {
	n := 0
	for _, ch := range f {
		n += len(ch)
	}
	return n
}

// First returns the oldest event, or nil.
func (f EventFeed) First() *Event {
	if len(f) == 0 {
		return nil
	}
	return &f[0][0]
}

// All yields the events, oldest first.
func (f EventFeed) All() iter.Seq2[int, *Event] { return chunksAll(f) }

// from yields the events from the i-th on.
func (f EventFeed) from(i int) iter.Seq[*Event] {
	return func(yield func(*Event) bool) {
		for _, ch := range f {
			if i >= len(ch) {
				i -= len(ch)
				continue
			}
			for k := i; k < len(ch); k++ {
				if !yield(&ch[k]) {
					return
				}
			}
			i = 0
		}
	}
}

// add appends e.
func (f *EventFeed) add(e Event) {
	if n := len(*f); n == 0 || len((*f)[n-1]) == cap((*f)[n-1]) {
		*f = append(*f, make([]Event, 0, feedChunk))
	}
	last := &(*f)[len(*f)-1]
	*last = append(*last, e)
}

// drop returns the feed without its n oldest events; f is not changed.
func (f EventFeed) drop(n int) EventFeed {
	var out EventFeed
	for _, ch := range f {
		if n >= len(ch) {
			n -= len(ch)
			continue
		}
		out = append(out, ch[n:])
		n = 0
	}
	return out
}

// shared returns a copy of f that shares its events: each chunk's capacity
// is cut to its length, so appending to f never writes where the copy looks.
func (f EventFeed) shared() EventFeed { return chunksShared(f) }

// MarshalJSON writes the events as one array, as encoding/json wrote the
// slice this replaced.
func (f EventFeed) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	if err := f.writeJSON(&buf, json.NewEncoder(&buf)); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func (f *EventFeed) writeJSON(buf *bytes.Buffer, enc *json.Encoder) error {
	return writeChunksJSON(buf, enc, *f)
}

// UnmarshalJSON reads what MarshalJSON (or encoding/json, from the slice
// this replaced) wrote.
func (f *EventFeed) UnmarshalJSON(b []byte) error {
	return f.UnmarshalJSONFrom(jsontext.NewDecoder(bytes.NewReader(b), jsonv1.DefaultOptionsV1()))
}

// UnmarshalJSONFrom is UnmarshalJSON reading from the snapshot's decoder.
func (f *EventFeed) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	var next EventFeed
	if err := readChunksFrom(dec, next.add); err != nil {
		return err
	}
	*f = next
	return nil
}
