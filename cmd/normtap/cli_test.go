package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
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
	build := exec.Command("go", "build", "-o", binPath, ".")
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

// TestFailureModes: each bad input gives its exit code and one line that
// says what is wrong; no panic trace ever.
func TestFailureModes(t *testing.T) {
	tiny := []string{"--hidden", "16", "--epochs", "1", "--train-limit", "500", "--quiet", "--device", "cpu"}
	busy := t.TempDir()
	if code, _, errs := normtap(t, append([]string{"train", "--out", busy}, tiny...)...); code != 0 {
		t.Fatalf("setup run failed: %s", errs)
	}
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
		{"cnn width count", []string{"nodes", "--model", "cnn", "--hidden", "8"}, 2, "two conv channel counts"},
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
