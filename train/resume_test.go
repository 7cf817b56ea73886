package train

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"normtap/graph"
	"normtap/rundir"
)

// TestMain lets the test binary act as a training process for the
// kill-and-resume test: with NORMTAP_TRAIN_CHILD set to a config's JSON it
// trains, printing each step, slowly enough to be killed mid-epoch.
func TestMain(m *testing.M) {
	if js := os.Getenv("NORMTAP_TRAIN_CHILD"); js != "" {
		var cfg Config
		if err := json.Unmarshal([]byte(js), &cfg); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(3)
		}
		cfg.Resume = os.Getenv("NORMTAP_TRAIN_CHILD_RESUME") != "" // Resume is not in the JSON
		_, err := Run(context.Background(), cfg, Options{AfterStep: func(step int) {
			fmt.Println("step", step)
			time.Sleep(5 * time.Millisecond)
		}})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestKillAndResumeIsExact kills a training process with SIGKILL in the
// middle of an epoch, resumes it, and expects exactly the metrics and taps
// of an uninterrupted run with the same seed.
func TestKillAndResumeIsExact(t *testing.T) {
	cfg := smallConfig(t, graph.NormBatch)
	cfg.CheckpointEverySteps = 25
	cfg.Taps.EverySteps = 30
	js, _ := json.Marshal(cfg)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "NORMTAP_TRAIN_CHILD="+string(js))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killedAt := 0
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if n, err := strconv.Atoi(strings.TrimPrefix(sc.Text(), "step ")); err == nil && n == 60 {
			cmd.Process.Kill()
			killedAt = n
			break
		}
	}
	cmd.Wait()
	if killedAt == 0 {
		t.Fatal("the child finished before it could be killed")
	}
	if rows, _ := rundir.ReadMetrics(cfg.Out); len(rows) != 0 {
		t.Fatalf("killed in epoch 1 but metrics.csv has %d rows", len(rows))
	}
	cfg.Resume = true
	if _, err := Run(context.Background(), cfg, Options{}); err != nil {
		t.Fatalf("resume: %v", err)
	}
	whole := smallConfig(t, graph.NormBatch)
	whole.CheckpointEverySteps = 25
	whole.Taps.EverySteps = 30
	if _, err := Run(context.Background(), whole, Options{}); err != nil {
		t.Fatal(err)
	}
	a, _ := rundir.ReadMetrics(cfg.Out)
	b, _ := rundir.ReadMetrics(whole.Out)
	if len(a) != len(b) || len(a) != cfg.Epochs {
		t.Fatalf("resumed run has %d rows, uninterrupted %d", len(a), len(b))
	}
	for i := range a {
		a[i].WallS, a[i].ExamplesPerS, b[i].WallS, b[i].ExamplesPerS = 0, 0, 0, 0
		if a[i] != b[i] {
			t.Fatalf("epoch %d differs after resume:\n%+v\n%+v", i+1, a[i], b[i])
		}
	}
	ia, _ := rundir.ReadIndex(cfg.Out)
	ib, _ := rundir.ReadIndex(whole.Out)
	if len(ia.Entries) != len(ib.Entries) {
		t.Fatalf("%d taps after resume, %d uninterrupted", len(ia.Entries), len(ib.Entries))
	}
	for _, e := range ib.Entries {
		x, _ := os.ReadFile(filepath.Join(cfg.Out, e.File))
		y, _ := os.ReadFile(filepath.Join(whole.Out, e.File))
		if len(y) == 0 || string(x) != string(y) {
			t.Fatalf("tap %s differs after resume", e.File)
		}
	}
}

// TestSecondWriterRefused: a run directory has one writer at a time.
func TestSecondWriterRefused(t *testing.T) {
	dir := t.TempDir()
	l, err := lockRunDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lockRunDir(dir); err == nil || !strings.Contains(err.Error(), "in use by process") {
		t.Fatalf("second lock: %v", err)
	}
	l.release()
	l2, err := lockRunDir(dir)
	if err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	l2.release()
}

