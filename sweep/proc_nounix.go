//go:build !unix

package sweep

import (
	"fmt"
	"runtime"
	"syscall"
)

// childAttr: no process groups here; the child gets Ctrl-C with the sweep.
func childAttr() *syscall.SysProcAttr { return nil }

// lockRoot: the sweep guards its root with flock(2), which this system
// lacks, so it refuses to start rather than run unguarded (as train does).
func lockRoot(root string) (func(), error) {
	return nil, fmt.Errorf("--out %s: normtap locks its sweep folders with flock, which %s does not have; sweep on Linux, macOS or another Unix", root, runtime.GOOS)
}
