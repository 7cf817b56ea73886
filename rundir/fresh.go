package rundir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// LogFile is the log a sweep keeps in each run directory (its train
// child's output); train leaves it alone.
const LogFile = "train.log"

// tempName is the pattern of atomicWrite's temporary files, beside their
// target: "." + the target's name + ".tmp-" + a random suffix.
func tempName(base string) string { return "." + base + ".tmp-*" }

// isTemp reports whether name is one of atomicWrite's temporary files.
func isTemp(name string) bool {
	return strings.HasPrefix(name, ".") && strings.Contains(name, ".tmp-")
}

// Foreign returns the first entry of dir that is not a run directory's own
// (its files, taps/, checkpoint/, a sweep's log, temporary files), or ""
// when there is none or dir does not exist, so that train refuses to start
// a run in a folder that holds other things.
func Foreign(dir string) (string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read %s: %w", dir, err)
	}
	for _, e := range entries {
		name := e.Name()
		switch {
		case slices.Contains(runFiles, name) || name == LogFile || isTemp(name):
		case (name == TapsDir || name == CheckpointDir) && e.IsDir():
		default:
			return name, nil
		}
	}
	return "", nil
}

// RemoveTemps removes the temporary files that a process killed while
// writing left in dir, its checkpoint folder and its tap folders. Only the
// run's one writer (holding its lock) may call it.
func RemoveTemps(dir string) error {
	dirs := []string{dir, filepath.Join(dir, CheckpointDir), filepath.Join(dir, TapsDir)}
	if nodes, err := os.ReadDir(filepath.Join(dir, TapsDir)); err == nil {
		for _, n := range nodes {
			if n.IsDir() {
				dirs = append(dirs, filepath.Join(dir, TapsDir, n.Name()))
			}
		}
	}
	for _, d := range dirs {
		entries, err := os.ReadDir(d)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("clean %s: %w", d, err)
		}
		for _, e := range entries {
			if isTemp(e.Name()) && e.Type().IsRegular() {
				if err := os.Remove(filepath.Join(d, e.Name())); err != nil {
					return fmt.Errorf("remove the temporary file %s: %w", filepath.Join(d, e.Name()), err)
				}
			}
		}
	}
	return nil
}

// ClearUnstarted removes what a run writes before its first checkpoint
// (metrics, measurements, taps), so that it can start again from step 0
// with nothing of the aborted start left behind. config.json stays.
func ClearUnstarted(dir string) error {
	for _, f := range []string{MetricsFile, ICSFile, LandscapeFile, TapsDir} {
		if err := os.RemoveAll(filepath.Join(dir, f)); err != nil {
			return fmt.Errorf("clear the unstarted run %s: %w", dir, err)
		}
	}
	return nil
}
