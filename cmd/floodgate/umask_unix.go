//go:build unix

package main

import "syscall"

// privateFiles makes every file and directory the process creates readable
// by its user only: snapshots and the Raft log hold the cluster secret and
// every order.
func privateFiles() { syscall.Umask(0o077) }
