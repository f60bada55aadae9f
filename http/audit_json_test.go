package http_test

import (
	"encoding/json"
	"testing"
	"time"

	fhttp "github.com/floodgate/floodgate/http"
	"github.com/floodgate/floodgate/sale"
)

// TestAuditEntryJSON pins the bytes of an entry of GET /api/v1/audit.
func TestAuditEntryJSON(t *testing.T) {
	at := time.Date(2026, 11, 30, 15, 0, 0, 123_000_000, time.UTC)
	for _, c := range []struct {
		e    fhttp.AuditEntry
		want string
	}{
		{fhttp.AuditEntry{Seq: 7, At: at, Operator: sale.Operator{Actor: "fgk_a_1", Tenant: "a", From: "192.0.2.1"}, Action: "drop.pause", Target: "d", Detail: "why"},
			`{"seq":7,"at":"2026-11-30T15:00:00.123Z","actor":"fgk_a_1","tenant":"a","from":"192.0.2.1","action":"drop.pause","target":"d","detail":"why"}`},
		{fhttp.AuditEntry{Seq: 1, At: at, Operator: sale.Operator{Actor: "root"}, Action: "drop.close", Target: "d"},
			`{"seq":1,"at":"2026-11-30T15:00:00.123Z","actor":"root","action":"drop.close","target":"d"}`},
	} {
		got, err := json.Marshal(c.e)
		if err != nil || string(got) != c.want {
			t.Errorf("json.Marshal(%+v) = %s, %v\nwant %s", c.e, got, err, c.want)
		}
	}
}
