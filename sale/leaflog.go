package sale

import (
	"bytes"
	"encoding/json"
	"iter"

	"github.com/go-json-experiment/json/jsontext"
	jsonv1 "github.com/go-json-experiment/json/v1"
)

// logChunk is how many records a full chunk of a drop's log holds.
const logChunk = 4096

// LeafLog is a drop's transparency log (DropFair.Log): its records in
// order, in chunks, so that appending one never copies the others (a
// slice that doubles copied a rush's log of a record per order again and
// again) and a copy (Clone) shares the chunks: no record already in the
// log is ever written again. Every chunk but the last holds logChunk
// records, so record i is found at once; the first grows by doubling, so
// a small drop's log stays small. An empty log has no chunk (and is left
// out of a snapshot). Snapshots write it as before: one JSON array.
type LeafLog [][]LogRecord

// Len is the number of records.
func (l LeafLog) Len() int { return chunksLen(l, logChunk) }

// At returns record i (0 ≤ i < Len).
func (l LeafLog) At(i int) *LogRecord { return chunksAt(l, i, logChunk) }

// All yields the records, oldest first.
func (l LeafLog) All() iter.Seq2[int, *LogRecord] { return chunksAll(l) }

// add appends r.
func (l *LeafLog) add(r LogRecord) { *l = chunksAppend(*l, r, logChunk) }

// shared returns a copy of l that shares its records: each chunk's
// capacity is cut to its length, so appending to l never writes where the
// copy looks.
func (l LeafLog) shared() LeafLog { return chunksShared(l) }

// MarshalJSON writes the records as one array, as encoding/json wrote the
// slice this replaced.
func (l LeafLog) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	if err := l.writeJSON(&buf, json.NewEncoder(&buf)); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func (l *LeafLog) writeJSON(buf *bytes.Buffer, enc *json.Encoder) error {
	return writeChunksJSON(buf, enc, *l)
}

// UnmarshalJSON reads what MarshalJSON (or encoding/json, from the slice
// this replaced) wrote.
func (l *LeafLog) UnmarshalJSON(b []byte) error {
	return l.UnmarshalJSONFrom(jsontext.NewDecoder(bytes.NewReader(b), jsonv1.DefaultOptionsV1()))
}

// UnmarshalJSONFrom is UnmarshalJSON reading from the snapshot's decoder.
func (l *LeafLog) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	var next LeafLog
	if err := readChunksFrom(dec, next.add); err != nil {
		return err
	}
	*l = next
	return nil
}
