package sale

import (
	"bytes"
	"encoding/json"
	"iter"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	jsonv1 "github.com/go-json-experiment/json/v1"
)

// Records kept in chunks (the order feed, EventFeed, and a drop's
// transparency log, LeafLog): appending one never copies the others, and a
// copy shares the chunks. The two keep their chunks by rules of their own
// (add); what follows is what they share.

// chunksAll yields the records of chs, oldest first, with their index.
func chunksAll[T any](chs [][]T) iter.Seq2[int, *T] {
	return func(yield func(int, *T) bool) {
		i := 0
		for _, ch := range chs {
			for k := range ch {
				if !yield(i, &ch[k]) {
					return
				}
				i++
			}
		}
	}
}

// chunksShared returns a copy of chs that shares its records: each chunk's
// capacity is cut to its length, so appending to chs never writes where the
// copy looks.
func chunksShared[T any](chs [][]T) [][]T {
	if chs == nil {
		return nil
	}
	out := make([][]T, len(chs))
	for i, ch := range chs {
		out[i] = ch[:len(ch):len(ch)]
	}
	return out
}

// writeChunksJSON writes the records as one JSON array (null for none at
// all), as encoding/json wrote the slice the chunks replaced.
func writeChunksJSON[T any](buf *bytes.Buffer, enc *json.Encoder, chs [][]T) error {
	if chs == nil {
		buf.WriteString("null")
		return nil
	}
	buf.WriteByte('[')
	for i, r := range chunksAll(chs) {
		if i > 0 {
			buf.WriteByte(',')
		}
		if err := encodeOne(enc, buf, r); err != nil {
			return err
		}
	}
	buf.WriteByte(']')
	return nil
}

// readChunksFrom reads a JSON array of records (or null) from a snapshot's
// decoder under encoding/json's rules, handing each to add.
func readChunksFrom[T any](dec *jsontext.Decoder, add func(T)) error {
	return readEachFrom(dec, '[', func() error {
		var r T
		if err := jsonv2.UnmarshalDecode(dec, &r, jsonv1.DefaultOptionsV1()); err != nil {
			return err
		}
		add(r)
		return nil
	})
}
