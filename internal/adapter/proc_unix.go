//go:build unix

package adapter

import (
	"os/exec"
	"syscall"
)

// BUG(fakebill): A process the adapter starts in a session or process
// group of its own (setsid, a daemon) escapes the kill and outlives the
// check.

// setGroup runs cmd in its own process group, so that killing it also
// kills whatever it started (a shell's children, a runtime's workers).
func setGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
}

// killGroup kills what is left of cmd's process group after it exited.
func killGroup(cmd *exec.Cmd) {
	if cmd.Process != nil {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}
