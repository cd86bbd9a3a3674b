//go:build !unix

package adapter

import "os/exec"

// BUG(fakebill): Outside Unix an adapter's own children are not killed
// with it: only the adapter process is.

func setGroup(cmd *exec.Cmd) {}

func killGroup(cmd *exec.Cmd) {}
