package rush

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/floodgate/floodgate/queue"
)

func TestParseQueueStatusMatchesEncodingJSON(t *testing.T) {
	for _, in := range []string{
		`{"ticket":"a.b.c","state":"waiting","position":201,"ahead":200,"eta_seconds":0.1,"beyond_stock":false,"early":false,"starts_at":"2026-11-30T03:59:00Z","available":10}` + "\n",
		`{"state":"admitted","position":1,"ahead":0,"eta_seconds":0,"beyond_stock":true,"early":true,"available":0,"paused":true,"pause_reason":"결제 점검"}`,
		`{"state":"sold_out","early":null}`,
		` { } `,
		`{"state":"wa\"iting","position":3}`,
		`{"state":"waiting","position":3,"x":{"nested":[1,2]}}`,
		`{"state":"waiting","eta_seconds":1e3,"position":-4}`,
		`{"state":"waiting","position":1.5}`,
		`{"state":5}`,
		`{"state":"waiting",}`,
		`{"state":"waiting"} x`,
		`[1]`,
		``,
		`{"early":"yes"}`,
		`null`,
		`"waiting"`,
		`{"state":"waiting","state":null,"early":true,"early":null}`,
		`{"STATE":"waiting"}`,
		`{"ticket":"t\u00e9","state":"waiting"}`,
		`{"ticket":"t\"q\\","ahead":9223372036854775808}`,
		`{"position":1e2}`,
		`{"eta_seconds":1e400}`,
		`{"eta_seconds":0.30000000000000004441,"position":-0}`,
		`{"position":nan}`,
		"{\"state\":\"wa\titing\"}",
		"{\"state\":\"caf\xe9\"}",
		"{\"\":\"\x00\\b\"}",
		"{\"ticket\":\"\n\\t\"}",
		`{"ahead":true}`,
		`{"beyond_stock":1}`,
		`{"ticket":7}`,
		`{"position":007}`,
		`{"position":12.}`,
		`{"eta_seconds":-0,"ahead":-0}`,
		`{"eta_seconds":.5}`,
		`{"x":-,"state":"waiting"}`,
		`{"x":1e,"state":"waiting"}`,
		`{"x":truex}`,
		`{"x":nul}`,
		`{"state":"waiting"}}`,
		`{"state":"waiting",,"position":1}`,
		`{"ſtate":"waiting"}`,
		`{"\u0073tate":"waiting"}`,
		"{\"state\"\t:\r\"waiting\" ,\n\"early\" : true }",
		`{"x":"\u00e9","state":"admitted"}`,
		strings.Repeat("[", 400) + strings.Repeat("]", 400),
		`{"x":` + strings.Repeat("[", 400) + strings.Repeat("]", 400) + `,"state":"admitted"}`,
	} {
		var want queueStatus
		wantErr := json.Unmarshal([]byte(in), &want)
		got, err := parseQueueStatus([]byte(in))
		if (err != nil) != (wantErr != nil) {
			t.Errorf("%s: error %v, encoding/json %v", in, err, wantErr)
			continue
		}
		if err == nil && !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %+v\nwant %+v", in, got, want)
		}
	}
}

func FuzzParseQueueStatus(f *testing.F) {
	f.Add([]byte(`{"ticket":"a.b.c","state":"waiting","position":201,"ahead":200,"eta_seconds":0.1,"beyond_stock":false,"early":false}`))
	f.Add([]byte(`{"state":"admitted","early":null,"n":[{}]}`))
	f.Add([]byte(`{"ticket":"t","state":"waiting","state":null,"eta_seconds":1.5e-3,"x":"y","z":true,"early":true,"early":null}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var want queueStatus
		wantErr := json.Unmarshal(b, &want)
		if got, ok := readQueueStatus(b); ok && (wantErr != nil || !reflect.DeepEqual(got, want)) {
			t.Fatalf("%q: read by hand as %+v; encoding/json %+v, %v", b, got, want, wantErr)
		}
		got, err := parseQueueStatus(b)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("%q: error %v, encoding/json %v", b, err, wantErr)
		}
		if err == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("%q:\n got %+v\nwant %+v", b, got, want)
		}
	})
}

var joinAnswer = []byte(`{"ticket":"eyJhbGciOiJFZERTQSIsImZnbSI6Ik1ybHc2TFR5eEVCbEkteThpMDNIaWciLCJraWQiOiJlM2U3MjI1MWZiNzI1ODg4IiwidHlwIjoiSldUIn0.eyJkcm9wIjoiZDEiLCJ2aWQiOiJ5UG42Y0U3UnJCRHU2TTd4QkpZRDdRIiwiZWFybHkiOnRydWUsInNlcSI6MCwiZXhwIjoxNzk2NjE1NzM5LCJpYXQiOjE3OTYwMTA5Mzl9.pSP4UhVtMzOenMAbUqpSOIgnmpfXcxxKMaBSLJ05lSTRRGcjeb20iqrlDCcopf8gbs4IjApHMR2Xygg99UqiBg","state":"waiting","position":0,"ahead":0,"eta_seconds":201,"beyond_stock":false,"early":true,"starts_at":"2026-11-30T03:59:00Z","available":10}` + "\n")

// pollAnswer is the answer to most requests of a rush: a waiting visitor's poll.
var pollAnswer = []byte(`{"state":"waiting","position":40213,"ahead":37210,"eta_seconds":19,"beyond_stock":true,"available":2900}`)

// The queue's own answers are read by hand, not by encoding/json: pins that
// the fast path still reads what the queue writes.
func TestQueueAnswersAreReadByHand(t *testing.T) {
	at := time.Date(2026, 11, 30, 3, 59, 0, 0, time.UTC)
	for _, st := range []queue.Status{
		{State: "waiting", Position: 40213, Ahead: 37210, ETASeconds: 19, BeyondStock: true, Available: 2900},
		{State: "waiting", ETASeconds: 201, Early: true, StartsAt: &at, Available: 10},
		{State: "admitted", Position: 1, Paused: true, PauseReason: "결제 점검"},
		{State: "sold_out"},
	} {
		b := st.AppendJSON(nil)
		got, ok := readQueueStatus(b)
		if !ok {
			t.Errorf("%s: not read by hand", b)
			continue
		}
		var want queueStatus
		if err := json.Unmarshal(b, &want); err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: read %+v, encoding/json %+v, %v", b, got, want, err)
		}
	}
	for _, b := range [][]byte{joinAnswer, pollAnswer} {
		if _, ok := readQueueStatus(b); !ok {
			t.Errorf("%s: not read by hand", b)
		}
	}
}

func BenchmarkParseQueueStatus(b *testing.B) {
	b.Run("poll", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if st, err := parseQueueStatus(pollAnswer); err != nil || st.Position != 40213 {
				b.Fatal(err)
			}
		}
	})
	b.Run("join", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if st, err := parseQueueStatus(joinAnswer); err != nil || st.Ticket == "" {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var st queueStatus
			if err := json.Unmarshal(joinAnswer, &st); err != nil || st.Ticket == "" {
				b.Fatal(err)
			}
		}
	})
}
