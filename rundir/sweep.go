package rundir

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// SweepFile, in a sweep's root, maps each run directory to its flags.
const SweepFile = "sweep.json"

// SweepVersion is the version of sweep.json this code writes and reads.
const SweepVersion = 1

// SweepIndex is sweep.json: the varied flags and their values (in the
// order given), the flags every run shares, and each run.
type SweepIndex struct {
	Version int          `json:"version"`
	Vary    []SweepAxis  `json:"vary"`
	Fixed   []string     `json:"fixed"` // train flags as typed, the same for every run
	Runs    []SweepEntry `json:"runs"`
}

// SweepAxis is one varied flag.
type SweepAxis struct {
	Flag   string   `json:"flag"`
	Values []string `json:"values"`
}

// SweepEntry is one run of a sweep.
type SweepEntry struct {
	Dir    string            `json:"dir"`    // relative to the sweep root
	Values map[string]string `json:"values"` // varied flag → its value in this run
	Flags  []string          `json:"flags"`  // the complete train flags, --out aside
}

// WriteSweepIndex writes root/sweep.json atomically.
func WriteSweepIndex(root string, ix *SweepIndex) error {
	path := filepath.Join(root, SweepFile)
	data, err := json.MarshalIndent(ix, "", "  ")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return AtomicWriteFile(path, append(data, '\n'), 0o644)
}

// ReadSweepIndex reads root/sweep.json; its error wraps fs.ErrNotExist
// when root is not a sweep.
func ReadSweepIndex(root string) (*SweepIndex, error) {
	path := filepath.Join(root, SweepFile)
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s has no %s (not a sweep root): %w", root, SweepFile, err)
		}
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	var ix SweepIndex
	if err := json.Unmarshal(data, &ix); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if ix.Version != SweepVersion {
		return nil, fmt.Errorf("%s: version %d, this normtap reads version %d", path, ix.Version, SweepVersion)
	}
	for _, r := range ix.Runs {
		if r.Dir == "" || filepath.IsAbs(r.Dir) || filepath.Base(r.Dir) != r.Dir || r.Dir == "." || r.Dir == ".." {
			return nil, fmt.Errorf("%s: run directory %q is not a plain name inside the root", path, r.Dir)
		}
	}
	return &ix, nil
}

// IsSweep reports whether dir holds a sweep.json.
func IsSweep(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, SweepFile))
	return err == nil
}
