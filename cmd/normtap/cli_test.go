package main

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

var binPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "normtap-cli")
	if err != nil {
		panic(err)
	}
	binPath = filepath.Join(dir, "normtap")
	build := exec.Command("go", "build", "-tags", testBuildTags, "-o", binPath, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		panic("build normtap: " + err.Error())
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// normtap runs the binary and returns its exit code, stdout and stderr.
func normtap(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(binPath, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, out.String(), errb.String()
}

// writeBadIDX makes a dataset directory whose training images have the
// labels' magic number.
func writeBadIDX(t *testing.T) string {
	dir := t.TempDir()
	for _, name := range []string{"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"} {
		os.WriteFile(filepath.Join(dir, name), []byte{0, 0, 8, 1, 0, 0, 0, 1, 3}, 0o644)
	}
	return dir
}

// writeOneClassIDX makes a valid IDX dataset of 2x2 images whose labels are
// all 3.
func writeOneClassIDX(t *testing.T) string {
	dir := t.TempDir()
	idx := func(magic byte, dims []int, data []byte) []byte {
		b := []byte{0, 0, 8, magic}
		for _, d := range dims {
			b = append(b, byte(d>>24), byte(d>>16), byte(d>>8), byte(d))
		}
		return append(b, data...)
	}
	os.WriteFile(filepath.Join(dir, "train-images-idx3-ubyte"), idx(3, []int{4, 2, 2}, make([]byte, 16)), 0o644)
	os.WriteFile(filepath.Join(dir, "train-labels-idx1-ubyte"), idx(1, []int{4}, []byte{3, 3, 3, 3}), 0o644)
	os.WriteFile(filepath.Join(dir, "t10k-images-idx3-ubyte"), idx(3, []int{2, 2, 2}, make([]byte, 8)), 0o644)
	os.WriteFile(filepath.Join(dir, "t10k-labels-idx1-ubyte"), idx(1, []int{2}, []byte{3, 3}), 0o644)
	return dir
}

// copyRun copies run's config.json and metrics.csv into a new folder.
func copyRun(t *testing.T, run string) string {
	dir := t.TempDir()
	for _, f := range []string{"config.json", "metrics.csv"} {
		data, err := os.ReadFile(filepath.Join(run, f))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, f), data, 0o644)
	}
	return dir
}

// writeHugeTap gives run one tap of 2 examples whose npy header claims
// (100000000000, 64).
func writeHugeTap(t *testing.T, run string) {
	os.MkdirAll(filepath.Join(run, "taps", "h1.act"), 0o755)
	os.WriteFile(filepath.Join(run, "taps", "index.json"), []byte(`{"entries": [{"node": "h1.act", "kind": "epoch", "epoch": 1, "step": 4,
		"file": "taps/h1.act/epoch-0001.npy", "mode": "probe", "examples": 2, "neurons": [0]}]}`), 0o644)
	dict := "{'descr': '<f4', 'fortran_order': False, 'shape': (100000000000, 64), }"
	for (10+len(dict)+1)%16 != 0 {
		dict += " "
	}
	dict += "\n"
	npy := append([]byte("\x93NUMPY\x01\x00"), byte(len(dict)), 0)
	npy = append(append(npy, dict...), make([]byte, 8)...)
	os.WriteFile(filepath.Join(run, "taps", "h1.act", "epoch-0001.npy"), npy, 0o644)
}

