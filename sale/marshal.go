package sale

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"

	"github.com/floodgate/floodgate/internal/handjson"
)

// Marshal returns the canonical encoding of the state: JSON with sorted map
// keys, so equal states give byte-identical output.
//
// The bytes are exactly what encoding/json writes for the state
// (TestMarshalIsEncodingJSON), but the tables (holds, orders, tickets) are
// written here straight into the output: encoding/json would check and
// copy again every byte their MarshalJSON methods return, which at 200,000
// buyers is most of the snapshot. The other fields go through encoding/json,
// one by one, in the order and under the omitempty rule it uses.
func (s *State) Marshal() ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(4096 + 256*s.Holds.Len() + 320*s.Orders.Len() + 384*s.Events.Len()) // about what a rush writes per item
	enc := json.NewEncoder(&buf)
	v := reflect.ValueOf(s).Elem()
	t := v.Type()
	buf.WriteByte('{')
	n := 0
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.Anonymous || name == "" || name == "-" || opts != "" && opts != "omitempty" {
			return json.Marshal(s) // a field this writer does not know to write as encoding/json does
		}
		fv := v.Field(i)
		if opts == "omitempty" && emptyJSON(fv) {
			continue
		}
		if n > 0 {
			buf.WriteByte(',')
		}
		n++
		writeString(&buf, name)
		buf.WriteByte(':')
		var err error
		if w, ok := fv.Addr().Interface().(jsonWriter); ok {
			err = w.writeJSON(&buf, enc)
		} else {
			err = encodeOne(enc, &buf, fv.Interface())
		}
		if err != nil {
			return nil, err
		}
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
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
