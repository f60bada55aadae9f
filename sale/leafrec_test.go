package sale

import (
	"bytes"
	"fmt"
	"reflect"
	"slices"
	"testing"
)

// hasPointers says whether values of t hold a pointer the collector
// follows (a string, slice, map, pointer, interface, channel or func).
func hasPointers(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Struct:
		for i := range t.NumField() {
			if hasPointers(t.Field(i).Type) {
				return true
			}
		}
		return false
	case reflect.Array:
		return t.Len() > 0 && hasPointers(t.Elem())
	case reflect.String, reflect.Slice, reflect.Map, reflect.Pointer, reflect.UnsafePointer,
		reflect.Interface, reflect.Chan, reflect.Func:
		return true
	}
	return false
}

// TestLogKeepsNoPointerPerRecord: the records a drop's log keeps (a record
// per order) hold no pointer, so a collection does not read them one by
// one; the order feed's entries neither.
func TestLogKeepsNoPointerPerRecord(t *testing.T) {
	chunk := reflect.TypeOf(LeafLog(nil)).Elem() // a chunk: the records, or the records and their context
	if chunk.Kind() == reflect.Struct {
		f, ok := chunk.FieldByName("recs")
		if !ok {
			t.Fatalf("a chunk of the log %v has no recs", chunk)
		}
		chunk = f.Type
	}
	if rec := chunk.Elem(); hasPointers(rec) {
		t.Errorf("the log keeps %v, which holds pointers", rec)
	}
	if hasPointers(reflect.TypeOf(FeedEntry{})) {
		t.Error("FeedEntry holds pointers")
	}
}

func logRecords(l LeafLog) []LogRecord {
	var out []LogRecord
	for i, r := range l.All() {
		if r != l.At(i) {
			panic(fmt.Sprintf("All and At differ at %d: %+v, %+v", i, r, l.At(i)))
		}
		out = append(out, r)
	}
	return out
}

func keptWhole(l LeafLog) int {
	if len(l) == 0 {
		return 0
	}
	return chunksLen(l[0].ctx.whole, logChunk)
}

// sameLog fails the test unless drop's log in b has the records of a and
// gives the same leaves.
func sameLog(t *testing.T, a, b *State, drop, what string) {
	t.Helper()
	ra, rb := logRecords(a.Drops[drop].Log), logRecords(b.Drops[drop].Log)
	if !slices.Equal(ra, rb) {
		t.Fatalf("%s: log\n%+v\nwant\n%+v", what, rb, ra)
	}
	for i := range a.LogSize(drop) {
		la, oka := a.LogLeaf(drop, i)
		lb, okb := b.LogLeaf(drop, i)
		if oka != okb || !bytes.Equal(la, lb) {
			t.Fatalf("%s: leaf %d is %s (%v), want %s (%v)", what, i, lb, okb, la, oka)
		}
	}
}