// TestFailureModes: each bad input gives its exit code and one line that
// says what is wrong; no panic trace ever.
func TestFailureModes(t *testing.T) {
	tiny := []string{"--hidden", "16", "--epochs", "1", "--train-limit", "500", "--quiet", "--device", "cpu"}
	busy := t.TempDir()
	if code, _, errs := normtap(t, append([]string{"train", "--out", busy}, tiny...)...); code != 0 {
		t.Fatalf("setup run failed: %s", errs)
	}
	nanRun := copyRun(t, busy)
	os.WriteFile(filepath.Join(nanRun, "metrics.csv"), []byte("epoch,step,train_loss,train_acc,test_loss,test_acc,wall_s,examples_per_s\n1,4,0.5,0.9,0.4,NaN,1,100\n"), 0o644)
	hugeTap := copyRun(t, busy)
	writeHugeTap(t, hugeTap)
	notFigure := filepath.Join(t.TempDir(), "notes.png")
	os.WriteFile(notFigure, []byte("my notes"), 0o644)
	// a copy of busy whose checkpoint has a flipped bit; one holding the
	// checkpoint of busy, a run with --seed 1, under a run with --seed 2
	flipped, foreign := copyRunWithCheckpoint(t, busy), filepath.Join(t.TempDir(), "seed2")
	ck := filepath.Join(flipped, "checkpoint", "state.bin")
	raw, _ := os.ReadFile(ck)
	raw[len(raw)/3] ^= 4
	os.WriteFile(ck, raw, 0o644)
	if code, _, errs := normtap(t, append([]string{"train", "--out", foreign, "--seed", "2", "--epochs", "2"}, tiny...)...); code != 0 {
		t.Fatalf("setup run failed: %s", errs)
	}
	good, _ := os.ReadFile(filepath.Join(busy, "checkpoint", "state.bin"))
	os.WriteFile(filepath.Join(foreign, "checkpoint", "state.bin"), good, 0o644)
	notRun, linked := t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(notRun, "notes.txt"), []byte("mine"), 0o644)
	os.Symlink(filepath.Join(notRun, "notes.txt"), filepath.Join(linked, "run.lock"))
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unknown command", []string{"fly"}, 2, "unexpected argument fly"},
		{"malformed list", []string{"train", "--hidden", "32,x"}, 2, `"x" is not an integer`},
		{"unknown norm", []string{"train", "--norm", "weight"}, 2, `--norm: unknown norm "weight"`},
		{"unknown device", []string{"train", "--device", "tpu"}, 2, "--device"},
		{"zero batch", []string{"train", "--batch", "0"}, 2, "--batch 0"},
		{"negative lr", []string{"train", "--lr=-1"}, 2, "--lr -1"},
		{"negative lr unquoted", []string{"train", "--lr", "-1"}, 2, "--lr"},
		{"bad tap neuron list", []string{"train", "--tap-neuron", "1,two"}, 2, "--tap-neuron"},
		{"bad tap epochs", []string{"train", "--tap-epochs", "0"}, 2, "epochs count from 1"},
		{"groups not dividing", []string{"nodes", "--norm", "group", "--hidden", "100,64", "--groups", "3"}, 2, "--groups 3 does not divide the 100 units of hidden layer 1"},
		{"zero groups", []string{"bench", "--norm", "group", "--groups", "0"}, 2, "--groups 0"},
		{"cnn width count", []string{"nodes", "--model", "cnn", "--hidden", "8,8,8,8,8,8,8"}, 2, "1 to 6 conv channel counts"},
		{"missing data", append([]string{"train", "--data", "/nonexistent/mnist"}, tiny...), 1, "/nonexistent/mnist"},
		{"bad magic", append([]string{"train", "--data", writeBadIDX(t)}, tiny...), 1, "magic"},
		{"unknown tap", append([]string{"train", "--tap", "h9.act", "--out", t.TempDir()}, tiny...), 1, "h1.linear, h1.norm"},
		{"tap neuron out of range", append([]string{"train", "--tap", "h1.act", "--tap-neuron", "16", "--out", t.TempDir()}, tiny...), 1, "neurons 0..15"},
		{"busy out dir", append([]string{"train", "--out", busy}, tiny...), 1, "--resume"},
		{"unwritable out", append([]string{"train", "--out", "/proc/normtap-run"}, tiny...), 1, "/proc/normtap-run"},
		{"cuda without gpu build", append([]string{"train", "--out", t.TempDir()}, append(tiny[:len(tiny)-2:len(tiny)-2], "--device", "cuda")...), 1, "make gpu"},
		{"divergence", append([]string{"train", "--lr", "1e30", "--opt", "sgd", "--out", t.TempDir()}, tiny...), 1, "diverged"},
		{"train-limit too large", append([]string{"train", "--out", t.TempDir()}, append(tiny, "--train-limit", "70000")...), 1, "70000"},
		{"resume without run", append([]string{"train", "--resume", "--out", t.TempDir()}, tiny...), 1, "resume"},
		{"plot missing run", []string{"plot", "--kind", "curves", "/nonexistent/run", "--out", filepath.Join(t.TempDir(), "c.png")}, 1, "/nonexistent/run"},
		{"plot unsupported extension", []string{"plot", "--kind", "curves", busy, "--out", "fig.jpg"}, 2, ".png"},
		{"plot unknown kind", []string{"plot", "--kind", "pie", busy, "--out", "fig.png"}, 2, "--kind"},
		{"plot run without taps", []string{"plot", "--kind", "density", busy, "--out", filepath.Join(t.TempDir(), "d.png")}, 1, busy},
		{"repro too few steps", []string{"repro", "bn-paper", "--out", t.TempDir(), "--steps", "5"}, 2, "--steps 5"},
		// #15 class 1: a non-finite value that reaches a figure is refused with file, line and column
		{"plot NaN test_acc", []string{"plot", "--kind", "curves", nanRun, "--out", filepath.Join(t.TempDir(), "c.png")}, 1, "metrics.csv:2: column test_acc: NaN is outside [0, 1]"},
		// class 2: a hanging peer has a limit, and says so
		{"bench peer timeout", []string{"bench", "--peer", "sh -c 'sleep 30'", "--peer-timeout", "1s", "--hidden", "16", "--steps", "1", "--warmup", "0", "--rounds", "1", "--no-micro", "--no-tap", "--quiet", "--device", "cpu", "--norm", "none"}, 1, "peer sh -c sleep 30 did not finish within 1s (--peer-timeout)"},
		// class 5: sizes from a header or a flag are bounded
		{"plot npy header beyond the file", []string{"plot", "--kind", "density", hugeTap, "--out", filepath.Join(t.TempDir(), "d.png")}, 1, "shape (100000000000, 64), but the index says (2, 1)"},
		{"bench threads", []string{"bench", "--threads", "100000"}, 2, "--threads 100000: must be between 0 (every CPU) and 1024"},
		{"nodes model too large", []string{"nodes", "--hidden", "65536,65536"}, 2, "--hidden 65536,65536 with --batch 128 needs about 65 GB for the model and its activations; at most 8 GB"},
		{"bench model too large", []string{"bench", "--hidden", "65536,65536", "--device", "cpu"}, 2, "at most 8 GB"},
		{"bench batch", []string{"bench", "--batch", "10000000"}, 2, "--batch 10000000: must be between 1 and 65536"},
		// class 6: never replace what normtap did not write; outputs checked before the work
		{"plot drift table over metrics.csv", []string{"plot", "--kind", "drift", busy, "--out", filepath.Join(busy, "metrics.png")}, 1, "metrics.csv is run " + busy + "'s own file"},
		{"plot over a non-figure", []string{"plot", "--kind", "curves", busy, "--out", notFigure}, 1, "is not a .png figure"},
		{"bench json in a missing folder", []string{"bench", "--json", "/nonexistent/dir/b.json", "--device", "cpu"}, 1, "--json /nonexistent/dir/b.json: cannot write in /nonexistent/dir"},
		{"bench json over another file", []string{"bench", "--json", notFigure, "--device", "cpu"}, 1, "is not a report normtap bench wrote"},
		{"bench plot over another file", []string{"bench", "--plot", notFigure, "--device", "cpu"}, 1, "is not a .png figure"},
		{"bench json over a run file", []string{"bench", "--json", filepath.Join(busy, "metrics.csv"), "--device", "cpu"}, 2, "own file"},
		// class 7: nothing silently wrong
		{"plot width without unit", []string{"plot", "--kind", "curves", busy, "--width", "10", "--out", "f.png"}, 2, "with a unit"},
		{"plot --neuron all for density", []string{"plot", "--kind", "density", "--neuron", "all", busy, "--out", "d.png"}, 2, "--neuron all summarises neurons in --kind drift or percentiles"},
		{"plot --neuron not a number", []string{"plot", "--kind", "drift", "--neuron", "x", busy, "--out", "d.png"}, 2, "--neuron x: want a column index ≥ 0 or all"},
		{"plot same run twice", []string{"plot", "--kind", "curves", busy, busy + "/", "--out", filepath.Join(t.TempDir(), "c.png")}, 1, "is given twice"},
		{"dataset of one class", []string{"train", "--data", writeOneClassIDX(t), "--hidden", "4", "--epochs", "1", "--quiet", "--device", "cpu", "--out", t.TempDir()}, 1, "every label is 3: a classifier needs examples of at least two classes"},
		// train: #15 class 3: a missing folder is not a run to resume, and is not made
		{"resume missing folder", append([]string{"train", "--resume", "--out", filepath.Join(t.TempDir(), "none")}, tiny...), 1, "does not exist: there is no run to continue"},
		// class 4: a checkpoint is verified
		{"resume flipped bit", append([]string{"train", "--resume", "--out", flipped}, tiny...), 1, "its checksum does not match its contents"},
		{"resume another run's checkpoint", append([]string{"train", "--resume", "--out", foreign, "--seed", "2"}, tiny...), 1, "belongs to another run (--seed: 1 in the checkpoint, 2 now)"},
		{"resume with other flags", append([]string{"train", "--resume", "--out", busy, "--act", "tanh"}, tiny...), 1, "--act: relu in the run, tanh now"},
		// class 5: no NaN in a float flag, every size bounded with its limit said
		{"NaN momentum", []string{"train", "--momentum", "NaN", "--out", t.TempDir()}, 2, "--momentum: NaN: want a finite number"},
		{"infinite bn-momentum", []string{"train", "--bn-momentum", "inf"}, 2, "--bn-momentum: inf: want a finite number"},
		{"NaN landscape range", []string{"train", "--landscape-range", "nan,1"}, 2, `"nan" is not a finite number`},
		{"epochs beyond the limit", []string{"train", "--epochs", "2000000"}, 2, "--epochs 2000000: must be between 1 and 1000000"},
		{"tap every steps beyond the limit", []string{"train", "--tap-every-steps", "9999999999"}, 2, "--tap-every-steps 9999999999: must be between 0 and 1000000000"},
		{"train threads", []string{"train", "--threads", "100000"}, 2, "--threads 100000: must be between 0 and 1024"},
		// class 6: train writes only into a new, empty or run folder
		{"out empty string", []string{"train", "--out", ""}, 2, `--out "": give a directory`},
		{"out a folder of other files", append([]string{"train", "--out", notRun}, tiny...), 1, "is not empty and not a normtap run (it holds notes.txt)"},
		{"run.lock a symlink", append([]string{"train", "--out", linked}, tiny...), 1, "run.lock is a symbolic link"},
		// class 7: a repeated tap id is an error
		{"duplicate tap neuron", append([]string{"train", "--tap", "h1.act", "--tap-neuron", "3,3", "--out", t.TempDir()}, tiny...), 2, "--tap-neuron: 3 is given twice"},
		// class 9: the peer command is split as a shell user expects
		{"bench peer unbalanced quote", []string{"bench", "--peer", "python3 'bench/peer/peer.py"}, 2, "check its quotes"},
		{"bench peer pipe", []string{"bench", "--peer", "python3 peer.py | tee log"}, 2, "shell operator"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, errs := normtap(t, c.args...)
			if code != c.code {
				t.Errorf("exit %d, want %d; stderr: %s", code, c.code, errs)
			}
			if !strings.Contains(errs, c.want) {
				t.Errorf("stderr %q does not say %q", errs, c.want)
			}
			if strings.Contains(errs, "goroutine ") || strings.Contains(errs, "panic") {
				t.Errorf("a panic reached the user: %s", errs)
			}
			if lines := strings.Count(strings.TrimSpace(errs), "\n") + 1; lines != 1 {
				t.Errorf("%d lines on stderr, want 1:\n%s", lines, errs)
			}
		})
	}
}

