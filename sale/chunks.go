package sale

import (
	"bytes"
	"encoding/json"
	"iter"
	"unsafe"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	jsonv1 "github.com/go-json-experiment/json/v1"
)

// Records kept in chunks: a drop's counts per customer (CustomerCounts)
// and the events and log records kept whole (feedCtx.whole, logCtx.whole).
// Appending one never copies the others, and a copy of an append-only list
// shares the chunks. The feed's entries (EventFeed) and a drop's log
// (LeafLog) keep chunks of their own, each with its context; the log's
// grow as these do (chunkRoom).

// chunksAppend appends r to chs, whose chunks but the last hold size
// records each, and returns chs (chunkRoom says where r goes).
func chunksAppend[T any](chs [][]T, r T, size int) [][]T {
	n := len(chs)
	var last []T
	if n > 0 {
		last = chs[n-1]
	}
	ch, fresh := chunkRoom(last, n == 0, size)
	ch = append(ch, r)
	if fresh {
		return append(chs, ch)
	}
	chs[n-1] = ch
	return chs
}

// chunkRoom returns the chunk the next record of a list goes in, whose
// last chunk is last (none: empty), and true if it is a new chunk to add
// after last. A full last chunk is followed by a new one, and the first
// grows by doubling, so that a short list stays small. A last chunk whose
// capacity is cut (a first chunk that is full, or a copy's last chunk:
// chunksShared) moves its records to a chunk of their own, so appending
// never writes where a copy looks.
func chunkRoom[T any](last []T, empty bool, size int) ([]T, bool) {
	switch {
	case empty:
		return make([]T, 0, min(16, size)), true
	case len(last) == size:
		return makeChunk[T](0, size), true
	case len(last) == cap(last):
		return append(make([]T, 0, min(size, 2*len(last))), last...), false
	}
	return last, false
}

// populateMin is the size of a chunk from which makeChunk maps its pages
// at once.
const populateMin = 64 << 10

// makeChunk makes a chunk of records, of length n and capacity size. A
// big one has its memory mapped ahead by another goroutine (populateSoon):
// filled a record at a time, it took a page fault every few records, and
// in a rush's state machine the faults of new chunks were a fifth of its
// CPU time.
func makeChunk[T any](n, size int) []T {
	ch := make([]T, n, size)
	var r T
	if bytes := uintptr(size) * unsafe.Sizeof(r); bytes >= populateMin {
		populateSoon(unsafe.Pointer(unsafe.SliceData(ch)), bytes)
	}
	return ch
}

// chunksAt returns record i of chs, whose chunks but the last hold size
// records each.
func chunksAt[T any](chs [][]T, i, size int) *T { return &chs[i/size][i%size] }

// chunksLen is the number of records of chs, whose chunks but the last
// hold size records each.
func chunksLen[T any](chs [][]T, size int) int {
	if len(chs) == 0 {
		return 0
	}
	return (len(chs)-1)*size + len(chs[len(chs)-1])
}

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

// writeEachJSON writes the records all yields as one JSON array (null
// for none at all: isNil), as encoding/json wrote the slice they replaced.
func writeEachJSON[T any](buf *bytes.Buffer, enc *json.Encoder, isNil bool, all iter.Seq2[int, T]) error {
	if isNil {
		buf.WriteString("null")
		return nil
	}
	buf.WriteByte('[')
	r := new(T) // one for all: encoding it makes it escape
	for i, v := range all {
		if i > 0 {
			buf.WriteByte(',')
		}
		*r = v
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
