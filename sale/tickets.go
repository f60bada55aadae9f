package sale

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"
	"strings"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	jsonv1 "github.com/go-json-experiment/json/v1"
)

// TicketIndex finds the hold a ticket took (one per ticket: drop "/"
// visitor), by a hash of the ticket (hashIndex) into the holds; more also
// keeps the tickets read from a snapshot that do not name their hold's
// drop and visitor. Snapshots write it as before: a JSON object from
// drop "/" visitor to hold id.
type TicketIndex struct {
	holds *HoldTable // the state's own
	hashIndex
	loaded map[string]string // as a snapshot has it, until restored indexes it
}

func newTicketIndex(holds *HoldTable) TicketIndex {
	return TicketIndex{holds: holds, hashIndex: newHashIndex(0)}
}

// ticketHash is the keyHash of drop "/" visitor.
func ticketHash(drop, visitor string) uint64 {
	var kb keyBuf
	return keyHash(joinKey(kb[:0], drop, '/', visitor))
}

// Len is the number of tickets that took a hold.
func (x *TicketIndex) Len() int { return x.indexed() }

// Get returns the hold the ticket of visitor took in drop, or nil.
func (x *TicketIndex) Get(drop, visitor string) *Hold {
	return x.getHash(drop, visitor, ticketHash(drop, visitor))
}

// getHash is Get for a ticket whose ticketHash is h.
func (x *TicketIndex) getHash(drop, visitor string, h uint64) *Hold {
	i := x.findHashed(h, func(i int32) bool {
		h := x.holds.at(int(i))
		return h.Drop == drop && h.Visitor == visitor
	}, func(b []byte) []byte { return joinKey(b, drop, '/', visitor) })
	if i < 0 {
		return nil
	}
	return x.holds.at(i)
}

// put records that hold i (of this drop and visitor) is the ticket's.
func (x *TicketIndex) put(drop, visitor string, i int32) {
	x.putHashed(ticketHash(drop, visitor), i)
}

// clone copies x for a copy of the state whose holds are holds.
func (x *TicketIndex) clone(holds *HoldTable) TicketIndex {
	return TicketIndex{holds: holds, hashIndex: x.cloneIndex(), loaded: maps.Clone(x.loaded)}
}

// restore indexes the tickets a snapshot held against its holds. A ticket
// whose hold is missing is dropped (no state Apply makes has one).
func (x *TicketIndex) restore(holds *HoldTable) {
	loaded := x.loaded
	*x = newTicketIndex(holds)
	keys := make([]string, 0, len(loaded))
	for k := range loaded {
		keys = append(keys, k)
	}
	slices.Sort(keys) // the same index whatever the map's order
	for _, k := range keys {
		j := holds.find(loaded[k])
		if j < 0 {
			continue
		}
		h, i := holds.at(j), int32(j)
		if drop, visitor, ok := strings.Cut(k, "/"); ok && drop == h.Drop && visitor == h.Visitor && x.Get(drop, visitor) == nil {
			x.put(drop, visitor, i)
			continue
		}
		x.spill(k, i)
	}
}

// MarshalJSON writes the tickets as encoding/json writes a map from
// drop "/" visitor to hold id.
func (x TicketIndex) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	if err := x.writeJSON(&buf, json.NewEncoder(&buf)); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func (x *TicketIndex) writeJSON(buf *bytes.Buffer, enc *json.Encoder) error {
	type pair struct{ key, id string }
	pairs := make([]pair, 0, x.Len()+len(x.loaded))
	x.m.each(func(i int32) {
		h := x.holds.at(int(i))
		pairs = append(pairs, pair{h.Drop + "/" + h.Visitor, h.ID})
	})
	for k, i := range x.more {
		pairs = append(pairs, pair{k, x.holds.at(int(i)).ID})
	}
	for k, id := range x.loaded {
		pairs = append(pairs, pair{k, id})
	}
	slices.SortFunc(pairs, func(a, b pair) int { return strings.Compare(a.key, b.key) })
	buf.WriteByte('{')
	for k, p := range pairs {
		writeKey(buf, k, p.key)
		writeString(buf, p.id)
	}
	buf.WriteByte('}')
	return nil
}

// UnmarshalJSON keeps the tickets as read; restored indexes them once the
// holds are read too.
func (x *TicketIndex) UnmarshalJSON(b []byte) error {
	return x.UnmarshalJSONFrom(jsontext.NewDecoder(bytes.NewReader(b), jsonv1.DefaultOptionsV1()))
}

// UnmarshalJSONFrom is UnmarshalJSON reading from the snapshot's decoder.
func (x *TicketIndex) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	loaded := map[string]string{}
	err := readObjectFrom(dec, func(key string) error {
		var id string
		if err := jsonv2.UnmarshalDecode(dec, &id, jsonv1.DefaultOptionsV1()); err != nil {
			return err
		}
		loaded[key] = id
		return nil
	})
	if err != nil {
		return err
	}
	x.loaded = loaded
	return nil
}
