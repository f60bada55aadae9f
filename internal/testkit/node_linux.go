package testkit

import (
	"os/exec"
	"syscall"
)

// setDeathSignal kills the server when the test process dies, so that an
// interrupted test run leaves no floodgate behind.
func setDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
