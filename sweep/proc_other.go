//go:build unix && !linux

package sweep

import "syscall"

// childAttr puts a child in its own process group: Ctrl-C reaches the
// sweep alone, which passes it on.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