// TestDeadHoldersLockIsTakenOver: a lock file left by a killed process
// does not block the next run.
func TestDeadHoldersLockIsTakenOver(t *testing.T) {
	dir := t.TempDir()
	// a process that takes the lock and is killed holding it
	cmd := exec.Command("sh", "-c", "exec 9>"+filepath.Join(dir, lockFile)+"; flock 9; echo $$ >&9; exec sleep 30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// the shell writes its PID once it holds the lock
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if b, _ := os.ReadFile(filepath.Join(dir, lockFile)); len(b) > 0 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("the holder never took the lock")
		}
	}
	if _, err := lockRunDir(dir); err == nil {
		t.Fatal("a live holder's lock was taken")
	}
	cmd.Process.Kill()
	cmd.Wait()
	l, err := lockRunDir(dir)
	if err != nil {
		t.Fatalf("lock left by a dead process was not taken over: %v", err)
	}
	l.release()
}

// TestResumeNamesDifferingFlags: --resume with other flags is refused with
// each differing field and both of its values.
func TestResumeNamesDifferingFlags(t *testing.T) {
	cfg := smallConfig(t, graph.NormBatch)
	cfg.Epochs, cfg.TrainLimit = 1, 500
	if _, err := Run(context.Background(), cfg, Options{}); err != nil {
		t.Fatal(err)
	}
	cfg.Resume = true
	cfg.Seed, cfg.Spec.Norm, cfg.Opt.LR = 6, graph.NormLayer, 1e-3
	_, err := Run(context.Background(), cfg, Options{})
	for _, want := range []string{"--norm: batch in the run, layer now", "optimizer.lr: 0.002 in the run, 0.001 now", "--seed: 5 in the run, 6 now"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("resume with other flags: %v; want it to say %q", err, want)
		}
	}
}

// TestKillLoop (#15 class 3): a training process SIGKILLed at random
// moments — before its first checkpoint, mid-epoch, in the middle of a
// write — and started again each time (with --resume once it has a
// config), ends with no temporary file left and with the metrics (but for
// their timing columns), tap index and taps of an uninterrupted run, byte
// for byte. The seed of the kill moments is logged.
func TestKillLoop(t *testing.T) {
	cfg := quickConfig(t) // 2 epochs of 20 steps, a step tap every 7
	cfg.CheckpointEverySteps = 5
	whole := cfg
	whole.Out = filepath.Join(t.TempDir(), "whole")
	if _, err := Run(context.Background(), whole, Options{}); err != nil {
		t.Fatal(err)
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("kill moments from seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	started := func() bool {
		_, err := os.Stat(filepath.Join(cfg.Out, rundir.ConfigFile))
		return err == nil
	}
	finished := false
	for kill := 0; kill < 4 && !finished; kill++ {
		c := cfg
		c.Resume = started()
		js, _ := json.Marshal(c)
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "NORMTAP_TRAIN_CHILD="+string(js))
		if c.Resume {
			cmd.Env = append(cmd.Env, "NORMTAP_TRAIN_CHILD_RESUME=1")
		}
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// a step to kill after (0: as soon as it starts), then 0-3 ms more
		target := rng.IntN(2*20 + 1)
		killed := false
		if target == 0 {
			time.Sleep(time.Duration(rng.IntN(300)) * time.Millisecond)
			cmd.Process.Kill()
			killed = true
		}
		sc := bufio.NewScanner(out)
		for !killed && sc.Scan() {
			if n, err := strconv.Atoi(strings.TrimPrefix(sc.Text(), "step ")); err == nil && n >= target {
				time.Sleep(time.Duration(rng.IntN(3000)) * time.Microsecond)
				cmd.Process.Kill()
				killed = true
			}
		}
		io.Copy(io.Discard, out)
		err = cmd.Wait()
		if err == nil {
			finished = true
		} else if !strings.Contains(err.Error(), "killed") {
			t.Fatalf("child %d (resume %v) failed: %v: %s", kill, c.Resume, err, stderr.String())
		}
		t.Logf("child %d: resume %v, kill after step %d: %v", kill, c.Resume, target, err)
	}
	cfg.Resume = started()
	if _, err := Run(context.Background(), cfg, Options{}); err != nil {
		t.Fatalf("the last start (resume %v): %v", cfg.Resume, err)
	}
	if left := tempFiles(t, cfg.Out); len(left) > 0 {
		t.Errorf("temporary files survived: %v", left)
	}
	sameResults(t, cfg.Out, whole.Out)
}
