package main

import (
	"bytes"
	"encoding/csv"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// sweepArgs is a sweep of two short real trainings, checkpointed every
// 3 steps so that a stop lands mid-epoch.
func sweepArgs(root string) []string {
	return []string{"sweep", "--vary", "seed=1|2", "--out", root, "-j", "1",
		"--hidden", "256,256", "--batch", "64", "--epochs", "2", "--train-limit", "768",
		"--checkpoint-every-steps", "3", "--device", "cpu"}
}

// sweepResults reads each run's metrics.csv without its clock columns
// (wall_s, examples_per_s), which no two runs share.
func sweepResults(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, dir := range []string{"seed=1", "seed=2"} {
		data, err := os.ReadFile(filepath.Join(root, dir, "metrics.csv"))
		if err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for _, r := range recs {
			b.WriteString(strings.Join(r[:6], ",") + "\n")
		}
		out[dir] = b.String()
	}
	return out
}

// waitForEpoch waits until run dir has n metrics rows and returns the pid
// of the train process writing it (from its run.lock).
func waitForEpoch(t *testing.T, dir string, n int, sweep *exec.Cmd) int {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		data, _ := os.ReadFile(filepath.Join(dir, "metrics.csv"))
		if strings.Count(string(data), "\n") >= n+1 {
			lock, _ := os.ReadFile(filepath.Join(dir, "run.lock"))
			if pid, err := strconv.Atoi(strings.TrimSpace(string(lock))); err == nil {
				return pid
			}
		}
		time.Sleep(2 * time.Millisecond)
	}
	sweep.Process.Kill()
	t.Fatalf("%s never reached epoch %d", dir, n)
	return 0
}

// TestSweepStoppedAndRerun: a sweep whose child is killed (SIGKILL)
// midway, or which is itself interrupted (SIGINT), finishes when run
// again with the same metrics as a sweep never stopped; the re-run skips
// finished runs.
func TestSweepStoppedAndRerun(t *testing.T) {
	clean := filepath.Join(t.TempDir(), "clean")
	if code, _, errs := normtap(t, sweepArgs(clean)...); code != 0 {
		t.Fatalf("uninterrupted sweep exited %d: %s", code, errs)
	}
	want := sweepResults(t, clean)

	stops := []struct {
		name string
		code int // the stopped sweep's exit status
		stop func(sweep *exec.Cmd, child int) error
	}{
		{"child killed", 1, func(_ *exec.Cmd, child int) error { return syscall.Kill(child, syscall.SIGKILL) }},
		{"sweep interrupted", 130, func(sweep *exec.Cmd, _ int) error { return sweep.Process.Signal(syscall.SIGINT) }},
	}
	for _, s := range stops {
		t.Run(s.name, func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "sweep")
			cmd := exec.Command(binPath, sweepArgs(root)...)
			var errb bytes.Buffer
			cmd.Stderr = &errb
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			child := waitForEpoch(t, filepath.Join(root, "seed=1"), 1, cmd)
			if err := s.stop(cmd, child); err != nil {
				cmd.Wait()
				t.Skipf("the run ended before it could be stopped: %v", err)
			}
			err := cmd.Wait()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			}
			if code != s.code {
				t.Fatalf("stopped sweep exited %d, want %d; stderr: %s", code, s.code, errb.String())
			}
			code, stdout, errs := normtap(t, sweepArgs(root)...)
			if code != 0 {
				t.Fatalf("re-run exited %d: %s", code, errs)
			}
			if s.name == "child killed" && !strings.Contains(stdout, "seed=2  skipped") {
				t.Errorf("the re-run did not skip the finished seed=2:\n%s", stdout)
			}
			got := sweepResults(t, root)
			for dir := range want {
				if got[dir] != want[dir] {
					t.Errorf("%s after the stop and re-run:\n%s\nwant (never stopped):\n%s", dir, got[dir], want[dir])
				}
			}
			logData, _ := os.ReadFile(filepath.Join(root, "seed=1", "train.log"))
			if !strings.Contains(string(logData), "--resume") {
				t.Errorf("seed=1 was not resumed from its checkpoint; its train.log:\n%s", logData)
			}
		})
	}
}

