package sale

import (
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
	f.Fuzz(func(t *testing.T, data []byte) {
		var fast Command
		took := decodeBuyer(data, &fast)
		want, err := decodeCommand(data)
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
