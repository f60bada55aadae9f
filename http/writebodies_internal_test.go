package http

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/floodgate/floodgate"
	"github.com/floodgate/floodgate/internal/api"
)

func TestWriteAnswersAsJSONMarshal(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	strs := []string{"", "h_12_ab", "mini-speaker", "a@example.com", "active", "paid", "a<b", "ü", "q\"", "\\", "\x00", "\xff", "\u2028", "eyJhbGciOiJFZERTQSJ9.eyJ0eXBlIjoib3JkZXIifQ.c2ln"}
	zone := time.FixedZone("KST", 9*3600)
	pickTime := func() time.Time {
		ms := []int64{0, -1, 1, 1767225600123, 1767225600100, 1767225600000, 253402300799999, 253402300800000, -62135596800001, math.MaxInt64 / 1_000_000}[r.IntN(10)]
		if r.IntN(2) == 0 {
			ms = r.Int64N(1<<42) - 1<<40
		}
		t := time.UnixMilli(ms).UTC()
		switch r.IntN(4) {
		case 0:
			t = t.In(zone)
		case 1:
			t = t.Add(time.Duration(r.IntN(1000)))
		}
		return t
	}
	pick := func() string { return strs[r.IntN(len(strs))] }
	check := func(v any, got []byte, ok bool) {
		t.Helper()
		want, err := json.Marshal(v)
		if !ok {
			return // json.Marshal writes it
		}
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%+v:\n got %s\nwant %s (%v)", v, got, want, err)
		}
	}
	// What a node answers is written by hand.
	at := time.UnixMilli(1767225600123).UTC()
	if _, ok := appendHold(nil, floodgate.Hold{ID: "h_1_ab", Drop: "mini-speaker", Quantity: 1, ExpiresAt: at, Status: "active"}); !ok {
		t.Fatal("a hold is not written by hand")
	}
	if _, ok := appendOrder(nil, floodgate.Order{ID: "o_1_ab", HoldID: "h_1_ab", Drop: "mini-speaker", Customer: "a@example.com", Quantity: 1, Voucher: "PASS-1", CreatedAt: at, Status: "paid", PayBy: &at, Receipt: strs[len(strs)-1]}); !ok {
		t.Fatal("an order is not written by hand")
	}
	for range 20000 {
		h := floodgate.Hold{ID: pick(), Drop: pick(), Quantity: r.Int64N(2000) - 2, ExpiresAt: pickTime(), Status: pick(), Paused: r.IntN(2) == 0}
		got, ok := appendHold(nil, h)
		check(h, got, ok)
		o := floodgate.Order{ID: pick(), HoldID: pick(), Drop: pick(), Customer: pick(), Quantity: r.Int64N(2000) - 2, Voucher: pick(), CreatedAt: pickTime(), Status: pick(), Receipt: pick()}
		if r.IntN(2) == 0 {
			p := pickTime()
			o.PayBy = &p
		}
		got, ok = appendOrder(nil, o)
		check(o, got, ok)
	}
}

// checkWriteBodies fails if a body read directly disagrees with
// api.DecodeBytes.
func checkWriteBodies(t *testing.T, b []byte) {
	t.Helper()
	if q, ok := quantityBody(b); ok {
		var req holdRequest
		if err := api.DecodeBytes(b, &req); err != nil || req.Quantity == nil || *req.Quantity != q {
			t.Fatalf("%q: read directly as quantity %d, api.DecodeBytes gives %v, %v", b, q, req.Quantity, err)
		}
	}
	if s, ok := sessionBody(b); ok {
		var req orderRequest
		if err := api.DecodeBytes(b, &req); err != nil || req.Session != string(s) {
			t.Fatalf("%q: read directly as session %q, api.DecodeBytes gives %q, %v", b, s, req.Session, err)
		}
	}
}

