package sale

import (
	"bytes"
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"strings"

	"github.com/floodgate/floodgate/internal/handjson"
)

// Marshal returns the canonical encoding of the state: JSON with sorted map
// keys, so equal states give byte-identical output.
//
// The bytes are exactly what encoding/json writes for the state
// (TestMarshalIsEncodingJSON), but the tables (holds, orders, tickets), the
// order feed and each drop's customers and log are written here straight
// into the output: encoding/json would check and copy again every byte
// their MarshalJSON methods return, which at 200,000 buyers is most of the
// snapshot. The other fields go through encoding/json, one by one, in the
// order and under the omitempty rule it uses.
func (s *State) Marshal() ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(4096 + 256*s.Holds.Len() + 320*s.Orders.Len() + 384*s.Events.Len()) // about what a rush writes per item
	enc := json.NewEncoder(&buf)
	fields, ok := fieldsOf(reflect.TypeFor[State]())
	if !ok {
		return json.Marshal(s) // a field this writer does not know to write as encoding/json does
	}
	if err := writeFields(&buf, enc, reflect.ValueOf(s).Elem(), fields); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// jsonField is a field encoding/json writes: its name, whether it is
// omitted when empty, and where it is (an index sequence, through
// embedded structs).
type jsonField struct {
	name      string
	omitEmpty bool
	index     []int
}

// fieldsOf lists the fields encoding/json writes for struct type t, in its
// order (the fields of an embedded struct where it is embedded); false if
// t has a field whose rules this writer does not follow (no name in its
// tag, an option other than omitempty, an embedded pointer, two fields of
// one name).
func fieldsOf(t reflect.Type) ([]jsonField, bool) {
	var out []jsonField
	seen := map[string]bool{}
	var walk func(t reflect.Type, index []int) bool
	walk = func(t reflect.Type, index []int) bool {
		for i := range t.NumField() {
			f := t.Field(i)
			idx := append(slices.Clone(index), i)
			tag := f.Tag.Get("json")
			if f.Anonymous && tag == "" {
				if f.Type.Kind() != reflect.Struct || !walk(f.Type, idx) {
					return false
				}
				continue
			}
			if !f.IsExported() {
				continue
			}
			name, opts, _ := strings.Cut(tag, ",")
			if name == "" || name == "-" || opts != "" && opts != "omitempty" || seen[name] {
				return false
			}
			seen[name] = true
			out = append(out, jsonField{name, opts == "omitempty", idx})
		}
		return true
	}
	return out, walk(t, nil)
}

// writeFields writes struct v as a JSON object of fields. A field that
// writes its own JSON (jsonWriter) writes straight into buf; encoding/json
// would check and copy again every byte a MarshalJSON method returns,
// which for the tables, the feed, a drop's customers and its log is most
// of the snapshot. The drops (a map of pointers) are written here too, so
// that their customers and logs are.
func writeFields(buf *bytes.Buffer, enc *json.Encoder, v reflect.Value, fields []jsonField) error {
	buf.WriteByte('{')
	n := 0
	for _, f := range fields {
		fv := v.FieldByIndex(f.index)
		if f.omitEmpty && emptyJSON(fv) {
			continue
		}
		writeKey(buf, n, f.name)
		n++
		var err error
		switch w := fv.Addr().Interface().(type) {
		case jsonWriter:
			err = w.writeJSON(buf, enc)
		case *map[string]*Drop:
			err = writeDrops(buf, enc, *w)
		default:
			err = encodeOne(enc, buf, fv.Interface())
		}
		if err != nil {
			return err
		}
	}
	buf.WriteByte('}')
	return nil
}

// writeDrops writes the drops as encoding/json writes the map: ids
// sorted, each drop's fields as writeFields does.
func writeDrops(buf *bytes.Buffer, enc *json.Encoder, drops map[string]*Drop) error {
	fields, ok := fieldsOf(reflect.TypeFor[Drop]())
	if !ok || drops == nil {
		return encodeOne(enc, buf, drops)
	}
	ids := slices.Sorted(maps.Keys(drops))
	buf.WriteByte('{')
	for k, id := range ids {
		writeKey(buf, k, id)
		d := drops[id]
		if d == nil {
			buf.WriteString("null")
			continue
		}
		if err := writeFields(buf, enc, reflect.ValueOf(d).Elem(), fields); err != nil {
			return err
		}
	}
	buf.WriteByte('}')
	return nil
}

// jsonWriter is a field that writes its own JSON into the snapshot.
type jsonWriter interface {
	writeJSON(buf *bytes.Buffer, enc *json.Encoder) error
}

// emptyJSON is encoding/json's test for omitempty.
func emptyJSON(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool:
		return !v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int() == 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return v.Uint() == 0
	case reflect.Float32, reflect.Float64:
		return v.Float() == 0
	case reflect.Interface, reflect.Pointer:
		return v.IsNil()
	}
	return false
}

// writeString writes s as encoding/json does.
func writeString(buf *bytes.Buffer, s string) {
	buf.Write(handjson.AppendString(buf.AvailableBuffer(), s))
}

// writeKey starts member k (from 0) of a JSON object: the comma before
// every member but the first, the quoted key and the colon. Every object
// of the snapshot is written with it.
func writeKey(buf *bytes.Buffer, k int, key string) {
	if k > 0 {
		buf.WriteByte(',')
	}
	writeString(buf, key)
	buf.WriteByte(':')
}
