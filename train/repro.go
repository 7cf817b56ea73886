package train

import (
	"path/filepath"

	"normtap/graph"
	"normtap/rundir"
)

// BNPaperSteps is the length of Ioffe & Szegedy's MNIST experiment.
const BNPaperSteps = 50000

// BNPaperTap is the node their Fig. 1 (b, c) follows: the input to the
// last hidden layer's sigmoids (h3.linear itself without BatchNorm).
const BNPaperTap = "h3.norm"

// BNPaper returns the two runs of Ioffe & Szegedy (2015), §4.1: a
// 784-100-100-100-10 sigmoid MLP with small Gaussian initial weights,
// trained with plain SGD on batches of 60 for the given number of steps,
// without (DIR/none) and with (DIR/batch) BatchNorm before each sigmoid.
// They tap h3.norm every 100 steps (and at each epoch's end) on a 1000
// example probe set; neuron 0 stands for the paper's "typical" neuron.
//
// The paper gives no learning rate or initial scale; normtap uses
// N(0, 0.1²) weights (small beside He's 0.05–0.14 for these fans, but not
// so small that the sigmoid net without BatchNorm cannot start) and lr 0.5,
// a common choice for SGD on sigmoid MLPs.
func BNPaper(dir string, steps int, seed uint64) []Config {
	var out []Config
	for _, norm := range []graph.Norm{graph.NormNone, graph.NormBatch} {
		s := graph.DefaultSpec()
		s.Hidden, s.Act, s.Norm, s.InitStd = []int{100, 100, 100}, "sigmoid", norm, 0.1
		perEpoch := 60000 / 60
		out = append(out, Config{
			Spec:   s,
			Opt:    graph.OptSpec{Kind: graph.OptSGD, LR: 0.5},
			Batch:  60,
			Epochs: (steps + perEpoch - 1) / perEpoch, MaxSteps: steps,
			Seed: seed, Device: "cpu", Out: filepath.Join(dir, norm.String()),
			Taps: TapConfig{Nodes: []string{BNPaperTap}, Neurons: []int{0}, AllEpochs: true,
				EverySteps: 100, Examples: 1000, Mode: rundir.ModeProbe},
		})
	}
	return out
}
