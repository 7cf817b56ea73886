package train

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"normtap/dataset"
	"normtap/graph"
	"normtap/rundir"
)

func smallConfig(t *testing.T, norm graph.Norm) Config {
	t.Helper()
	if _, err := dataset.DefaultDir(); err != nil {
		t.Skipf("no bundled MNIST: %v", err)
	}
	s := graph.DefaultSpec()
	s.Norm, s.Hidden = norm, []int{64}
	// GroupNorm's default 32 groups would leave two of the 64 units in each
	// group, which normalizes every unit to ±1: 8 groups of 8.
	s.Groups = 8
	return Config{Spec: s, Opt: graph.OptSpec{Kind: graph.OptAdam, LR: 2e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8},
		Batch: 32, Epochs: 2, Seed: 5, TrainLimit: 3000, Device: "cpu", Out: filepath.Join(t.TempDir(), "run"),
		Taps: TapConfig{Nodes: []string{"h1.act"}, Neurons: []int{0, 3}, AllEpochs: true, Examples: 200, Mode: rundir.ModeProbe}}
}

// TestTrainsMNIST is the end-to-end check: a small MLP on 3000 real MNIST
// examples for two epochs reaches a real test accuracy with each norm.
func TestTrainsMNIST(t *testing.T) {
	for _, norm := range graph.Norms() {
		t.Run(norm.String(), func(t *testing.T) {
			cfg := smallConfig(t, norm)
			res, err := Run(context.Background(), cfg, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Metrics) != 2 {
				t.Fatalf("%d metrics rows", len(res.Metrics))
			}
			last := res.Metrics[1]
			t.Logf("%s: test acc %.4f loss %.4f", norm, last.TestAcc, last.TestLoss)
			if last.TestAcc < 0.88 {
				t.Errorf("test accuracy %.4f after 2 epochs on 3000 examples, want ≥ 0.88", last.TestAcc)
			}
			if last.Step != 2*(3000/32) {
				t.Errorf("step %d", last.Step)
			}
			rows, err := rundir.ReadMetrics(cfg.Out)
			if err != nil || len(rows) != 2 {
				t.Fatalf("metrics.csv: %v, %d rows", err, len(rows))
			}
			ix, err := rundir.ReadIndex(cfg.Out)
			if err != nil {
				t.Fatal(err)
			}
			if len(ix.Entries) != 2 {
				t.Fatalf("index holds %d taps, want 2", len(ix.Entries))
			}
			data, n, k, err := rundir.ReadTap(cfg.Out, ix.Entries[1])
			if err != nil || n != 200 || k != 2 || len(data) != 400 {
				t.Fatalf("tap: %v, %dx%d", err, n, k)
			}
		})
	}
}

// TestDeterministic: the same flags and seed give the same metrics (all
// but the two timing columns) and the same taps.
func TestDeterministic(t *testing.T) {
	var runs [2]Config
	for i := range runs {
		runs[i] = smallConfig(t, graph.NormBatch)
		runs[i].Epochs = 1
		if _, err := Run(context.Background(), runs[i], Options{}); err != nil {
			t.Fatal(err)
		}
	}
	a, _ := rundir.ReadMetrics(runs[0].Out)
	b, _ := rundir.ReadMetrics(runs[1].Out)
	for i := range a {
		a[i].WallS, a[i].ExamplesPerS, b[i].WallS, b[i].ExamplesPerS = 0, 0, 0, 0
		if a[i] != b[i] {
			t.Fatalf("metrics differ:\n%+v\n%+v", a[i], b[i])
		}
	}
	ta, _ := os.ReadFile(filepath.Join(runs[0].Out, rundir.EpochTapFile("h1.act", 1)))
	tb, _ := os.ReadFile(filepath.Join(runs[1].Out, rundir.EpochTapFile("h1.act", 1)))
	if len(ta) == 0 || string(ta) != string(tb) {
		t.Fatal("taps differ between identical runs")
	}
}

// TestUnknownTapListsNodes: an unknown node or neuron is an error listing
// what exists.
func TestUnknownTapListsNodes(t *testing.T) {
	cfg := smallConfig(t, graph.NormNone)
	cfg.Taps.Nodes = []string{"h7.act"}
	_, err := Run(context.Background(), cfg, Options{})
	if err == nil || !strings.Contains(err.Error(), "h1.linear") {
		t.Fatalf("error %v does not list the nodes", err)
	}
	cfg = smallConfig(t, graph.NormNone)
	cfg.Taps.Neurons = []int{64}
	_, err = Run(context.Background(), cfg, Options{})
	if err == nil || !strings.Contains(err.Error(), "0..63") {
		t.Fatalf("error %v does not give the neuron range", err)
	}
}

// TestBatchModeTaps: --tap-mode batch copies the training batch of the
// step, in training mode, at epoch ends and every N steps.
func TestBatchModeTaps(t *testing.T) {
	cfg := smallConfig(t, graph.NormBatch)
	cfg.Epochs = 1
	cfg.Taps.Mode, cfg.Taps.EverySteps = rundir.ModeBatch, 40
	if _, err := Run(context.Background(), cfg, Options{}); err != nil {
		t.Fatal(err)
	}
	ix, err := rundir.ReadIndex(cfg.Out)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, e := range ix.Entries {
		if e.Mode != rundir.ModeBatch || e.Examples != cfg.Batch {
			t.Fatalf("entry %+v: want mode batch with %d examples", e, cfg.Batch)
		}
		kinds = append(kinds, fmt.Sprintf("%s@%d", e.Kind, e.Step))
	}
	// 93 steps: step taps at 40 and 80, and the epoch's end
	want := "[epoch@93 step@40 step@80]"
	if got := fmt.Sprint(kinds); got != want {
		t.Fatalf("taps %s, want %s", got, want)
	}
	_, n, k, err := rundir.ReadTap(cfg.Out, ix.Entries[1])
	if err != nil || n != cfg.Batch || k != 2 {
		t.Fatalf("tap %v %dx%d", err, n, k)
	}
}