// TestOneSignalStopsAtOnce: plot, nodes and bench hold nothing a finished
// step would save, so one SIGINT ends them (here bench, while its peer
// hangs) with 130 and one line, not "finishing the current step".
func TestOneSignalStopsAtOnce(t *testing.T) {
	cmd := exec.Command(binPath, "bench", "--peer", "sh -c 'sleep 60'", "--hidden", "16", "--steps", "1", "--warmup", "0", "--rounds", "1",
		"--no-micro", "--no-tap", "--device", "cpu", "--norm", "none")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	defer close(done)
	go func() { // a hang fails the test instead of stalling it
		select {
		case <-done:
		case <-time.After(60 * time.Second):
			cmd.Process.Kill()
		}
	}()
	var log bytes.Buffer
	buf := make([]byte, 4096)
	for !strings.Contains(log.String(), "peer sh -c sleep 60") {
		n, err := stderr.Read(buf)
		log.Write(buf[:n])
		if err != nil {
			t.Fatalf("bench never reached its peer: %s", log.String())
		}
	}
	cmd.Process.Signal(syscall.SIGINT)
	rest, _ := io.ReadAll(stderr)
	log.Write(rest)
	err = cmd.Wait()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 130 {
		t.Fatalf("exit %v after one SIGINT, want 130; stderr: %s", err, log.String())
	}
	if strings.Contains(log.String(), "finishing the current step") || !strings.Contains(log.String(), "interrupted") {
		t.Errorf("stderr does not say bench was interrupted at once: %s", log.String())
	}
}

