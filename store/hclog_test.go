package store

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/floodgate/floodgate/internal/testkit"
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

// raft-wal's own lines reach the node's logger, with its attributes (the
// node id), not stderr: here a segment it cannot delete after a truncation.
func TestWALLogsThroughTheNodesLogger(t *testing.T) {
	dir := t.TempDir()
	walDir := filepath.Join(dir, "wal")
	if err := os.Mkdir(walDir, 0o700); err != nil {
		t.Fatal(err)
	}
	var buf testkit.LogBuffer
	node := slog.New(slog.NewTextHandler(&buf, nil)).With("node", "n7")
	d, err := newDiskLog(walDir, dir, node, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.StoreLogs(logs(1, 3)); err != nil {
		t.Fatal(err)
	}
	segs, err := filepath.Glob(filepath.Join(walDir, "*.wal"))
	if err != nil || len(segs) != 1 {
		t.Fatalf("segments %v: %v", segs, err)
	}
	// Gone before raft-wal deletes it after the truncation below: its
	// delete fails, and it logs that.
	if err := os.Remove(segs[0]); err != nil {
		t.Fatal(err)
	}
	if err := d.DeleteRange(1, 3); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	var line string
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "failed to delete old segment") {
			line = l
		}
	}
	if line == "" {
		t.Fatalf("raft-wal's line is not in the node's log:\n%s", out)
	}
	for _, want := range []string{"level=ERROR", "node=n7", "component=wal"} {
		if !strings.Contains(line, want) {
			t.Errorf("raft-wal's line %q: want %s", line, want)
		}
	}
}

// Each hclog level reaches slog at its own level (Off at none), and
// GetLevel names the most verbose hclog level the handler lets through.
func TestHclogLevelsMatchSlogs(t *testing.T) {
	var buf bytes.Buffer
	l := hclogger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: levelTrace})), "raft")
	for level, want := range map[hclog.Level]string{
		hclog.NoLevel: "level=INFO",
		hclog.Trace:   "level=DEBUG-4",
		hclog.Debug:   "level=DEBUG",
		hclog.Info:    "level=INFO",
		hclog.Warn:    "level=WARN",
		hclog.Error:   "level=ERROR",
		hclog.Off:     "",
	} {
		buf.Reset()
		l.Log(level, "hello")
		if out := buf.String(); want == "" && out != "" || want != "" && !strings.Contains(out, want+" ") {
			t.Errorf("%v logs %q, want %q", level, out, want)
		}
	}
	for handler, want := range map[slog.Level]hclog.Level{
		levelTrace:          hclog.Trace,
		slog.LevelDebug:     hclog.Debug,
		slog.LevelDebug + 1: hclog.Info,
		slog.LevelInfo:      hclog.Info,
		slog.LevelWarn:      hclog.Warn,
		slog.LevelError:     hclog.Error,
		slog.LevelError + 4: hclog.Error,
	} {
		l := hclogger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: handler})), "raft")
		if got := l.GetLevel(); got != want {
			t.Errorf("handler at %v: GetLevel %v, want %v", handler, got, want)
		}
	}
}
