//go:build !linux

package testkit

import "os/exec"

// startChild starts cmd (only Linux has a parent-death signal).
func startChild(cmd *exec.Cmd) error { return cmd.Start() }