// copyRunWithCheckpoint copies a run directory's config, metrics and
// checkpoint.
func copyRunWithCheckpoint(t *testing.T, dir string) string {
	t.Helper()
	out := copyRun(t, dir)
	b, err := os.ReadFile(filepath.Join(dir, "checkpoint", "state.bin"))
	if err != nil {
		t.Fatal(err)
	}
	os.Mkdir(filepath.Join(out, "checkpoint"), 0o755)
	os.WriteFile(filepath.Join(out, "checkpoint", "state.bin"), b, 0o644)
	return out
}

// TestTrainWarns (#15 classes 7, 8): flags that do nothing here, taps
// beyond the run or the test set, and taps that cost much each get a
// warning line; the run goes on.
func TestTrainWarns(t *testing.T) {
	code, _, errs := normtap(t, "train", "--hidden", "16", "--epochs", "1", "--train-limit", "500", "--quiet", "--device", "cpu",
		"--out", filepath.Join(t.TempDir(), "run"), "--momentum", "0.5", "--tap-mode", "probe", "--bn-momentum", "0.2", "--norm", "layer")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{
		"normtap: warning: --tap-mode has no effect without --tap",
		"normtap: warning: --momentum has no effect with --opt adam (only with --opt momentum)",
		"normtap: warning: --bn-momentum has no effect with --norm layer (only with --norm batch)",
	} {
		if !strings.Contains(errs, want+"\n") {
			t.Errorf("stderr does not say %q:\n%s", want, errs)
		}
	}
	code, _, errs = normtap(t, "train", "--hidden", "16", "--epochs", "1", "--train-limit", "500", "--quiet", "--device", "cpu",
		"--out", filepath.Join(t.TempDir(), "run"), "--tap", "h1.linear", "--tap-neuron", "all", "--tap-every-steps", "1",
		"--tap-epochs", "1,5", "--tap-examples", "20000")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{
		"normtap: warning: --tap-epochs 5: beyond --epochs 1, never tapped",
		"normtap: warning: --tap-examples 20000: the test set has 10000 examples; the probe set is all 10000 of them",
		"normtap: warning: the taps will write about",
		"as long as without them (4 taps of 10000 examples x 16 columns, 640 kB each; an estimate)",
	} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr does not say %q:\n%s", want, errs)
		}
	}
}

