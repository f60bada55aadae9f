package sale

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// textFields returns every string the command holds, through pointers,
// slices and nested structs (the inner command of an audited one too).
func textFields(v reflect.Value) []reflect.Value {
	switch v.Kind() {
	case reflect.String:
		return []reflect.Value{v}
	case reflect.Pointer:
		if v.IsNil() {
			return nil
		}
		return textFields(v.Elem())
	case reflect.Struct:
		var out []reflect.Value
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				out = append(out, textFields(v.Field(i))...)
			}
		}
		return out
	case reflect.Slice:
		var out []reflect.Value
		for i := range v.Len() {
			out = append(out, textFields(v.Index(i))...)
		}
		return out
	}
	return nil
}

// TestDecodeRefusesInvalidUTF8 puts a byte that is not UTF-8 into every
// text field of every kind that encodes it: the state is saved as JSON, which
// would turn it into U+FFFD, so such a command must not decode at all.
// Bytes fields (secrets, seeds, status values) are not text and stay free.
func TestDecodeRefusesInvalidUTF8(t *testing.T) {
	tried := 0
	for _, c := range sampleCommands() {
		want := AppendCommand(nil, &c)
		for _, f := range textFields(reflect.ValueOf(&c)) {
			old := f.String()
			f.SetString(old + "\xff")
			buf := AppendCommand(nil, &c)
			f.SetString(old)
			if string(buf) == string(want) {
				continue // a field this kind does not encode
			}
			tried++
			_, err := DecodeCommand(buf)
			if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "UTF-8") {
				t.Errorf("%v with %q+\"\\xff\" decodes (err %v)", c.Kind, old, err)
			}
		}
	}
	if tried < 40 {
		t.Fatalf("only %d text fields tried", tried)
	}
	// SetNode, as the property test found it: a node id of raw bytes.
	_, err := DecodeCommand(AppendCommand(nil, &Command{Kind: KindSetNode, NodeID: "n\xc3", HTTPAddr: "http://127.0.0.1:1"}))
	if err == nil || err.Error() != "set_node: sale: malformed command encoding: a text field is not valid UTF-8" {
		t.Fatalf("SetNode with a bad node id: %v", err)
	}
}
