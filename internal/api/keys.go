package api

import (
	"bytes"
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
)

// checkKeys walks buf, a JSON value that decoded into a value of type t,
// and refuses what encoding/json lets through: a key twice in one object
// (the last one wins there, where a proxy, a log or another parser may
// read the first), and a key that names a field only in another case
// ("Stock" for "stock"), which the API documents as an unknown field.
func checkKeys(buf []byte, t reflect.Type) error {
	dec := json.NewDecoder(bytes.NewReader(buf))
	dec.UseNumber()
	return walkKeys(dec, t)
}

var (
	unmarshalerType     = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// walkKeys reads one value from dec, checking the keys of its objects
// against t (nil: any keys, each once).
func walkKeys(dec *json.Decoder, t reflect.Type) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t != nil && (reflect.PointerTo(t).Implements(unmarshalerType) || reflect.PointerTo(t).Implements(textUnmarshalerType)) {
		t = nil // a type that reads itself has its own rules
	}
	var fields map[string]reflect.Type
	var elem reflect.Type
	if t != nil {
		switch t.Kind() {
		case reflect.Struct:
			fields = jsonFields(t)
		case reflect.Map, reflect.Slice, reflect.Array:
			elem = t.Elem()
		}
	}
	if d == '[' {
		for dec.More() {
			if err := walkKeys(dec, elem); err != nil {
				return err
			}
		}
		_, err = dec.Token()
		return err
	}
	// The objects of a request are small: their keys are looked up in a
	// slice, and in a map once there are many (a body of 1 MiB can hold
	// 100,000 keys, which a slice would compare pairwise).
	var seen []string
	var many map[string]bool
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return err
		}
		k, _ := kt.(string)
		if slices.Contains(seen, k) || many[k] {
			return fmt.Errorf("field %q appears twice", k)
		}
		switch {
		case many != nil:
			many[k] = true
		case len(seen) < 16:
			seen = append(seen, k)
		default:
			many = make(map[string]bool, 64)
			for _, s := range seen {
				many[s] = true
			}
			many[k], seen = true, nil
		}
		next := elem
		if fields != nil {
			ft, ok := fields[k]
			if !ok {
				return fmt.Errorf("unknown field %q (field names are case-sensitive)", k)
			}
			next = ft
		}
		if err := walkKeys(dec, next); err != nil {
			return err
		}
	}
	_, err = dec.Token()
	return err
}

var fieldCache sync.Map // reflect.Type → map[string]reflect.Type

// jsonFields maps the JSON names of a struct's fields, promoted ones
// included, to their types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	if m, ok := fieldCache.Load(t); ok {
		return m.(map[string]reflect.Type)
	}
	m := map[string]reflect.Type{}
	addFields(t, m)
	fieldCache.Store(t, m)
	return m
}

func addFields(t reflect.Type, m map[string]reflect.Type) {
	// Promoted fields first, so that the struct's own fields win.
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if f.Anonymous && name == "" && ft.Kind() == reflect.Struct {
			addFields(ft, m)
		}
	}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		if tag == "-" || !f.IsExported() || f.Anonymous && name == "" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		m[name] = f.Type
	}
}
