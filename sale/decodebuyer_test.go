package sale

import (
	"encoding/binary"
	"errors"
	"reflect"
	"testing"
)

// FuzzDecodeBuyer checks the fast path for holds and orders against the
// general decoder: where it takes a command it must read what the general
// one reads, and it must take every well-formed hold and order.
func FuzzDecodeBuyer(f *testing.F) {
	for _, c := range []Command{
		{Kind: KindHold, Now: t0, Drop: "drop-1", Visitor: "visitor-1", Early: true, Seq: 12, Quantity: 2},
		{Kind: KindHold, Now: -5, Drop: "", Visitor: "v\u00e9", Seq: -1, Quantity: 1 << 40},
		{Kind: KindOrder, Now: t0, HoldID: "h_1_visitor", Visitor: "visitor-1", Customer: "c@example.com", IdemKey: "k"},
		{Kind: KindOrder, Now: t0, HoldID: "h_\u00e9", Visitor: string(make([]byte, 300)), Customer: "", IdemKey: "\u4e2d"},
	} {
		f.Add(AppendCommand(nil, &c))
	}
	f.Add([]byte{byte(KindHold), 0, 1, 'd', 1, 'v', 2, 0, 0})                                         // a bool of 2
	f.Add([]byte{byte(KindHold), 0, 1, 'd', 1, 'v', 0, 0, 0, 0})                                      // a trailing byte
	f.Add([]byte{byte(KindOrder), 0, 1, 0xff, 0, 0, 0})                                               // not UTF-8
	f.Add([]byte{byte(KindOrder), 0, 10, 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 0xff, 0, 0, 0}) // not UTF-8 after a word of ASCII
	f.Add([]byte{byte(KindOrder), 0, 9, 'a', 'b', 'c', 0xc3, 'e', 'f', 'g', 'h', 'i', 0, 0, 0})       // not UTF-8 inside a word
	f.Add([]byte{byte(KindOrder), 0x80})                                                              // a short varint
	f.Add([]byte{byte(KindOrder), 0, 9, 'a'})                                                         // a length past the end
	// Commands decodeBuyer took, with every field of their kind set, for
	// decodeOver to decode over.
	var before []Command
	for _, c := range []Command{
		{Kind: KindHold, Now: t0, Drop: "drop-1", Visitor: "visitor-1", Early: true, Seq: 12, Quantity: 2},
		{Kind: KindOrder, Now: t0, HoldID: "h_1_visitor", Visitor: "visitor-1", Customer: "c@example.com", IdemKey: "k"},
	} {
		var b Command
		if !decodeBuyer(AppendCommand(nil, &c), &b) || !reflect.DeepEqual(b, c) {
			f.Fatalf("decodeBuyer read %+v as %+v", c, b)
		}
		before = append(before, b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var fast Command
		took := decodeBuyer(data, &fast)
		want, err := decodeCommand(data)
		for _, b := range before {
			over := b
			tookOver, errOver := decodeOver(data, &over, true)
			if tookOver != took || (errOver == nil) != (err == nil) || err == nil && !reflect.DeepEqual(over, want) {
				t.Fatalf("decoded over %+v: %+v (took %v, %v); the general decoder %+v (%v)", b, over, tookOver, errOver, want, err)
			}
		}
		if took {
			if err != nil || !reflect.DeepEqual(fast, want) {
				t.Fatalf("fast path read %+v, the general decoder %+v (%v)", fast, want, err)
			}
			return
		}
		if err == nil && (want.Kind == KindHold || want.Kind == KindOrder) {
			t.Fatalf("the fast path refused a well-formed %v the general decoder reads as %+v", want.Kind, want)
		}
		if err != nil && !errors.Is(err, ErrMalformed) {
			t.Fatalf("error %v does not wrap ErrMalformed", err)
		}
	})
}

// FuzzUvarintAt checks uvarintAt against binary.Uvarint at every offset of
// the input, the one-load path for two to eight bytes included.
func FuzzUvarintAt(f *testing.F) {
	for _, v := range []uint64{0, 1, 127, 128, 1<<14 - 1, 1 << 14, 1<<42 + 12345, 1<<56 - 1, 1 << 56, 1<<63 + 7, ^uint64(0)} {
		f.Add(binary.AppendUvarint(append(binary.AppendUvarint(nil, v), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1), v))
	}
	f.Add([]byte{0x80, 0x80, 0x00, 1, 2, 3, 4, 5, 6})                         // not the shortest form
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02}) // over 64 bits
	f.Fuzz(func(t *testing.T, data []byte) {
		for i := 0; i <= len(data)+1; i++ {
			v, next, ok := uvarintAt(data, i)
			var want uint64
			n := 0
			if i <= len(data) {
				want, n = binary.Uvarint(data[i:])
			}
			if ok != (n > 0) || ok && (v != want || next != i+n) {
				t.Fatalf("at %d of %x: uvarintAt read %d, %d, %v; binary.Uvarint %d, %d", i, data, v, next, ok, want, n)
			}
		}
	})
}
