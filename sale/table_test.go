package sale

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"strconv"
	"testing"
)

// TestTableFindsEveryID checks the holds table with ids appendID makes and
// with ids it does not (older formats, numbers taken twice, huge numbers):
// each is found, the table writes what encoding/json wrote for the map it
// replaced, and reads it back the same.
func TestTableFindsEveryID(t *testing.T) {
	ids := []string{"h_1_aaaa", "h_2_bbbb", "h_2_cccc", "h1", "h_zzzzzzzzzzzz_x", "h__x", "h_0_x", "h_3", "o_4_dd", "h_a_<&>"}
	var tb HoldTable
	m := map[string]*Hold{}
	for i, id := range ids {
		h, _ := tb.add(Hold{ID: id, Visitor: "v", Position: int64(i)}, 100)
		m[id] = h
	}
	if tb.Len() != len(ids) {
		t.Fatalf("Len = %d, want %d", tb.Len(), len(ids))
	}
	for id, want := range m {
		if got := tb.Get(id); got != want {
			t.Fatalf("Get(%q) = %v, want %v", id, got, want)
		}
	}
	for _, id := range []string{"", "h_4_aaaa", "h_1_aaab", "h_1", "h_99999_x"} {
		if got := tb.Get(id); got != nil {
			t.Fatalf("Get(%q) = %+v, want nil", id, got)
		}
	}
	got, err := json.Marshal(tb)
	if err != nil {
		t.Fatal(err)
	}
	want, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("table encodes as\n%s\nthe map as\n%s", got, want)
	}
	var back HoldTable
	if err := json.Unmarshal(got, &back); err != nil {
		t.Fatal(err)
	}
	for id, h := range m {
		if b := back.Get(id); b == nil || !reflect.DeepEqual(*b, *h) {
			t.Fatalf("read back %q: %+v, want %+v", id, b, h)
		}
	}
	if err := json.Unmarshal([]byte(`{"h_1_a":{"id":"h_2_a"}}`), &back); err == nil {
		t.Fatal("a hold under another id's key was read without an error")
	}
}

// TestTicketHashTaken checks that a ticket whose hash another ticket has
// is still found, and that the snapshot lists both.
func TestTicketHashTaken(t *testing.T) {
	s := NewState()
	a, ai := s.Holds.add(Hold{ID: "h_1_a", Drop: "d", Visitor: "a"}, 10)
	b, bi := s.Holds.add(Hold{ID: "h_2_b", Drop: "d", Visitor: "b"}, 10)
	s.Tickets.m.insert(ticketHash("d", "b"), ai) // as if "d/a" had b's hash
	s.Tickets.put("d", "b", bi)
	if got := s.Tickets.Get("d", "b"); got != b {
		t.Fatalf("Get(d, b) = %+v, want %+v", got, b)
	}
	if got := s.Tickets.Get("d", "c"); got != nil {
		t.Fatalf("Get(d, c) = %+v, want nil", got)
	}
	_ = a
	buf, err := json.Marshal(s.Tickets)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"d/a":"h_1_a","d/b":"h_2_b"}`; string(buf) != want {
		t.Fatalf("tickets encode as %s, want %s", buf, want)
	}
	// A snapshot whose ticket key does not name its hold's drop and
	// visitor keeps it as it is.
	var x TicketIndex
	if err := json.Unmarshal([]byte(`{"d/a":"h_1_a","e/z":"h_2_b","d/gone":"h_9_x"}`), &x); err != nil {
		t.Fatal(err)
	}
	x.restore(&s.Holds)
	if x.Get("d", "a") != a || x.Get("e", "z") != b || x.Get("d", "b") != nil || x.Len() != 2 {
		t.Fatalf("restored tickets: %+v", x)
	}
}

// TestNewIDNumbered checks that addNumbered is told what idNumber would
// read from the ids appendID makes.
func TestNewIDNumbered(t *testing.T) {
	for _, n := range []uint64{0, 1, 2, 35, 36, 4095, 4096, 1 << 20, 1<<31 - 2, 1<<31 - 1, 1 << 31, 1<<32 + 7, 36 * 36 * 36 * 36 * 36 * 36 * 36 * 36 * 36 * 36 * 36 * 36, 1<<64 - 1} {
		for _, visitor := range []string{"", "v", "a_b_c_d_e_f", "visitor-123456789"} {
			id := string(appendID(nil, "h_", n, visitor))
			got, ok := idNumber(id)
			if ok != numbered(n) || ok && got != n {
				t.Fatalf("idNumber(%q) = %d, %v; numbered(%d) = %v", id, got, ok, n, numbered(n))
			}
		}
	}
}

// TestIDNumberAsParseUint checks idNumber's reading of the number against
// strconv.ParseUint in base 36.
func TestIDNumberAsParseUint(t *testing.T) {
	for _, num := range []string{"1", "z", "Z", "10", "zik0zj", "ZIK0ZJ", "zik0zk", "0", "00", "-1", "+1", "1.", "zzzzzzzzzzzz", "\u00e9", "1 "} {
		id := "h_" + num + "_rest"
		got, ok := idNumber(id)
		n, err := strconv.ParseUint(num, 36, 64)
		want := err == nil && n >= 1 && n <= 1<<31-1 && len(num) <= 12
		if ok != want || (ok && got != n) {
			t.Errorf("idNumber(%q) = %d, %v; ParseUint reads %d, %v", id, got, ok, n, err)
		}
	}
}

// TestBase36AsStrconv checks appendBase36 against strconv.AppendUint in
// base 36: the ids of holds and orders must not change.
func TestBase36AsStrconv(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	ns := []uint64{0, 1, 35, 36, 37, 36*36 - 1, 36 * 36, 1<<31 - 1, 1 << 31, 1<<63 - 1, 1 << 63, 1<<64 - 1}
	for range 10000 {
		ns = append(ns, r.Uint64()>>r.IntN(64))
	}
	for _, n := range ns {
		if got, want := string(appendBase36([]byte("h_"), n)), "h_"+strconv.FormatUint(n, 36); got != want {
			t.Fatalf("appendBase36(%d) = %q, want %q", n, got, want)
		}
	}
}
