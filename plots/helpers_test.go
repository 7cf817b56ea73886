package plots

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"normtap/graph"
	"normtap/rundir"
)

// fakeRun describes a synthetic run directory.
type fakeRun struct {
	norm     string
	nodes    []string
	neurons  []int // tapped columns
	epochs   []int // epoch taps
	steps    []int // step taps (each falls in epoch step/100+1)
	examples int
	metrics  int // rows of metrics.csv
	// value returns example i of neuron at (epoch, step); nil: a drifting
	// distribution that depends on norm.
	value func(rng *rand.Rand, neuron, epoch, step, i int) float64
	// seed, when set, is config.json's --seed; it also changes the data
	seed uint64
	lr   float64 // when set, config.json's learning rate
}

// drifting mimics a hidden unit: without normalization its mean and spread
// grow over training, with it they stay put.
func drifting(norm string) func(rng *rand.Rand, neuron, epoch, step, i int) float64 {
	return func(rng *rand.Rand, neuron, epoch, step, i int) float64 {
		t := float64(epoch-1) + float64(step%100)/100
		switch norm {
		case "none":
			return 0.3 + 0.06*t + (0.4+0.04*t)*rng.NormFloat64() + 0.3*float64(neuron)
		case "layer":
			return 0.2 + 0.01*t + (0.8+0.005*t)*rng.NormFloat64()
		default:
			return 0.05*math.Sin(t) + rng.NormFloat64()
		}
	}
}

// fakeConfig is the config.json of an MLP run with the given norm.
func fakeConfig(t *testing.T, norm, act string, hidden ...int) *rundir.RunConfig {
	t.Helper()
	spec := graph.DefaultSpec()
	var err error
	if spec.Norm, err = graph.ParseNorm(norm); err != nil {
		t.Fatal(err)
	}
	spec.Act, spec.Hidden = act, hidden
	return &rundir.RunConfig{Config: rundir.Config{Spec: spec, Seed: 1}}
}

// makeRun writes fr into t's temp dir under name and returns the directory.
func makeRun(t *testing.T, name string, fr fakeRun) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	if err := mkdir(dir); err != nil {
		t.Fatal(err)
	}
	if fr.value == nil {
		fr.value = drifting(fr.norm)
	}
	cfg := fakeConfig(t, fr.norm, "relu", 128, 128)
	if fr.seed != 0 {
		cfg.Config.Seed = fr.seed
	}
	if fr.lr != 0 {
		cfg.Config.Opt.LR = fr.lr
	}
	if err := rundir.WriteConfig(dir, cfg); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(7+fr.seed, uint64(len(name))))
	w, err := rundir.OpenTapWriter(dir)
	if err != nil {
		t.Fatal(err)
	}
	tap := func(node string, kind rundir.TapKind, epoch, step int) {
		data := make([]float32, fr.examples*len(fr.neurons))
		for i := range fr.examples {
			for j, n := range fr.neurons {
				data[i*len(fr.neurons)+j] = float32(fr.value(rng, n, epoch, step, i))
			}
		}
		e := rundir.TapEntry{Node: node, Kind: kind, Epoch: epoch, Step: step, Mode: rundir.ModeProbe, Examples: fr.examples, Neurons: fr.neurons}
		if err := w.Write(e, data); err != nil {
			t.Fatal(err)
		}
	}
	for _, node := range fr.nodes {
		for _, ep := range fr.epochs {
			tap(node, rundir.KindEpoch, ep, ep*100)
		}
		for _, st := range fr.steps {
			tap(node, rundir.KindStep, st/100+1, st)
		}
	}
	if fr.metrics > 0 {
		rows := make([]rundir.Metrics, fr.metrics)
		for i := range rows {
			e := float64(i + 1)
			gain := map[string]float64{"none": 1, "layer": 1.3, "batch": 1.6}[fr.norm]
			acc := 0.99 - 0.08*math.Exp(-gain*e/4) - 0.004*float64(fr.seed%3)
			rows[i] = rundir.Metrics{Epoch: i + 1, Step: (i + 1) * 100, TrainLoss: 0.5 / e, TrainAcc: acc, TestLoss: 0.04 + 0.3*math.Exp(-gain*e/5), TestAcc: acc - 0.005, WallS: 3 * e, ExamplesPerS: 20000}
		}
		if err := rundir.WriteMetrics(dir, rows); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// threeRuns is the seed figure's setup: the same net without, with batch
// and with layer normalization.
func threeRuns(t *testing.T) []string {
	t.Helper()
	var dirs []string
	for _, norm := range []string{"none", "batch", "layer"} {
		dirs = append(dirs, makeRun(t, norm, fakeRun{
			norm: norm, nodes: []string{"h2.act"}, neurons: []int{3, 7},
			epochs: []int{1, 2, 5, 10, 20, 30}, steps: []int{100, 300, 600, 1000, 1500, 2000, 2500, 2900},
			examples: 1000, metrics: 30,
		}))
	}
	return dirs
}

func mkdir(dir string) error { return os.MkdirAll(dir, 0o755) }
