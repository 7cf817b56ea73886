//go:build unix

package bench

import (
	"os/exec"
	"syscall"
)

// ownProcessGroup puts the peer in a process group of its own and makes
// cancelling it kill the whole group, so that a shell's children (sh -c
// '…') die with it instead of holding its pipes open.
func ownProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
}
