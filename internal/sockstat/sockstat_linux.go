package sockstat

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
)

// Sockets returns every TCP socket, IPv4 and IPv6, of this network
// namespace.
func Sockets() ([]Socket, error) {
	var all []Socket
	for _, name := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		f, err := os.Open(name)
		if errors.Is(err, fs.ErrNotExist) && name == "/proc/net/tcp6" {
			continue // no IPv6 in this kernel
		}
		if err != nil {
			return nil, err
		}
		s, err := parseTable(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		all = append(all, s...)
	}
	return all, nil
}

// Process reads the state and the open files of process pid; a process
// that is gone has an empty State and no error.
func Process(pid int) (ProcessView, error) {
	p := ProcessView{PID: pid, Sockets: map[uint64]bool{}}
	dir := "/proc/" + strconv.Itoa(pid)
	stat, err := os.ReadFile(dir + "/stat")
	if errors.Is(err, fs.ErrNotExist) {
		return p, nil
	}
	if err != nil {
		return p, err
	}
	// The state follows the command name, which is in parentheses and may
	// hold spaces.
	if i := bytes.LastIndexByte(stat, ')'); i >= 0 {
		if f := strings.Fields(string(stat[i+1:])); len(f) > 0 {
			p.State = f[0]
		}
	}
	fds, err := os.ReadDir(dir + "/fd")
	if errors.Is(err, fs.ErrNotExist) {
		return p, nil // it ended meanwhile
	}
	if err != nil {
		return p, err
	}
	p.Files = len(fds)
	for _, fd := range fds {
		link, err := os.Readlink(dir + "/fd/" + fd.Name())
		if err != nil {
			continue
		}
		if rest, ok := strings.CutPrefix(link, "socket:["); ok {
			if inode, err := strconv.ParseUint(strings.TrimSuffix(rest, "]"), 10, 64); err == nil {
				p.Sockets[inode] = true
			}
		}
	}
	return p, nil
}
