package rundir

import (
	"os"
	"path/filepath"
	"strings"
)

// runFiles are the files a run writes at its top level (train/lock.go
// names run.lock).
var runFiles = []string{ConfigFile, MetricsFile, ICSFile, LandscapeFile, "run.lock"}

// RunFileOf reports whether path is one of a run directory's own files (its
// config, metrics, measurements, lock, or anything under taps/ or
// checkpoint/), whether or not it exists yet, and returns that run
// directory. Outputs of other commands (figures, tables) must never be
// written there.
func RunFileOf(path string) (runDir string, ok bool) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", false
	}
	if real, err := filepath.EvalSymlinks(filepath.Dir(abs)); err == nil {
		abs = filepath.Join(real, filepath.Base(abs))
	}
	dir := filepath.Dir(abs)
	for range 3 { // taps/<node>/x.npy is two folders down
		if fi, err := os.Stat(filepath.Join(dir, ConfigFile)); err == nil && fi.Mode().IsRegular() {
			rel, err := filepath.Rel(dir, abs)
			if err != nil {
				return "", false
			}
			rel = filepath.ToSlash(rel)
			for _, f := range runFiles {
				if rel == f {
					return dir, true
				}
			}
			if strings.HasPrefix(rel, TapsDir+"/") || strings.HasPrefix(rel, CheckpointDir+"/") {
				return dir, true
			}
			return "", false
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	return "", false
}
