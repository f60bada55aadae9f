package rush

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestWriteReportFile: the report lands in the file, whole; a path that
// cannot be created is an error.
func TestWriteReportFile(t *testing.T) {
	res := &Result{Config: DefaultConfig(), Drop: "lamp", StartedAt: time.Now(), client: newClient("http://127.0.0.1:1", 1)}
	path := filepath.Join(t.TempDir(), "report.html")
	if err := WriteReportFile(path, res); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil || !strings.Contains(string(b), "Floodgate rush: lamp") || !strings.HasSuffix(strings.TrimSpace(string(b)), "</html>") {
		t.Fatalf("report file (%v): %.300s", err, b)
	}
	if err := WriteReportFile(filepath.Join(t.TempDir(), "missing", "report.html"), res); err == nil {
		t.Fatal("a report into a missing directory was written")
	}
}

// TestBroken: a clean summary is no error; one that oversold says so.
func TestBroken(t *testing.T) {
	if err := (Summary{}).Broken(); err != nil {
		t.Fatalf("a clean summary: %v", err)
	}
	if err := (Summary{Oversold: 2}).Broken(); err == nil || !strings.Contains(err.Error(), "oversold 2") {
		t.Fatalf("an oversold summary: %v", err)
	}
}

// TestCommandRefusals: a command that cannot do what it was told says so
// before it starts a server or sends a request.
func TestCommandRefusals(t *testing.T) {
	for _, c := range []struct {
		name string
		cmd  Command
		want string
	}{
		{"demo and target", Command{Config: Config{Target: "http://127.0.0.1:1"}, Demo: true}, "either --demo or --target"},
		{"no target", Command{}, "no target"},
		{"profile into a missing directory", Command{CPUProfile: filepath.Join(t.TempDir(), "missing", "cpu.out")}, "CPU profile"},
		{"bad shares", Command{Config: Config{Target: "http://127.0.0.1:1", AdminToken: "t", BotShare: 2}, Quiet: true}, "between 0 and 1"},
	} {
		var out bytes.Buffer
		c.cmd.Stdout, c.cmd.Stderr = &out, &out
		err := c.cmd.Run(t.Context())
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v; want one saying %q", c.name, err, c.want)
		}
		if out.Len() > 0 {
			t.Errorf("%s: wrote %q before refusing", c.name, out.String())
		}
	}
}
