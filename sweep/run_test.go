package sweep

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"normtap/rundir"
)

// The test binary doubles as a fake `normtap train` (the sweep's child)
// when fakeEnv is set: it writes a run directory the way train does
// (config.json, a metrics row and a checkpoint per epoch), with metrics
// that depend only on the seed and the epoch, so that results can be
// compared across interrupted and uninterrupted sweeps. It logs each
// start to fakeLogEnv's file, dies by SIGKILL after the epoch in
// fakeDieEnv ("DIR:EPOCH"), and on SIGINT saves and exits 130 as train does.
const (
	fakeEnv    = "SWEEP_TEST_FAKE_TRAIN"
	fakeLogEnv = "SWEEP_TEST_FAKE_LOG"
	fakeDieEnv = "SWEEP_TEST_FAKE_DIE"
	fakeGate   = "SWEEP_TEST_FAKE_GATE" // a file each epoch waits for, when set
)

func TestMain(m *testing.M) {
	if os.Getenv(fakeEnv) != "" {
		os.Exit(fakeTrain(os.Args[1:]))
	}
	os.Exit(m.Run())
}

func fakeTrain(args []string) int {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt)
	if len(args) == 0 || args[0] != "train" {
		fmt.Fprintln(os.Stderr, "fake: want train")
		return 2
	}
	var out string
	epochs, seed, resume := 1, 1, false
	for i := 1; i < len(args); i++ {
		name, value, ok := strings.Cut(strings.TrimPrefix(args[i], "--"), "=")
		if name == "resume" {
			resume = true
			continue
		}
		if !ok {
			i++
			value = args[i]
		}
		switch name {
		case "out":
			out = value
		case "epochs":
			epochs, _ = strconv.Atoi(value)
		case "seed":
			seed, _ = strconv.Atoi(value)
		}
	}
	if f, err := os.OpenFile(os.Getenv(fakeLogEnv), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644); err == nil {
		fmt.Fprintf(f, "%s resume=%v\n", filepath.Base(out), resume)
		f.Close()
	}
	var rows []rundir.Metrics
	if resume {
		var err error
		if rows, err = rundir.ReadMetrics(out); err != nil {
			fmt.Fprintln(os.Stderr, "normtap: fake resume:", err)
			return 1
		}
	} else {
		if _, err := os.Stat(filepath.Join(out, rundir.ConfigFile)); err == nil {
			fmt.Fprintf(os.Stderr, "normtap: --out %s already holds a run\n", out)
			return 1
		}
		rundir.WriteConfig(out, &rundir.RunConfig{Device: strings.Join(args, " ")})
		rundir.WriteMetrics(out, nil)
	}
	os.MkdirAll(filepath.Join(out, rundir.CheckpointDir), 0o755)
	for e := len(rows) + 1; e <= epochs; e++ {
		select {
		case <-sig:
			fmt.Fprintln(os.Stderr, "normtap: interrupted; checkpoint written")
			return 130
		case <-time.After(20 * time.Millisecond):
		}
		if gate := os.Getenv(fakeGate); gate != "" {
			for {
				if _, err := os.Stat(gate); err == nil {
					break
				}
				select {
				case <-sig:
					return 130
				case <-time.After(5 * time.Millisecond):
				}
			}
		}
		rows = append(rows, rundir.Metrics{Epoch: e, Step: 10 * e, TestAcc: 0.5 + 0.01*float64(seed) + 0.1*float64(e), TestLoss: 1 / float64(e+seed)})
		rundir.WriteMetrics(out, rows)
		rundir.AtomicWriteFile(filepath.Join(out, rundir.CheckpointFile), []byte(strconv.Itoa(e)), 0o644)
		if os.Getenv(fakeDieEnv) == fmt.Sprintf("%s:%d", filepath.Base(out), e) {
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
		}
	}
	fmt.Println("fake: finished")
	return 0
}

