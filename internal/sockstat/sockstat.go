// Package sockstat reads what the kernel shows of a TCP port and of a
// process's sockets, for the message of a failure no Go error explains: a
// connection refused, or closed before any answer, while the server process
// seems to run. Only Linux shows it (/proc/net/tcp, /proc/PID/fd); elsewhere
// Describe says so.
package sockstat

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"net/netip"
	"sort"
	"strconv"
	"strings"
)

// Socket is one TCP socket of /proc/net/tcp or /proc/net/tcp6.
type Socket struct {
	Local, Remote netip.AddrPort
	State         string // ESTABLISHED, LISTEN, TIME_WAIT, …
	Inode         uint64 // 0 for sockets no file holds (TIME_WAIT, orphans)
}

// states are the kernel's TCP states by their number in /proc/net/tcp.
var states = [...]string{1: "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2", "TIME_WAIT",
	"CLOSE", "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING", "NEW_SYN_RECV"}

// parseTable reads a /proc/net/tcp or /proc/net/tcp6 table, skipping lines
// it does not understand.
func parseTable(r io.Reader) ([]Socket, error) {
	var out []Socket
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), 1<<20)
	for sc.Scan() {
		// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode …
		f := strings.Fields(sc.Text())
		if len(f) < 10 || !strings.HasSuffix(f[0], ":") {
			continue
		}
		local, err1 := parseAddr(f[1])
		remote, err2 := parseAddr(f[2])
		st, err3 := strconv.ParseUint(f[3], 16, 8)
		inode, err4 := strconv.ParseUint(f[9], 10, 64)
		if err1 != nil || err2 != nil || err3 != nil || err4 != nil {
			continue
		}
		state := "STATE_" + f[3]
		if int(st) < len(states) && states[st] != "" {
			state = states[st]
		}
		out = append(out, Socket{Local: local, Remote: remote, State: state, Inode: inode})
	}
	return out, sc.Err()
}

// parseAddr reads ADDR:PORT of /proc/net/tcp: the address as 32-bit words
// printed in host byte order, the port as a number, both in hex.
func parseAddr(s string) (netip.AddrPort, error) {
	a, p, ok := strings.Cut(s, ":")
	port, err := strconv.ParseUint(p, 16, 16)
	if !ok || err != nil || (len(a) != 8 && len(a) != 32) {
		return netip.AddrPort{}, fmt.Errorf("sockstat: address %q", s)
	}
	raw, err := hex.DecodeString(a)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("sockstat: address %q", s)
	}
	b := make([]byte, len(raw))
	for i := 0; i < len(raw); i += 4 {
		binary.NativeEndian.PutUint32(b[i:], binary.BigEndian.Uint32(raw[i:]))
	}
	ip, _ := netip.AddrFromSlice(b)
	return netip.AddrPortFrom(ip.Unmap(), uint16(port)), nil
}

// PortView is what the kernel shows of one TCP port on this machine.
type PortView struct {
	Port uint16
	// Listeners are the sockets listening on the port.
	Listeners []Socket
	// Server counts the other sockets whose own end is the port (a
	// server's end of its connections), by state; Client those whose
	// other end is (a client's end).
	Server, Client map[string]int
}

// View sorts sockets into what concerns port.
func View(sockets []Socket, port uint16) PortView {
	v := PortView{Port: port, Server: map[string]int{}, Client: map[string]int{}}
	for _, s := range sockets {
		switch {
		case s.Local.Port() == port && s.State == "LISTEN":
			v.Listeners = append(v.Listeners, s)
		case s.Local.Port() == port:
			v.Server[s.State]++
		case s.Remote.Port() == port:
			v.Client[s.State]++
		}
	}
	return v
}

// String is the view in one line.
func (v PortView) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "port %d: ", v.Port)
	if len(v.Listeners) == 0 {
		b.WriteString("nothing listens")
	}
	for i, l := range v.Listeners {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s listens (inode %d)", l.Local, l.Inode)
	}
	fmt.Fprintf(&b, "; its connections at the server's end: %s; at clients' ends: %s", counts(v.Server), counts(v.Client))
	return b.String()
}

func counts(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, k := range keys {
		keys[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(keys, ", ")
}

// ProcessView is what the kernel shows of one process's files.
type ProcessView struct {
	PID int
	// State is the process's state letter (R running, S sleeping, D disk
	// wait, Z zombie: it ended and its parent has not reaped it yet, T
	// stopped); empty when the process is gone.
	State string
	// Files counts the open file descriptors; Sockets holds the inodes of
	// the sockets among them.
	Files   int
	Sockets map[uint64]bool
}

// Describe is the view of the TCP port and, when pid is not 0, of the
// process that should listen on it, in one line.
func Describe(port uint16, pid int) string {
	sockets, err := Sockets()
	if err != nil {
		return "kernel view: " + err.Error()
	}
	v := View(sockets, port)
	s := "kernel view: " + v.String()
	if pid == 0 {
		return s
	}
	p, err := Process(pid)
	switch {
	case err != nil:
		return s + fmt.Sprintf("; process %d: %v", pid, err)
	case p.State == "":
		return s + fmt.Sprintf("; process %d is gone", pid)
	}
	s += fmt.Sprintf("; process %d: state %s, %d open files", pid, p.State, p.Files)
	held := 0
	for _, l := range v.Listeners {
		if p.Sockets[l.Inode] {
			held++
		}
	}
	if held > 0 {
		return s + ", holds the listener"
	}
	return s + ", holds no listener of the port"
}
