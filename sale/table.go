package sale

import (
	"bytes"
	"encoding/json"
	"fmt"
	"iter"
	"maps"
	"slices"
	"strconv"
	"strings"

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
	i := t.n
	if i>>chunkBits == len(t.chunks) {
		t.chunks = append(t.chunks, make([]T, chunkLen))
	}
	p := t.at(i)
	*p = v
	t.n++
	id := P(p).id()
	if n, ok := idNumber(id); ok && n <= uint64(max(room, len(t.byNum))) {
		if n > uint64(len(t.byNum)) {
			t.byNum = slices.Grow(t.byNum, int(n)-len(t.byNum))[:n]
		}
		if t.byNum[n-1] == 0 {
			t.byNum[n-1] = int32(i + 1)
			return p, int32(i)
		}
	}
	if t.byID == nil {
		t.byID = map[string]int32{}
	}
	t.byID[id] = int32(i)
	return p, int32(i)
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

// idNumber reads the base-36 number of an id made by newID: prefix "_"
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
	n, err := strconv.ParseUint(rest[:j], 36, 64)
	if err != nil || n == 0 || n > 1<<31-1 {
		return 0, false
	}
	return n, true
}

// MarshalJSON writes the items as encoding/json writes a map from id to
// item: ids sorted, HTML escaped.
func (t table[T, P]) MarshalJSON() ([]byte, error) {
	order := make([]int32, t.n)
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int {
		return strings.Compare(P(t.at(int(a))).id(), P(t.at(int(b))).id())
	})
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	buf.WriteByte('{')
	for k, i := range order {
		if k > 0 {
			buf.WriteByte(',')
		}
		p := t.at(int(i))
		if err := encodeOne(enc, &buf, P(p).id()); err != nil {
			return nil, err
		}
		buf.WriteByte(':')
		if err := encodeOne(enc, &buf, p); err != nil {
			return nil, err
		}
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
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
	var ids []string
	var items []T
	err := readObject(b, func(dec *jsontext.Decoder, key string) error {
		var v T
		if err := jsonv2.UnmarshalDecode(dec, &v, jsonv1.DefaultOptionsV1()); err != nil {
			return err
		}
		if P(&v).id() != key {
			return fmt.Errorf("sale: item %q is under the key %q", P(&v).id(), key)
		}
		ids, items = append(ids, key), append(items, v)
		return nil
	})
	if err != nil {
		return err
	}
	*t = table[T, P]{}
	room := 2*len(items) + chunkLen
	for k, v := range items {
		if i := t.find(ids[k]); i >= 0 {
			*t.at(i) = v // a key twice: the last one counts, as in a map
			continue
		}
		t.add(v, room)
	}
	return nil
}

// readObject calls each for every member of the JSON object b (null reads
// as empty), under encoding/json's rules.
func readObject(b []byte, each func(dec *jsontext.Decoder, key string) error) error {
	dec := jsontext.NewDecoder(bytes.NewReader(b), jsonv1.DefaultOptionsV1())
	tok, err := dec.ReadToken()
	if err != nil {
		return err
	}
	switch tok.Kind() {
	case 'n':
		return nil
	case '{':
	default:
		return fmt.Errorf("sale: want a JSON object, got %v", tok.Kind())
	}
	for dec.PeekKind() != '}' {
		tok, err := dec.ReadToken()
		if err != nil {
			return err
		}
		if err := each(dec, tok.String()); err != nil {
			return err
		}
	}
	_, err = dec.ReadToken()
	return err
}