// fakeSweep plans a 2×2 sweep of 3 epochs under root.
func fakeSweep(t *testing.T, root string) *Plan {
	t.Helper()
	p, err := NewPlan(Spec{Root: root, Flags: testFlags, Fixed: []string{"--epochs", "3"},
		Axes:  mustVary(t, "norm=none|batch", "seed=1|2"),
		Check: func([]string) (Length, error) { return Length{Epochs: 3}, nil }})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func fakeOptions(t *testing.T) Options {
	t.Setenv(fakeEnv, "1")
	return Options{Program: []string{os.Args[0]}, Jobs: 2, Cores: 2, PollEvery: 10 * time.Millisecond}
}

// starts reads the fake's log of starts, then empties it.
func starts(t *testing.T, path string) []string {
	t.Helper()
	data, _ := os.ReadFile(path)
	os.Remove(path)
	lines := strings.Fields(strings.ReplaceAll(string(data), " resume=", ":resume="))
	slices.Sort(lines)
	return lines
}

// results is every run's metrics.csv, by directory.
func results(t *testing.T, p *Plan) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, r := range p.Runs {
		data, err := os.ReadFile(filepath.Join(p.Root, r.Dir, rundir.MetricsFile))
		if err != nil {
			t.Fatal(err)
		}
		out[r.Dir] = string(data)
	}
	return out
}

// TestKilledChildResumes: a child killed midway fails its run and leaves
// the others finished; the same sweep again starts only that run, with
// --resume, and ends with the results of a sweep never interrupted.
func TestKilledChildResumes(t *testing.T) {
	o := fakeOptions(t)
	clean := fakeSweep(t, filepath.Join(t.TempDir(), "clean"))
	logPath := filepath.Join(t.TempDir(), "starts")
	t.Setenv(fakeLogEnv, logPath)
	if _, err := Execute(context.Background(), clean, o); err != nil {
		t.Fatal(err)
	}
	starts(t, logPath)

	p := fakeSweep(t, filepath.Join(t.TempDir(), "killed"))
	t.Setenv(fakeDieEnv, "norm=batch,seed=1:2")
	sum, err := Execute(context.Background(), p, o)
	if !errors.Is(err, ErrRunsFailed) || sum.Count(StateFailed) != 1 || sum.Count(StateDone) != 3 {
		t.Fatalf("first sweep: %v; outcomes %+v; want one run failed, three done", err, sum.Outcomes)
	}
	if got := sum.Outcomes[2]; got.Run.Dir != "norm=batch,seed=1" || got.State != StateFailed {
		t.Fatalf("outcome 2 is %s %s, want norm=batch,seed=1 failed", got.Run.Dir, got.State)
	}
	starts(t, logPath)
	t.Setenv(fakeDieEnv, "")
	sum, err = Execute(context.Background(), p, o)
	if err != nil {
		t.Fatal(err)
	}
	if got := starts(t, logPath); !slices.Equal(got, []string{"norm=batch,seed=1:resume=true"}) {
		t.Fatalf("second sweep started %v, want only norm=batch,seed=1 with --resume", got)
	}
	if sum.Count(StateSkipped) != 3 || sum.Count(StateDone) != 1 {
		t.Fatalf("second sweep: %+v", sum.Outcomes)
	}
	want, got := results(t, clean), results(t, p)
	for dir := range want {
		if got[dir] != want[dir] {
			t.Errorf("%s: metrics after the kill and re-run\n%s\nwant (uninterrupted)\n%s", dir, got[dir], want[dir])
		}
	}
	// a third time: nothing to do
	if sum, err = Execute(context.Background(), p, o); err != nil || sum.Count(StateSkipped) != 4 || len(starts(t, logPath)) != 0 {
		t.Fatalf("third sweep: %v, %+v", err, sum)
	}
}

