//go:build !linux

package sockstat

import "errors"

var errNotLinux = errors.New("only read on Linux")

// Sockets is only read on Linux.
func Sockets() ([]Socket, error) { return nil, errNotLinux }

// Process is only read on Linux.
func Process(pid int) (ProcessView, error) { return ProcessView{PID: pid}, errNotLinux }