// TestLogRecordsKeptWhole: records that no entry fits — a type this code
// does not know, an order's record naming no order of the state, a record
// of a known type with a reference it does not take — are kept whole, read
// back as they were written, through Clone and a snapshot, while the
// orders' records are entries of the orders.
func TestLogRecordsKeptWhole(t *testing.T) {
	s, now := openDrop(t, spec("d", 10), 10)
	var ids []string
	for seq := range int64(3) {
		who := fmt.Sprintf("v%d", seq)
		h := mustOK(t, s, holdCmd("d", who, seq, 1, now)).Hold
		ids = append(ids, mustOK(t, s, orderCmd(h.ID, who, who+"@example.com", "k"+who, now)).Order.ID)
	}
	// A copy and the state each apply an order of their own.
	c := s.Clone()
	order := func(s *State, who string, seq int64) string {
		h := mustOK(t, s, holdCmd("d", who, seq, 1, now)).Hold
		return mustOK(t, s, orderCmd(h.ID, who, who+"@example.com", "k"+who, now)).Order.ID
	}
	idsC := append(slices.Clone(ids), order(c, "v9", 3))
	ids = append(ids, order(s, "v8", 4))
	for _, x := range []struct {
		s    *State
		want []string
	}{{s, ids}, {c, idsC}} {
		var orders []string
		for _, r := range x.s.Drops["d"].Log.All() {
			if r.Type == LeafOrder {
				orders = append(orders, r.Ref)
			}
		}
		if !slices.Equal(orders, x.want) || keptWhole(x.s.Drops["d"].Log) != 0 {
			t.Fatalf("the log's orders %v (%d kept whole), want %v", orders, keptWhole(x.s.Drops["d"].Log), x.want)
		}
	}
	d := s.Drops["d"]
	odd := []LogRecord{
		{Type: "future", At: now, From: 3, To: 4, Ref: "x", Gap: true},
		{Type: LeafOrder, At: now + 1, Ref: "o_zz_nobody"},
		{Type: LeafOrder, At: now + 2},
		{Type: LeafStart, At: now + 3, Ref: "odd"},
		{Type: LeafEntry, At: now + 4, From: 7, Ref: "c@example.com"},
	}
	fits := LogRecord{Type: LeafOrder, At: now + 5, From: 1, To: 2, Ref: ids[1], Gap: true}
	want := logRecords(d.Log)
	for _, r := range odd {
		d.Log.add(r)
	}
	d.Log.add(fits)
	want = append(append(want, odd...), fits)
	if got := logRecords(d.Log); !slices.Equal(got, want) {
		t.Fatalf("log\n%+v\nwant\n%+v", got, want)
	}
	if n := keptWhole(d.Log); n != len(odd) {
		t.Fatalf("%d records kept whole, want %d", n, len(odd))
	}

	c = s.Clone()
	sameLog(t, s, c, "d", "the copy")
	// Each grows on its own.
	d.Log.add(LogRecord{Type: "later", At: now + 6})
	c.Drops["d"].Log.add(LogRecord{Type: LeafOrder, At: now + 7, Ref: ids[0]})
	if got := logRecords(c.Drops["d"].Log); !slices.Equal(got[:len(want)], want) || len(got) != len(want)+1 || got[len(want)].Ref != ids[0] {
		t.Fatalf("the copy's log after both grew: %+v", got[len(want):])
	}
	if got := logRecords(d.Log); !slices.Equal(got[:len(want)], want) || len(got) != len(want)+1 || got[len(want)].Type != "later" {
		t.Fatalf("the log after both grew: %+v", got[len(want):])
	}
	if n := keptWhole(c.Drops["d"].Log); n != len(odd) {
		t.Fatalf("the copy keeps %d records whole, want %d", n, len(odd))
	}

	back := snapshot(t, s)
	sameLog(t, s, back, "d", "read back")
	if n := keptWhole(back.Drops["d"].Log); n != len(odd)+1 {
		t.Fatalf("read back, %d records kept whole, want %d", n, len(odd)+1)
	}
	back2 := snapshot(t, c)
	sameLog(t, c, back2, "d", "the copy read back")
	sameLog(t, back2, back2.Clone(), "d", "a copy of the copy read back")
}

// TestDrawLogThroughSnapshot: a draw's entries, which name their customer,
// are kept whole and read back the same, through Clone and a snapshot.
func TestDrawLogThroughSnapshot(t *testing.T) {
	entrants := []string{"a@x", "b@x", "c@x"}
	s, _ := drawDrop(t, 2, entrants)
	l := s.Drops["raffle"].Log
	var customers []string
	for _, r := range l.All() {
		if r.Type == LeafEntry {
			customers = append(customers, r.Ref)
		}
	}
	if !slices.Equal(customers, entrants) || keptWhole(l) != len(entrants) {
		t.Fatalf("entries of %v, %d kept whole; want %v", customers, keptWhole(l), entrants)
	}
	sameLog(t, s, s.Clone(), "raffle", "the copy")
	back := snapshot(t, s)
	sameLog(t, s, back, "raffle", "read back")
	if err := back.Check(); err != nil {
		t.Fatal(err)
	}
}
