package sale

import (
	"bytes"
	"encoding/json"
	"fmt"
	"iter"
	"maps"
	"slices"
	"strings"
	"unsafe"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	jsonv1 "github.com/go-json-experiment/json/v1"
)

// The holds and the orders of a rush are the bulk of the state: one of each
// per buyer. They live in tables rather than maps keyed by id: an array in
// the order they were made, in chunks so that adding one never moves the
// others (pointers to them stay valid) and growing never reads them again,
// found by the number their id carries (h_<n>_…, o_<n>_…) through a slice
// of int32 that the collector does not scan. A map of a million string
// keys costs a rehash of every key each time it grows, and the collector
// reads every key and value of it on every cycle.

// chunkBits sets the items per chunk of a table (4,096).
const chunkBits = 12

const chunkLen = 1 << chunkBits

// HoldTable holds the holds of the state. Snapshots write it as before: a
// JSON object from hold id to hold, ids sorted.
type HoldTable = table[Hold, *Hold]

// OrderTable holds the orders of the state, written like HoldTable.
type OrderTable = table[Order, *Order]

func (h *Hold) id() string  { return h.ID }
func (o *Order) id() string { return o.ID }

// table is a dense array of T found by id. Items are never removed.
type table[T any, P interface {
	*T
	id() string
}] struct {
	chunks [][]T            // the items in the order they were added, chunkLen per chunk
	n      int              // how many
	byNum  []int32          // 1 + the index of the item whose id carries the number i+1 (0: none)
	byID   map[string]int32 // the index of an item whose id carries no number free in byNum
}

// Len is the number of items.
func (t *table[T, P]) Len() int { return t.n }

// Get returns the item with this id, or nil.
func (t *table[T, P]) Get(id string) *T {
	if i := t.find(id); i >= 0 {
		return t.at(i)
	}
	return nil
}

// find returns the index of the item with this id, or -1.
func (t *table[T, P]) find(id string) int {
	if n, ok := idNumber(id); ok && n <= uint64(len(t.byNum)) {
		if k := int(t.byNum[n-1]) - 1; k >= 0 && P(t.at(k)).id() == id {
			return k
		}
	}
	if k, ok := t.byID[id]; ok {
		return int(k)
	}
	return -1
}

// All yields every item, in the order they were added.
func (t *table[T, P]) All() iter.Seq[*T] {
	return func(yield func(*T) bool) {
		for i := range t.n {
			if !yield(t.at(i)) {
				return
			}
		}
	}
}

func (t *table[T, P]) at(i int) *T { return &t.chunks[i>>chunkBits][i&(chunkLen-1)] }

// add appends v, whose id must be new, and returns where it is. room bounds
// the numbers kept in byNum (ids with larger numbers go to byID), so that
// a stray id cannot make the slice huge.
func (t *table[T, P]) add(v T, room int) (*T, int32) {
	n, ok := idNumber(P(&v).id())
	return t.addNumbered(v, n, ok, room)
}

// addNumbered is add for an item whose id carries the number n (ok), as
// idNumber reads it: appendID made the id from n, so it is not read again.
func (t *table[T, P]) addNumbered(v T, n uint64, ok bool, room int) (*T, int32) {
	p := t.next()
	*p = v
	t.n++
	t.indexAs(t.n-1, n, ok, room)
	return p, int32(t.n - 1)
}

// next returns where the next item goes, making room for it.
func (t *table[T, P]) next() *T {
	if t.n>>chunkBits == len(t.chunks) {
		t.chunks = append(t.chunks, makeChunk[T](chunkLen, chunkLen))
	}
	return t.at(t.n)
}

// reserve makes room in byNum for the numbers up to n, so that indexing
// them does not grow it.
func (t *table[T, P]) reserve(n int) {
	if n > cap(t.byNum) {
		t.byNum = slices.Grow(t.byNum, n-len(t.byNum))
	}
}

// index makes item i found by its id; false if another item has that id.
func (t *table[T, P]) index(i, room int) bool {
	n, ok := idNumber(P(t.at(i)).id())
	return t.indexAs(i, n, ok, room)
}

// indexAs is index for item i whose id carries the number n (ok).
func (t *table[T, P]) indexAs(i int, n uint64, ok bool, room int) bool {
	id := P(t.at(i)).id()
	if ok && n <= uint64(max(room, len(t.byNum))) {
		if n > uint64(cap(t.byNum)) {
			// At least doubling: append would grow it by a quarter, a
			// copy of the whole slice every few thousand items.
			t.byNum = slices.Grow(t.byNum, max(int(n)-len(t.byNum), len(t.byNum)))
		}
		if n > uint64(len(t.byNum)) {
			t.byNum = t.byNum[:n]
		}
		k := int(t.byNum[n-1]) - 1
		if k < 0 {
			t.byNum[n-1] = int32(i + 1)
			return true
		}
		if P(t.at(k)).id() == id {
			return false
		}
	}
	if _, dup := t.byID[id]; dup {
		return false
	}
	if t.byID == nil {
		t.byID = map[string]int32{}
	}
	t.byID[id] = int32(i)
	return true
}

