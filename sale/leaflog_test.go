package sale

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
)

// TestLeafLog checks the chunked log against the slice it replaced: the
// same records at the same indexes across chunk boundaries and growth of
// the first chunk, a shared copy that sees no later record and may itself
// grow, and the same JSON (null and empty included) read back the same.
func TestLeafLog(t *testing.T) {
	rec := func(i int) LogRecord {
		return LogRecord{Type: LeafOrder, At: int64(i), Ref: fmt.Sprintf("o_%d_<x>", i)}
	}
	check := func(name string, l LeafLog, want []LogRecord) {
		t.Helper()
		if l.Len() != len(want) {
			t.Fatalf("%s: Len %d, want %d", name, l.Len(), len(want))
		}
		for i, r := range want {
			if l.At(i) != r {
				t.Fatalf("%s: At(%d) = %+v, want %+v", name, i, l.At(i), r)
			}
		}
		n := 0
		for i, r := range l.All() {
			if i != n || r != want[i] {
				t.Fatalf("%s: All yields %d: %+v", name, i, r)
			}
			n++
		}
		for k, ch := range l {
			if k < len(l)-1 && len(ch.recs) != logChunk {
				t.Fatalf("%s: chunk %d of %d holds %d", name, k, len(l), len(ch.recs))
			}
		}
		got, err := json.Marshal(struct {
			L LeafLog `json:"l,omitempty"`
		}{l})
		if err != nil {
			t.Fatal(err)
		}
		wantJSON, _ := json.Marshal(struct {
			L []LogRecord `json:"l,omitempty"`
		}{want})
		if !bytes.Equal(got, wantJSON) {
			t.Fatalf("%s: encodes as %.200s, the slice as %.200s", name, got, wantJSON)
		}
		var back struct {
			L LeafLog `json:"l"`
		}
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatal(err)
		}
		if again, _ := json.Marshal(back); !bytes.Equal(again, got) && len(want) > 0 {
			t.Fatalf("%s: read back, encodes as %.200s", name, again)
		}
		if back.L.Len() != len(want) {
			t.Fatalf("%s: read back %d records", name, back.L.Len())
		}
	}
	var l LeafLog
	var want []LogRecord
	check("empty", l, want)
	var null LeafLog
	if err := json.Unmarshal([]byte("null"), &null); err != nil || null != nil {
		t.Fatalf("null reads as %v, %v", null, err)
	}
	var copied LeafLog
	var copiedWant []LogRecord
	for i := range 2*logChunk + 100 {
		l.add(rec(i))
		want = append(want, rec(i))
		if i == logChunk+5 {
			copied, copiedWant = l.shared(nil), append([]LogRecord(nil), want...)
		}
	}
	check("log", l, want)
	check("copy", copied, copiedWant)
	// The copy grows on its own without writing where the log looks.
	for i := range 10 {
		copied.add(rec(-i))
		copiedWant = append(copiedWant, rec(-i))
	}
	check("copy grown", copied, copiedWant)
	check("log after the copy grew", l, want)
	var small LeafLog
	small.add(rec(1))
	if cap(small[0].recs) >= logChunk {
		t.Fatalf("a log of one record takes a chunk of %d", cap(small[0].recs))
	}
}
