package queue

import (
	"encoding/json"
	"testing"
	"time"
)

// TestStatusAppendJSON checks the hand-written encoder against encoding/json.
func TestStatusAppendJSON(t *testing.T) {
	at := time.Date(2026, 11, 23, 11, 0, 0, 500_000_000, time.UTC)
	cases := []Status{
		{},
		{State: "waiting", Position: 17, Ahead: 12, ETASeconds: 3, BeyondStock: true, Available: 40},
		{State: "waiting", Early: true, StartsAt: &at, ETASeconds: 60, Available: 3000},
		{State: "admitted", Position: 1 << 40, Available: -0},
		{State: "waiting", Position: 9, Ahead: 3, Paused: true, PauseReason: "결제 점검 <잠시> \"wait\""},
		{State: "waiting", Position: 9, Ahead: 3, Paused: true},
		{State: "waiting", Paused: true, PauseReason: "bad \xff byte\u2028\x01"},
	}
	for _, st := range cases {
		want, err := json.Marshal(st)
		if err != nil {
			t.Fatal(err)
		}
		if got := st.AppendJSON(nil); string(got) != string(want) {
			t.Errorf("AppendJSON(%+v)\n got %s\nwant %s", st, got, want)
		}
	}
}