// TestSweepUsage: bad --vary is one line and exit 2; --print runs nothing.
func TestSweepUsage(t *testing.T) {
	root := filepath.Join(t.TempDir(), "s")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"sweep", "--vary", "bacth=2|8", "--out", root}, "no flag --bacth"},
		{[]string{"sweep", "--vary", "batch=2||8", "--out", root}, "empty value"},
		{[]string{"sweep", "--vary", "batch=2|8", "--out", root, "--batch", "4"}, "both fixed and varied"},
		{[]string{"sweep", "--vary", "batch=0|8", "--out", root}, "--batch 0"},
		{[]string{"sweep", "--vary", "norm=none|cube", "--out", root}, "cube"},
		{[]string{"sweep", "--vary", "batch=2|8"}, "--out"},
		{[]string{"sweep", "--vary", "batch=2|8", "--out", root, "-j", "0"}, "-j 0"},
	} {
		code, _, errs := normtap(t, c.args...)
		if code != 2 || !strings.Contains(errs, c.want) || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
			t.Errorf("%v: exit %d, stderr %q; want 2 and one line saying %q", c.args, code, errs, c.want)
		}
	}
	code, stdout, errs := normtap(t, "sweep", "--vary", "norm=none|batch", "--vary", "batch=8|64", "--out", root, "--print", "--epochs", "2")
	if code != 0 {
		t.Fatalf("--print exited %d: %s", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[3], "normtap train --epochs 2 --norm=batch --batch=64 --out ") {
		t.Fatalf("--print wrote:\n%s", stdout)
	}
	if entries, _ := os.ReadDir(root); len(entries) != 1 || entries[0].Name() != "sweep.json" {
		t.Fatalf("--print left %v in the root, want sweep.json alone", entries)
	}
	// plot --kind sweep: usage mistakes are exit 2, one line
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"plot", "--kind", "sweep", root, "--out", filepath.Join(t.TempDir(), "s.png")}, "needs --x FLAG"},
		{[]string{"plot", "--kind", "sweep", "--x", "batch", "--metric", "accuracy", root, "--out", "s.png"}, "unknown --metric"},
	} {
		code, _, errs := normtap(t, c.args...)
		if code != 2 || !strings.Contains(errs, c.want) || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
			t.Errorf("%v: exit %d, stderr %q; want 2 and one line saying %q", c.args, code, errs, c.want)
		}
	}
	// a sweep with no finished run yet: one line, exit 1
	code, _, errs = normtap(t, "plot", "--kind", "sweep", "--x", "batch", root, "--out", filepath.Join(t.TempDir(), "s.png"))
	if code != 1 || !strings.Contains(errs, "no finished runs") {
		t.Errorf("plot of an unrun sweep: exit %d, %q", code, errs)
	}
}

// TestDatasetFlag: --dataset fashion trains on Fashion-MNIST (skipped
// where Debian's dataset-fashion-mnist is not installed) and says so in
// config.json; a missing one, or one given beside --data, is one clear line.
func TestDatasetFlag(t *testing.T) {
	tiny := []string{"train", "--hidden", "16", "--epochs", "1", "--train-limit", "500", "--quiet", "--device", "cpu"}
	code, _, errs := normtap(t, append(tiny, "--dataset", "fashion", "--data", t.TempDir(), "--out", t.TempDir())...)
	if code != 2 || !strings.Contains(errs, "give one of them") {
		t.Errorf("--dataset with --data: exit %d, %q", code, errs)
	}
	cmd := exec.Command(binPath, append(tiny, "--dataset", "fashion", "--out", filepath.Join(t.TempDir(), "r"))...)
	cmd.Env = append(os.Environ(), "NORMTAP_FASHION_MNIST="+t.TempDir())
	out, _ := cmd.CombinedOutput()
	if cmd.ProcessState.ExitCode() != 1 || !strings.Contains(string(out), "apt-get install dataset-fashion-mnist") || strings.Count(strings.TrimSpace(string(out)), "\n") != 0 {
		t.Errorf("missing Fashion-MNIST: exit %d, %q", cmd.ProcessState.ExitCode(), out)
	}
	if _, err := os.Stat("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"); err != nil {
		t.Skip("Fashion-MNIST is not installed (sudo apt-get install dataset-fashion-mnist)")
	}
	dir := filepath.Join(t.TempDir(), "fashion")
	if code, _, errs := normtap(t, append(tiny, "--dataset", "fashion", "--out", dir)...); code != 0 {
		t.Fatalf("--dataset fashion: exit %d: %s", code, errs)
	}
	cfg, _ := os.ReadFile(filepath.Join(dir, "config.json"))
	if !strings.Contains(string(cfg), `"dataset": "fashion"`) {
		t.Errorf("config.json does not name the dataset:\n%s", cfg)
	}
}
