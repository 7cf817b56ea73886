//go:build !unix

package train

import (
	"fmt"
	"runtime"
)

// runLock is a held lock on a run directory; see lock.go.
type runLock struct{}

// lockRunDir: normtap guards a run directory with flock(2), which this
// system lacks, so training refuses to start rather than run unguarded.
func lockRunDir(dir string) (*runLock, error) {
	return nil, fmt.Errorf("--out %s: normtap locks its run directories with flock, which %s does not have; train on Linux, macOS or another Unix", dir, runtime.GOOS)
}

func (l *runLock) release() {}