// TestInterruptStopsChildren: cancelling the sweep sends each running
// child one SIGINT and waits for it; nothing else starts; the same sweep
// again resumes the interrupted runs and starts the rest.
func TestInterruptStopsChildren(t *testing.T) {
	o := fakeOptions(t)
	gate := filepath.Join(t.TempDir(), "gate")
	t.Setenv(fakeGate, gate)
	logPath := filepath.Join(t.TempDir(), "starts")
	t.Setenv(fakeLogEnv, logPath)
	p := fakeSweep(t, filepath.Join(t.TempDir(), "int"))
	ctx, cancel := context.WithCancel(context.Background())
	go func() { // cancel once both children of -j 2 are waiting at the gate
		for {
			if data, _ := os.ReadFile(logPath); strings.Count(string(data), "\n") == 2 {
				time.Sleep(50 * time.Millisecond)
				cancel()
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	sum, err := Execute(ctx, p, o)
	if !errors.Is(err, ErrInterrupted) {
		t.Fatalf("err %v, want ErrInterrupted", err)
	}
	if sum.Count(StateInterrupted) != 2 || sum.Count(StatePending) != 2 {
		t.Fatalf("outcomes %+v, want 2 interrupted, 2 pending", sum.Outcomes)
	}
	if got := starts(t, logPath); len(got) != 2 {
		t.Fatalf("started %v, want the first two only", got)
	}
	os.WriteFile(gate, nil, 0o644)
	if _, err := Execute(context.Background(), p, o); err != nil {
		t.Fatal(err)
	}
	// the interrupted pair never wrote a checkpoint: started afresh
	want := []string{"norm=batch,seed=1:resume=false", "norm=batch,seed=2:resume=false", "norm=none,seed=1:resume=false", "norm=none,seed=2:resume=false"}
	if got := starts(t, logPath); !slices.Equal(got, want) {
		t.Fatalf("second sweep started %v, want %v", got, want)
	}
	for dir, m := range results(t, p) {
		if strings.Count(m, "\n") != 4 {
			t.Errorf("%s: metrics\n%s\nwant 3 rows", dir, m)
		}
	}
}

// TestOtherSweepRefused: a root holding a sweep with other fixed or varied
// flags is refused; one with more values of the same flags is extended.
func TestOtherSweepRefused(t *testing.T) {
	root := t.TempDir()
	p := fakeSweep(t, root)
	if err := p.WriteIndex(); err != nil {
		t.Fatal(err)
	}
	other, _ := NewPlan(Spec{Root: root, Flags: testFlags, Fixed: []string{"--epochs", "4"}, Axes: mustVary(t, "norm=none|batch", "seed=1|2")})
	if err := other.WriteIndex(); !errors.Is(err, ErrOtherSweep) {
		t.Fatalf("other fixed flags: %v, want ErrOtherSweep", err)
	}
	other, _ = NewPlan(Spec{Root: root, Flags: testFlags, Fixed: []string{"--epochs", "3"}, Axes: mustVary(t, "seed=1|2", "norm=none|batch")})
	if err := other.WriteIndex(); !errors.Is(err, ErrOtherSweep) {
		t.Fatalf("other axis order: %v, want ErrOtherSweep", err)
	}
	more, _ := NewPlan(Spec{Root: root, Flags: testFlags, Fixed: []string{"--epochs", "3"}, Axes: mustVary(t, "norm=layer", "seed=1|3")})
	if err := more.WriteIndex(); err != nil {
		t.Fatal(err)
	}
	ix, err := rundir.ReadSweepIndex(root)
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, r := range ix.Runs {
		dirs = append(dirs, r.Dir)
	}
	want := []string{"norm=none,seed=1", "norm=none,seed=2", "norm=batch,seed=1", "norm=batch,seed=2", "norm=layer,seed=1", "norm=layer,seed=3"}
	if !slices.Equal(dirs, want) || !slices.Equal(ix.Vary[0].Values, []string{"none", "batch", "layer"}) || !slices.Equal(ix.Vary[1].Values, []string{"1", "2", "3"}) {
		t.Fatalf("merged index: dirs %v, vary %+v", dirs, ix.Vary)
	}
	if got := ix.Runs[4]; got.Values["norm"] != "layer" || got.Values["seed"] != "1" || strings.Join(got.Flags, " ") != "--epochs 3 --norm=layer --seed=1" {
		t.Fatalf("entry %+v", got)
	}
}