// clone copies every item into new chunks.
func (t *table[T, P]) clone() table[T, P] {
	c := table[T, P]{n: t.n, byNum: slices.Clone(t.byNum), byID: maps.Clone(t.byID)}
	c.chunks = make([][]T, len(t.chunks))
	for i, ch := range t.chunks {
		c.chunks[i] = slices.Clone(ch)
	}
	return c
}

// idNumber reads the base-36 number of an id made by appendID: prefix "_"
// number "_" rest.
func idNumber(id string) (uint64, bool) {
	i := strings.IndexByte(id, '_')
	if i < 0 {
		return 0, false
	}
	rest := id[i+1:]
	j := strings.IndexByte(rest, '_')
	if j <= 0 || j > 12 {
		return 0, false
	}
	// strconv.ParseUint(rest[:j], 36, 64), by hand: twelve base-36
	// digits cannot overflow.
	var n uint64
	for _, c := range []byte(rest[:j]) {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'z':
			c -= 'a' - 10
		case 'A' <= c && c <= 'Z':
			c -= 'A' - 10
		default:
			return 0, false
		}
		n = n*36 + uint64(c)
	}
	if n == 0 || n > 1<<31-1 {
		return 0, false
	}
	return n, true
}

// MarshalJSON writes the items as encoding/json writes a map from id to
// item: ids sorted, HTML escaped.
func (t table[T, P]) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	if err := t.writeJSON(&buf, json.NewEncoder(&buf)); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func (t *table[T, P]) writeJSON(buf *bytes.Buffer, enc *json.Encoder) error {
	order := make([]int32, t.n)
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int {
		return strings.Compare(P(t.at(int(a))).id(), P(t.at(int(b))).id())
	})
	buf.WriteByte('{')
	for k, i := range order {
		p := t.at(int(i))
		writeKey(buf, k, P(p).id())
		if err := encodeOne(enc, buf, p); err != nil {
			return err
		}
	}
	buf.WriteByte('}')
	return nil
}

// encodeOne writes v as encoding/json does, without the Encoder's newline.
func encodeOne(enc *json.Encoder, buf *bytes.Buffer, v any) error {
	if err := enc.Encode(v); err != nil {
		return err
	}
	buf.Truncate(buf.Len() - 1)
	return nil
}

// UnmarshalJSON reads what MarshalJSON (or encoding/json, from the map
// this table replaced) wrote, under encoding/json's rules.
func (t *table[T, P]) UnmarshalJSON(b []byte) error {
	return t.UnmarshalJSONFrom(jsontext.NewDecoder(bytes.NewReader(b), jsonv1.DefaultOptionsV1()))
}

// UnmarshalJSONFrom is UnmarshalJSON reading from the snapshot's decoder
// (Unmarshal), each item straight into its place.
func (t *table[T, P]) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	var next table[T, P]
	err := readObjectFrom(dec, func(key string) error {
		p := next.next()
		if err := jsonv2.UnmarshalDecode(dec, p, jsonv1.DefaultOptionsV1()); err != nil {
			return err
		}
		if P(p).id() != key {
			return fmt.Errorf("sale: item %q is under the key %q", P(p).id(), key)
		}
		next.n++
		return nil
	})
	if err != nil {
		return err
	}
	// Indexed once all are read: ids come sorted as strings, not by number.
	room := 2*next.n + chunkLen
	for i := range next.n {
		if !next.index(i, room) {
			*t = next.withoutDuplicates(room)
			return nil
		}
	}
	*t = next
	return nil
}

// withoutDuplicates rebuilds a table read with an id twice: the last one
// counts, as in a map.
func (t *table[T, P]) withoutDuplicates(room int) table[T, P] {
	var out table[T, P]
	for p := range t.All() {
		if i := out.find(P(p).id()); i >= 0 {
			*out.at(i) = *p
			continue
		}
		out.add(*p, room)
	}
	return out
}

// readObjectFrom calls each for every member of the JSON object dec is
// at (null reads as empty); each reads the member's value.
func readObjectFrom(dec *jsontext.Decoder, each func(key string) error) error {
	return readEachFrom(dec, '{', func() error {
		tok, err := dec.ReadToken()
		if err != nil {
			return err
		}
		return each(tok.String())
	})
}

// readEachFrom reads the JSON object or array (open is '{' or '[') dec is
// at, calling each to read every member or element (null reads as empty).
func readEachFrom(dec *jsontext.Decoder, open jsontext.Kind, each func() error) error {
	tok, err := dec.ReadToken()
	if err != nil {
		return err
	}
	closing, what := jsontext.Kind('}'), "object"
	if open == '[' {
		closing, what = ']', "array"
	}
	switch tok.Kind() {
	case 'n':
		return nil
	case open:
	default:
		return fmt.Errorf("sale: want a JSON %s, got %v", what, tok.Kind())
	}
	for dec.PeekKind() != closing {
		if err := each(); err != nil {
			return err
		}
	}
	_, err = dec.ReadToken()
	return err
}

// prefetchID asks for the slot of byNum that finding id reads first.
func (t *table[T, P]) prefetchID(id string) {
	if n, ok := idNumber(id); ok && n <= uint64(len(t.byNum)) {
		prefetch(uintptr(unsafe.Pointer(&t.byNum[n-1])))
	}
}
