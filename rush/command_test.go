package rush

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

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
