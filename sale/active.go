package sale

import (
	"bytes"
	"encoding/json"
	"iter"
	"slices"
	"strings"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	jsonv1 "github.com/go-json-experiment/json/v1"
)

// ActiveHolds is the set of a drop's active holds (Drop.Active). Every
// buyer's hold enters it and leaves it at the order, so it is a slice, not
// a map of string keys (an insert and a delete hashing the id each): a
// hold knows its place in it (Hold.activeAt), and leaving swaps the last
// one into that place. Its order carries no meaning: whatever reads it
// sums or takes minimums. Snapshots write it as before: a JSON object from
// hold id to true, ids sorted.
type ActiveHolds struct {
	list []activeHold // nil as a nil map (JSON null), else made
}

type activeHold struct {
	id string
	i  int32 // the hold's index in State.Holds (-1: a snapshot named a hold it lacks)
}

// Len is the number of active holds.
func (a *ActiveHolds) Len() int { return len(a.list) }

// Has reports whether the hold with this id is active.
func (a *ActiveHolds) Has(id string) bool {
	return slices.ContainsFunc(a.list, func(e activeHold) bool { return e.id == id })
}

// IDs yields the ids of the active holds, in no fixed order.
func (a *ActiveHolds) IDs() iter.Seq[string] {
	return func(yield func(string) bool) {
		for _, e := range a.list {
			if !yield(e.id) {
				return
			}
		}
	}
}

// activate adds hold i, h, which is not active.
func (s *State) activate(d *Drop, h *Hold, i int32) {
	d.Active.list = append(d.Active.list, activeHold{h.ID, i})
	h.activeAt = int32(len(d.Active.list))
}

// deactivate takes h out of d's active holds.
func (s *State) deactivate(d *Drop, h *Hold) {
	a := &d.Active
	k := int(h.activeAt) - 1
	if k < 0 || k >= len(a.list) || a.list[k].id != h.ID {
		// Not where it says (a snapshot named it twice): look for it.
		if k = slices.IndexFunc(a.list, func(e activeHold) bool { return e.id == h.ID }); k < 0 {
			return
		}
	}
	h.activeAt = 0
	last := len(a.list) - 1
	if k != last {
		a.list[k] = a.list[last]
		if j := a.list[k].i; j >= 0 {
			s.Holds.at(int(j)).activeAt = int32(k + 1)
		}
	}
	a.list[last] = activeHold{}
	a.list = a.list[:last]
}

// restoreActive finds the holds a snapshot's active sets name.
func (s *State) restoreActive(d *Drop) {
	if d.Active.list == nil {
		d.Active.list = []activeHold{}
	}
	for k := range d.Active.list {
		e := &d.Active.list[k]
		e.i = int32(s.Holds.find(e.id))
		if e.i >= 0 {
			s.Holds.at(int(e.i)).activeAt = int32(k + 1)
		}
	}
}

func (a *ActiveHolds) clone() ActiveHolds { return ActiveHolds{list: slices.Clone(a.list)} }

// MarshalJSON writes the set as encoding/json writes a map from hold id to
// true.
func (a ActiveHolds) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	if err := a.writeJSON(&buf, nil); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func (a *ActiveHolds) writeJSON(buf *bytes.Buffer, _ *json.Encoder) error {
	if a.list == nil {
		buf.WriteString("null")
		return nil
	}
	ids := make([]string, len(a.list))
	for k, e := range a.list {
		ids[k] = e.id
	}
	slices.SortFunc(ids, strings.Compare)
	buf.WriteByte('{')
	for k, id := range ids {
		writeKey(buf, k, id)
		buf.WriteString("true")
	}
	buf.WriteByte('}')
	return nil
}

// UnmarshalJSON reads what MarshalJSON (or encoding/json, from the map this
// replaced) wrote: every id is kept, once, in sorted order; restored finds
// their holds.
func (a *ActiveHolds) UnmarshalJSON(b []byte) error {
	return a.UnmarshalJSONFrom(jsontext.NewDecoder(bytes.NewReader(b), jsonv1.DefaultOptionsV1()))
}

// UnmarshalJSONFrom is UnmarshalJSON reading from the snapshot's decoder.
func (a *ActiveHolds) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	if dec.PeekKind() == 'n' {
		_, err := dec.ReadToken()
		*a = ActiveHolds{}
		return err
	}
	var ids []string
	err := readObjectFrom(dec, func(key string) error {
		var v bool
		if err := jsonv2.UnmarshalDecode(dec, &v, jsonv1.DefaultOptionsV1()); err != nil {
			return err
		}
		ids = append(ids, key)
		return nil
	})
	if err != nil {
		return err
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	list := make([]activeHold, len(ids))
	for k, id := range ids {
		list[k] = activeHold{id, -1}
	}
	*a = ActiveHolds{list: list}
	return nil
}
