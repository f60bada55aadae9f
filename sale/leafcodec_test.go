package sale

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// checkOrderLeaf fails unless appendOrderLeaf writes what json.Marshal
// writes for the same leaf.
func checkOrderLeaf(t *testing.T, o *Order, h *Hold, i int64) {
	t.Helper()
	want, err := json.Marshal(orderLeafFields(o, h, i))
	if err != nil {
		t.Fatal(err)
	}
	got := appendOrderLeaf([]byte("prefix"), o, h, i)
	if !bytes.Equal(got[len("prefix"):], want) || string(got[:len("prefix")]) != "prefix" {
		t.Fatalf("order %+v hold %+v leaf %d:\n got %s\nwant %s", o, h, i, got, want)
	}
}

func TestOrderLeafAsJSONMarshal(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	strs := []string{"", "d", "mini-speaker", "o_12_ab", "t/a", "a<b", "ü", "\x00", "a\"b", "\\", "\xff", "\u2028", "tab\t", "&amp;"}
	times := []int64{0, -1, 1, 999, 1000, -1001, 1767225600123, 253402300799999, 253402300800000, -62135596800000, -62135596800001, math.MaxInt64 / 1_000_000, math.MinInt64 / 1_000_000}
	ints := []int64{0, 1, -1, 2, 1 << 40, math.MaxInt64, math.MinInt64}
	pick := func(xs []int64) int64 {
		if r.IntN(3) == 0 {
			return r.Int64N(1<<45) - 1<<44
		}
		return xs[r.IntN(len(xs))]
	}
	for range 20000 {
		o := &Order{ID: strs[r.IntN(len(strs))], Drop: strs[r.IntN(len(strs))], Customer: strs[r.IntN(len(strs))], Quantity: pick(ints), CreatedAt: pick(times)}
		h := &Hold{Position: pick(ints), Early: r.IntN(2) == 0, Seq: pick(ints), AdmittedAt: pick(times), CreatedAt: pick(times)}
		checkOrderLeaf(t, o, h, pick(ints))
	}
}

func TestAppendLogTime(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, ms := range []int64{0, -1, 1, 999, -999, -1000, -1001, 1767225600123, 253402300799999, 253402300800000, -62135596800000, -62135596800001, -62167219200000, -62167219200001, math.MaxInt64, math.MinInt64, math.MaxInt64 / 1_000_000, math.MinInt64 / 1_000_000} {
		if got, want := string(appendLogTime(nil, ms)), LogTime(ms); got != want {
			t.Fatalf("appendLogTime(%d) = %q, want %q", ms, got, want)
		}
	}
	for range 100000 {
		ms := r.Int64N(400*365*24*3600*1000) + time.Date(1800, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
		if got, want := string(appendLogTime(nil, ms)), LogTime(ms); got != want {
			t.Fatalf("appendLogTime(%d) = %q, want %q", ms, got, want)
		}
	}
}

// FuzzOrderLeaf checks the hand-written leaf of an order against
// json.Marshal for any ids, customer, numbers and times.
func FuzzOrderLeaf(f *testing.F) {
	f.Add("mini-speaker", "o_1_x", "a@example.com", int64(1), int64(1767225600123), int64(4), true, int64(7), int64(1767225500000), int64(0), int64(12))
	f.Add("a<b", "\xff", "", int64(0), int64(-1), int64(-1), false, int64(-5), int64(0), int64(-62135596800001), int64(0))
	f.Fuzz(func(t *testing.T, drop, id, customer string, qty, created, pos int64, early bool, seq, admitted, holdCreated, i int64) {
		checkOrderLeaf(t, &Order{ID: id, Drop: drop, Customer: customer, Quantity: qty, CreatedAt: created},
			&Hold{Position: pos, Early: early, Seq: seq, AdmittedAt: admitted, CreatedAt: holdCreated}, i)
	})
}

func BenchmarkOrderLeaf(b *testing.B) {
	o := &Order{ID: "o_12345_abcdef", Drop: "mini-speaker", Customer: "buyer-123@example.com", Quantity: 1, CreatedAt: 1767225600123}
	h := &Hold{Position: 1234, Seq: 1233, AdmittedAt: 1767225500000, CreatedAt: 1767225550000}
	b.ReportAllocs()
	for b.Loop() {
		appendOrderLeaf(make([]byte, 0, 320), o, h, 4321)
	}
}

func BenchmarkOrderLeafMarshal(b *testing.B) {
	o := &Order{ID: "o_12345_abcdef", Drop: "mini-speaker", Customer: "buyer-123@example.com", Quantity: 1, CreatedAt: 1767225600123}
	h := &Hold{Position: 1234, Seq: 1233, AdmittedAt: 1767225500000, CreatedAt: 1767225550000}
	b.ReportAllocs()
	for b.Loop() {
		_, _ = json.Marshal(orderLeafFields(o, h, 4321))
	}
}
