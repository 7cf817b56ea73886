//go:build !unix

package bench

import "os/exec"

// ownProcessGroup does nothing where there are no process groups: the
// peer alone is killed when cancelled.
func ownProcessGroup(*exec.Cmd) {}
