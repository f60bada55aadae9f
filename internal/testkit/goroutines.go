package testkit

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"syscall"
	"time"
)

// quitMarker starts the goroutine dump a Go program writes to stderr when
// it gets SIGQUIT.
const quitMarker = "SIGQUIT: quit"

// dumpGoroutines asks a running process for its goroutines (SIGQUIT: a Go
// program writes them all to stderr, here its log, and exits) and waits
// for it to end, killing it after grace. A test that failed because a node
// stopped answering then shows where the node was stuck.
func (p *process) dumpGoroutines(grace time.Duration) { p.signal(syscall.SIGQUIT, grace) }

// splitDump separates a log into what the process logged and the goroutine
// dump that followed SIGQUIT ("" when there is none).
func splitDump(log string) (logged, dump string) {
	i := strings.LastIndex(log, quitMarker)
	if i < 0 {
		return log, ""
	}
	return log[:i], log[i:]
}

// summarizeDump groups the goroutines of a dump by state and by the first
// frame in this module (or the first frame at all), most numerous first,
// with the longest wait of each group: a few lines that say where a process
// was stuck, where the whole dump would bury the log.
func summarizeDump(dump string, maxGroups int) string {
	type group struct {
		state, frame string
		n            int
		longest      string
	}
	groups := map[string]*group{}
	for _, block := range strings.Split(dump, "\n\n") {
		block = strings.TrimSpace(block)
		head, rest, ok := strings.Cut(block, "\n")
		if !ok || !strings.HasPrefix(head, "goroutine ") {
			continue
		}
		open, close := strings.IndexByte(head, '['), strings.LastIndexByte(head, ']')
		if open < 0 || close < open {
			continue
		}
		state, wait, _ := strings.Cut(head[open+1:close], ", ")
		frame := ""
		for _, line := range strings.Split(rest, "\n") {
			if strings.HasPrefix(line, "\t") || strings.HasPrefix(line, "created by ") {
				continue
			}
			if i := strings.LastIndexByte(line, '('); i > 0 {
				line = line[:i] // the arguments differ from goroutine to goroutine
			}
			if frame == "" && !strings.HasPrefix(line, "runtime.") {
				frame = line
			}
			if strings.Contains(line, "floodgate/floodgate") {
				frame = line
				break
			}
		}
		if frame == "" {
			frame = "runtime"
		}
		key := state + "\x00" + frame
		g := groups[key]
		if g == nil {
			g = &group{state: state, frame: frame}
			groups[key] = g
		}
		g.n++
		if wait != "" && waitMinutes(wait) > waitMinutes(g.longest) {
			g.longest = wait
		}
	}
	list := make([]*group, 0, len(groups))
	for _, g := range groups {
		list = append(list, g)
	}
	slices.SortFunc(list, func(a, b *group) int {
		if c := cmp.Compare(b.n, a.n); c != 0 {
			return c
		}
		return cmp.Compare(a.frame, b.frame)
	})
	var b strings.Builder
	for i, g := range list {
		if i == maxGroups {
			fmt.Fprintf(&b, "… and %d more groups\n", len(list)-maxGroups)
			break
		}
		wait := ""
		if g.longest != "" {
			wait = ", up to " + g.longest
		}
		fmt.Fprintf(&b, "%5d [%s%s] %s\n", g.n, g.state, wait, g.frame)
	}
	return b.String()
}

// waitMinutes reads the wait of a goroutine's header ("5 minutes"; the
// runtime leaves out waits under a minute).
func waitMinutes(wait string) int {
	var n int
	fmt.Sscanf(wait, "%d minutes", &n)
	return n
}