// TestInterruptSavesAndResumes: SIGINT finishes the step, checkpoints,
// exits 130; --resume continues to the end.
func TestInterruptSavesAndResumes(t *testing.T) {
	out := filepath.Join(t.TempDir(), "run")
	// 600 steps, checkpointed every 50: the signal goes out as soon as the
	// first checkpoint shows that training is under way, well before its end
	args := []string{"train", "--hidden", "1024,1024", "--epochs", "1", "--batch", "32", "--max-steps", "600",
		"--checkpoint-every-steps", "50", "--device", "cpu", "--quiet", "--out", out}
	cmd := exec.Command(binPath, args...)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(out, "checkpoint", "state.bin")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("training never started")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 130 {
		t.Fatalf("exit %v after SIGINT, want 130; stderr: %s", err, errb.String())
	}
	if !strings.Contains(errb.String(), "--resume") {
		t.Errorf("stderr does not say how to resume: %s", errb.String())
	}
	if _, err := os.Stat(filepath.Join(out, "checkpoint", "state.bin")); err != nil {
		t.Fatalf("no checkpoint after SIGINT: %v", err)
	}
	code, stdout, errs := normtap(t, append(args, "--resume")...)
	if code != 0 {
		t.Fatalf("resume exited %d: %s", code, errs)
	}
	if !strings.Contains(stdout, "after epoch 1 (600 steps)") {
		t.Fatalf("resume did not finish: %s", stdout)
	}
}

