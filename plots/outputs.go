package plots

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"normtap/rundir"
)

// figureMagic is how each format's files begin: plot replaces an existing
// file only when it is a figure of that format.
var figureMagic = map[string][]string{
	".png": {"\x89PNG\r\n\x1a\n"},
	".svg": {"<?xml", "<svg"},
	".pdf": {"%PDF-"},
}

// SideCSV is the table Render writes beside the figure for the kinds that
// have one: the figure's path with the extension .csv.
func SideCSV(out string) string {
	return strings.TrimSuffix(out, filepath.Ext(out)) + ".csv"
}

// CheckOutput refuses, before anything is drawn, an output path that would
// replace a run's own file (its metrics.csv, config, taps, …), a folder,
// or a file that is not of the kind plot writes there: a figure of the
// same format, or, for a table (.csv), one with the given header. The
// folder must exist.
func CheckOutput(path string, header []string) error {
	if dir, ok := rundir.RunFileOf(path); ok {
		return fmt.Errorf("%s is run %s's own file: normtap plot never replaces it; choose another --out", path, dir)
	}
	parent := filepath.Dir(path)
	if fi, err := os.Stat(parent); err != nil || !fi.IsDir() {
		return fmt.Errorf("%s: folder %s does not exist", path, parent)
	}
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return fmt.Errorf("%s is a folder; give a file name", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	first, _ := bufio.NewReader(f).Peek(4096)
	ext := strings.ToLower(filepath.Ext(path))
	if ext == ".csv" {
		line, _, _ := bytes.Cut(first, []byte("\n"))
		if string(bytes.TrimRight(line, "\r")) != strings.Join(header, ",") {
			return fmt.Errorf("%s exists and is not a table normtap plot wrote (its first line is not %s); normtap replaces only its own files: move it or choose another --out", path, strings.Join(header, ","))
		}
		return nil
	}
	for _, magic := range figureMagic[ext] {
		if bytes.HasPrefix(first, []byte(magic)) {
			return nil
		}
	}
	return fmt.Errorf("%s exists and is not a %s figure; normtap replaces only its own files: move it or choose another --out", path, ext)
}
