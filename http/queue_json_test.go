package http

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/floodgate/floodgate/queue"
)

func TestAppendJoinResponseSameAsEncodingJSON(t *testing.T) {
	at := time.Date(2026, 11, 30, 3, 59, 0, 0, time.UTC)
	for _, tok := range []string{"eyJh.eyJk.pSP4", "", `we"ird<`, "x\u00e9", "\xff\u2028"} {
		for _, st := range []queue.Status{
			{State: "waiting", ETASeconds: 201, Early: true, StartsAt: &at, Available: 10},
			{State: "admitted", Position: 5, Ahead: 0, Available: 3, Paused: true, PauseReason: "점검 \"잠시\""},
		} {
			want, err := json.Marshal(joinResponse{Ticket: tok, Status: st})
			if err != nil {
				t.Fatal(err)
			}
			if got := appendJoinResponse(nil, tok, st); string(got) != string(want)+"\n" {
				t.Errorf("ticket %q:\n got %s\nwant %s", tok, got, want)
			}
		}
	}
}
