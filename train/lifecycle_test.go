package train

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"normtap/graph"
	"normtap/rundir"
)

// quickConfig is a small run: 2 epochs of 20 steps, a probe tap each
// epoch and a step tap every 7 steps.
func quickConfig(t *testing.T) Config {
	cfg := smallConfig(t, graph.NormBatch)
	cfg.TrainLimit, cfg.Taps.Examples, cfg.Taps.EverySteps = 640, 50, 7
	return cfg
}

// sameResults fails unless runs a and b have the same metrics (but for
// the timing columns), the same tap index and the same tap files.
func sameResults(t *testing.T, a, b string) {
	t.Helper()
	ma, err := rundir.ReadMetrics(a)
	if err != nil {
		t.Fatal(err)
	}
	mb, _ := rundir.ReadMetrics(b)
	if len(ma) != len(mb) || len(ma) == 0 {
		t.Fatalf("%d metrics rows, want %d", len(ma), len(mb))
	}
	for i := range ma {
		ma[i].WallS, ma[i].ExamplesPerS, mb[i].WallS, mb[i].ExamplesPerS = 0, 0, 0, 0
		if ma[i] != mb[i] {
			t.Fatalf("epoch %d: %+v, want %+v", i+1, ma[i], mb[i])
		}
	}
	ia, _ := os.ReadFile(filepath.Join(a, rundir.IndexFile))
	ib, _ := os.ReadFile(filepath.Join(b, rundir.IndexFile))
	if len(ib) == 0 || !bytes.Equal(ia, ib) {
		t.Fatalf("tap index differs:\n%s\nwant\n%s", ia, ib)
	}
	ix, _ := rundir.ReadIndex(b)
	for _, e := range ix.Entries {
		x, _ := os.ReadFile(filepath.Join(a, e.File))
		y, _ := os.ReadFile(filepath.Join(b, e.File))
		if len(y) == 0 || !bytes.Equal(x, y) {
			t.Fatalf("tap %s differs", e.File)
		}
	}
}

// tempFiles lists the temporary files of atomic writes left under dir.
func tempFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && strings.Contains(d.Name(), ".tmp-") {
			out = append(out, path)
		}
		return nil
	})
	return out
}

// TestEveryRunFolderContinues (#15 class 3): a run stopped before its
// first checkpoint resumes from step 0 with the result of an uninterrupted
// run; temporary files a kill left are removed when it starts again.
func TestEveryRunFolderContinues(t *testing.T) {
	whole := quickConfig(t)
	if _, err := Run(context.Background(), whole, Options{}); err != nil {
		t.Fatal(err)
	}
	cut := quickConfig(t)
	ctx, cancel := context.WithCancel(context.Background())
	_, err := Run(ctx, cut, Options{AfterStep: func(step int) {
		if step == 9 { // after the step tap at 7
			cancel()
		}
	}})
	if !errors.Is(err, ErrInterrupted) {
		t.Fatal(err)
	}
	// as if killed before its first checkpoint, in the middle of writes
	os.Remove(filepath.Join(cut.Out, rundir.CheckpointFile))
	for _, f := range []string{rundir.CheckpointDir + "/.state.bin.tmp-123", "taps/h1.act/.step-000014.npy.tmp-9", ".metrics.csv.tmp-1"} {
		os.WriteFile(filepath.Join(cut.Out, f), []byte("half"), 0o644)
	}
	var log bytes.Buffer
	cut.Resume = true
	if _, err := Run(context.Background(), cut, Options{Log: &log}); err != nil {
		t.Fatalf("resume without a checkpoint: %v", err)
	}
	if !strings.Contains(log.String(), "starting the run again from step 0") {
		t.Errorf("the log does not say the run starts again: %q", log.String())
	}
	sameResults(t, cut.Out, whole.Out)
	if left := tempFiles(t, cut.Out); len(left) > 0 {
		t.Errorf("temporary files survived the restart: %v", left)
	}
}

