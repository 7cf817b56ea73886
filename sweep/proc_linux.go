package sweep

import "syscall"

// childAttr puts a child in its own process group (Ctrl-C reaches the
// sweep alone) and has the kernel send it SIGTERM, on which train
// checkpoints and exits, should the sweep die without stopping it.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}