// TestSplitCommand: --peer splits as a shell would, without expanding.
func TestSplitCommand(t *testing.T) {
	for _, tc := range []struct {
		line string
		want []string
	}{
		{"python3 bench/peer/peer.py", []string{"python3", "bench/peer/peer.py"}},
		{`python3 "/opt/my peer/peer.py" --x 'a b'`, []string{"python3", "/opt/my peer/peer.py", "--x", "a b"}},
		{`sh -c 'cat "$HOME/x"'`, []string{"sh", "-c", `cat "$HOME/x"`}},
		{`python3 my\ peer.py`, []string{"python3", "my peer.py"}},
		{`env $HOME`, []string{"env", "$HOME"}},
	} {
		got, err := splitCommand(tc.line)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("splitCommand(%q) = %q, %v; want %q", tc.line, got, err, tc.want)
		}
	}
	for _, line := range []string{"", "  ", `python3 "peer.py`, "a; b", "a && b", "a > log"} {
		if got, err := splitCommand(line); err == nil {
			t.Errorf("splitCommand(%q) = %q, want an error", line, got)
		}
	}
}

// TestPlotWarnsOfIgnoredFlags: flags the chosen kind does not read give a
// warning line, the figure is still drawn, and drawing it again replaces
// plot's own figure.
func TestPlotWarnsOfIgnoredFlags(t *testing.T) {
	run := t.TempDir()
	if code, _, errs := normtap(t, "train", "--out", run, "--hidden", "16", "--epochs", "1", "--train-limit", "500", "--quiet", "--device", "cpu"); code != 0 {
		t.Fatalf("setup run failed: %s", errs)
	}
	out := filepath.Join(t.TempDir(), "c.png")
	for range 2 {
		code, _, errs := normtap(t, "plot", "--kind", "curves", "--node", "h1.act", "--bands", "tensorboard", run, "--out", out)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errs)
		}
		for _, want := range []string{"warning: --node picks taps; --kind curves draws no taps", "warning: --bands applies to --kind percentiles only"} {
			if !strings.Contains(errs, want) {
				t.Errorf("stderr %q does not say %q", errs, want)
			}
		}
	}
}