// TestResumeNeverCreatesTheFolder: --resume of a missing folder is an
// error and makes nothing; of an empty one it is an error that says to
// start the run without --resume, which then works.
func TestResumeNeverCreatesTheFolder(t *testing.T) {
	cfg := quickConfig(t)
	cfg.Epochs, cfg.Resume = 1, true
	_, err := Run(context.Background(), cfg, Options{})
	if err == nil || !strings.Contains(err.Error(), "does not exist") || !strings.Contains(err.Error(), cfg.Out) {
		t.Fatalf("--resume of a missing folder: %v", err)
	}
	if _, err := os.Stat(cfg.Out); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("--resume made %s", cfg.Out)
	}
	os.Mkdir(cfg.Out, 0o755)
	if _, err := Run(context.Background(), cfg, Options{}); err == nil || !strings.Contains(err.Error(), "without --resume") {
		t.Fatalf("--resume of an empty folder: %v", err)
	}
	cfg.Resume = false
	if _, err := Run(context.Background(), cfg, Options{}); err != nil {
		t.Fatalf("a run in the folder --resume refused: %v", err)
	}
}

// TestRunFolderRemovedMidRun: a run whose folder is renamed under it stops
// with an error naming it at its next write, and does not make a new,
// half-empty folder at the old path; moved back, it resumes.
func TestRunFolderRemovedMidRun(t *testing.T) {
	cfg := quickConfig(t)
	cfg.CheckpointEverySteps = 10
	moved := cfg.Out + ".moved"
	_, err := Run(context.Background(), cfg, Options{AfterStep: func(step int) {
		if step == 12 {
			if err := os.Rename(cfg.Out, moved); err != nil {
				t.Error(err)
			}
		}
	}})
	if err == nil || !strings.Contains(err.Error(), "removed or renamed") || !strings.Contains(err.Error(), "step 10") {
		t.Fatalf("run with its folder renamed: %v", err)
	}
	if _, err := os.Stat(cfg.Out); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the run made %s again after it was renamed", cfg.Out)
	}
	os.Rename(moved, cfg.Out)
	cfg.Resume = true
	if res, err := Run(context.Background(), cfg, Options{}); err != nil || len(res.Metrics) != 2 {
		t.Fatalf("resume after moving it back: %v", err)
	}
}

// TestOutIsOnlyARunFolder (#15 class 6): train refuses a non-empty folder
// that is not a run, writing nothing into it; a sweep's log is allowed; a
// run.lock that is a symbolic link is never followed.
func TestOutIsOnlyARunFolder(t *testing.T) {
	cfg := quickConfig(t)
	cfg.Epochs = 1
	os.MkdirAll(cfg.Out, 0o755)
	os.WriteFile(filepath.Join(cfg.Out, "notes.txt"), []byte("mine"), 0o644)
	_, err := Run(context.Background(), cfg, Options{})
	if err == nil || !strings.Contains(err.Error(), "not empty and not a normtap run (it holds notes.txt)") {
		t.Fatalf("train into a folder of notes: %v", err)
	}
	if entries, _ := os.ReadDir(cfg.Out); len(entries) != 1 {
		t.Fatalf("train wrote into the refused folder: %v", entries)
	}
	empty := cfg
	empty.Out = ""
	if _, err := Run(context.Background(), empty, Options{}); err == nil || !strings.Contains(err.Error(), "--out") {
		t.Fatalf("--out \"\": %v", err)
	}

	os.Remove(filepath.Join(cfg.Out, "notes.txt"))
	os.WriteFile(filepath.Join(cfg.Out, rundir.LogFile), []byte("sweep log\n"), 0o644)
	target := filepath.Join(t.TempDir(), "precious")
	os.WriteFile(target, []byte("precious"), 0o644)
	os.Symlink(target, filepath.Join(cfg.Out, lockFile))
	_, err = Run(context.Background(), cfg, Options{})
	if err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Fatalf("run.lock a symbolic link: %v", err)
	}
	if b, _ := os.ReadFile(target); string(b) != "precious" {
		t.Fatalf("the link's target was written: %q", b)
	}
	os.Remove(filepath.Join(cfg.Out, lockFile))
	if _, err := Run(context.Background(), cfg, Options{}); err != nil {
		t.Fatalf("a folder holding only a sweep's log: %v", err)
	}
}