func TestWriteBodies(t *testing.T) {
	for _, b := range []string{`{"quantity":1}`, `{"quantity":1000}`, `{"quantity":0}`, `{"quantity":-1}`, `{"quantity":999999999999999}`, `{"session":"a.b"}`, `{"session":""}`, `{"session":"ü"}`} {
		checkWriteBodies(t, []byte(b))
	}
	if q, ok := quantityBody([]byte(`{"quantity":1}`)); !ok || q != 1 {
		t.Fatal("the page's hold body is not read directly")
	}
	for _, b := range []string{`{"quantity":01}`, `{"quantity":1.0}`, `{"quantity":1} `, `{"quantity":9999999999999999999}`, `{"Quantity":1}`, `{"quantity":}`} {
		if _, ok := quantityBody([]byte(b)); ok {
			t.Fatalf("%s read directly", b)
		}
	}
	for _, b := range []string{`{"session":"a\"b"}`, `{"session":"\u0041"}`, "{\"session\":\"\xff\"}", `{"session":1}`, `{"session":"a"} `} {
		if _, ok := sessionBody([]byte(b)); ok {
			t.Fatalf("%s read directly", b)
		}
	}
}

// FuzzWriteBodies checks the bodies of holds and orders read directly
// against api.DecodeBytes.
func FuzzWriteBodies(f *testing.F) {
	f.Add([]byte(`{"quantity":1}`))
	f.Add([]byte(`{"session":"eyJzaWQiOiIxIn0.c2ln"}`))
	f.Add([]byte(`{"quantity":12345678901234567}`))
	f.Fuzz(checkWriteBodies)
}

// A hold's and an order's answers are appended, and their bodies read,
// without an allocation once the buffer is large enough; a request id is
// written into the request's state.
func TestWriteBodiesDoNotAllocate(t *testing.T) {
	at := time.Date(2026, 11, 30, 18, 0, 0, 123456789, time.UTC)
	h := floodgate.Hold{ID: "h_1_ab", Drop: "mini-speaker", Quantity: 1, ExpiresAt: at, Status: "active"}
	o := floodgate.Order{ID: "o_1_ab", HoldID: "h_1_ab", Drop: "mini-speaker", Customer: "a@example.com", Quantity: 1, CreatedAt: at, Status: "paid", PayBy: &at, Receipt: "eyJhbGciOiJFZERTQSJ9.e30.c2ln"}
	buf := make([]byte, 0, 1024)
	var rid [requestIDLen]byte
	for name, f := range map[string]func(){
		"appendHold":   func() { appendHold(buf[:0], h) },
		"appendOrder":  func() { appendOrder(buf[:0], o) },
		"quantityBody": func() { quantityBody([]byte(`{"quantity":2}`)) },
		"newRequestID": func() { newRequestID(&rid) },
	} {
		if allocs := testing.AllocsPerRun(100, f); allocs != 0 {
			t.Errorf("%s allocates %v times", name, allocs)
		}
	}
}

// The request's context answers its info for ctxRequest, hands every other
// key to its parent and ends with it, as context.WithValue's would.
func TestRequestContextIsWithValue(t *testing.T) {
	type otherKey struct{}
	parent, cancel := context.WithCancel(context.WithValue(context.Background(), otherKey{}, "kept"))
	info := &requestInfo{id: "r1"}
	rc := &requestContext{Context: parent, info: info}
	if got, _ := rc.Value(ctxRequest).(*requestInfo); got != info {
		t.Fatalf("ctxRequest: %v", rc.Value(ctxRequest))
	}
	if rc.Value(otherKey{}) != "kept" || rc.Value(ctxForwardedBy) != nil {
		t.Fatal("other keys are not the parent's")
	}
	child, stop := context.WithCancel(rc)
	defer stop()
	cancel()
	<-child.Done()
	if rc.Err() != context.Canceled || child.Err() != context.Canceled {
		t.Fatalf("ended with %v, %v", rc.Err(), child.Err())
	}
}
