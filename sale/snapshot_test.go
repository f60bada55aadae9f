package sale

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

var updateGolden = flag.Bool("update-golden", false, "rewrite sale/testdata/snapshot-*.json with encoding/json")

// goldenStates are the states whose snapshots sale/testdata keeps: random
// command sequences (drops, holds, orders, payments, controls, tenants,
// sinks, the fair draw, status records) and a small rush.
func goldenStates(tb testing.TB) map[string]*State {
	states := map[string]*State{"rush": rushState(tb, 100)}
	for _, seed := range []uint64{1, 7, 42} {
		_, _, s := run(tb, seed, 1500)
		states[fmt.Sprintf("seq%d", seed)] = s
	}
	return states
}

// oldUnmarshal is how a snapshot was read before Unmarshal moved off
// encoding/json.
func oldUnmarshal(buf []byte) (*State, error) {
	s := NewState()
	if err := json.Unmarshal(buf, s); err != nil {
		return nil, err
	}
	s.restored()
	return s, nil
}

// TestSnapshotsOfEarlierCodeLoad loads snapshots that encoding/json wrote
// (the code before this decoder; regenerate only with that code, with
// -update-golden) and checks that the state read is, field by field, the one
// encoding/json reads, that it passes Check, and that saving it again gives
// the bytes encoding/json gives for it (today: the file's own bytes), so
// that the earlier code loads what this code writes. A field added to the
// state later needs no new golden file.
func TestSnapshotsOfEarlierCodeLoad(t *testing.T) {
	if *updateGolden {
		for name, s := range goldenStates(t) {
			buf, err := json.Marshal(s)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join("testdata", "snapshot-"+name+".json"), buf, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	files, err := filepath.Glob(filepath.Join("testdata", "snapshot-*.json"))
	if err != nil || len(files) < 4 {
		t.Fatalf("golden snapshots: %v %v", files, err)
	}
	holds, orders := 0, 0
	for _, f := range files {
		buf, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Unmarshal(buf)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		want, err := oldUnmarshal(buf)
		if err != nil {
			t.Fatalf("%s: encoding/json: %v", f, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: state read differs from encoding/json's", f)
		}
		holds, orders = holds+got.Holds.Len(), orders+got.Orders.Len()
		if err := got.Check(); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		again, err := got.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		// The same bytes as the file until a field is added to the
		// state; after that, the bytes encoding/json writes for what it
		// read.
		old, err := json.Marshal(want)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again, old) {
			t.Fatalf("%s: saving the loaded state gives other bytes than encoding/json gives", f)
		}
	}
	if holds < 100 || orders < 90 {
		t.Fatalf("golden snapshots hold %d holds and %d orders: too few to test anything", holds, orders)
	}
}

// TestMarshalIsEncodingJSON checks that a snapshot's bytes are exactly what
// encoding/json writes for the same state, so that the code before this
// change reads snapshots written after it.
func TestMarshalIsEncodingJSON(t *testing.T) {
	for name, s := range goldenStates(t) {
		got, err := s.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("%s: Marshal differs from encoding/json", name)
		}
	}
}
