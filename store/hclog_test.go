package store

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
)

// Raft logs some values with hclog.Fmt; they reach slog formatted, not as
// the raw format string and its arguments.
func TestHclogFmtValuesAreFormatted(t *testing.T) {
	var buf bytes.Buffer
	l := hclogger(slog.New(slog.NewTextHandler(&buf, nil)), "raft")
	servers := []string{"node1"}
	l.Info("initial configuration", "index", 1, "servers", hclog.Fmt("%+v", servers))
	out := buf.String()
	if strings.Contains(out, "%+v") || !strings.Contains(out, "servers=[node1]") {
		t.Fatalf("log line %q: want servers=[node1]", out)
	}
}
