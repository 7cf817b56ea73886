package train

import (
	"context"
	"fmt"

	"normtap/dataset"
	"normtap/graph"
	"normtap/rundir"
)

// ProbeTapper takes train's end-of-epoch probe tap outside a run: the same
// code (runner.tapProbe: the probe set's forward passes in eval mode, the
// column copies, the npy and index writes), on a caller's model and
// machine. bench times it, so that the tap overhead it reports is what
// train pays.
type ProbeTapper struct{ r *runner }

// NewProbeTapper taps columns cols of node of m, running on mach (built for
// batches of batch), over the first examples of probe, into tw.
func NewProbeTapper(m *graph.Model, mach graph.Machine, batch int, probe *dataset.Set, examples int, node string, cols []int, tw *rundir.TapWriter) (*ProbeTapper, error) {
	if examples < 1 || examples > probe.N {
		return nil, fmt.Errorf("probe tap: %d examples of a set of %d", examples, probe.N)
	}
	if probe.Features() != m.Spec.InFeatures() {
		return nil, fmt.Errorf("probe tap: examples of %d values, the model takes %d", probe.Features(), m.Spec.InFeatures())
	}
	taps, err := resolveTaps(m, TapConfig{Nodes: []string{node}, Neurons: cols})
	if err != nil {
		return nil, err
	}
	cfg := Config{Batch: batch, Taps: TapConfig{Nodes: []string{node}, Neurons: cols, Examples: examples, Mode: rundir.ModeProbe}}
	r := &runner{cfg: cfg, model: m, mach: mach, test: probe, taps: taps, tw: tw, xbuf: make([]float32, batch*m.Spec.InFeatures())}
	return &ProbeTapper{r: r}, nil
}

// Tap takes the tap of the end of epoch, leaving the machine in training
// mode; ctx stops it between batches.
func (p *ProbeTapper) Tap(ctx context.Context, epoch int) error {
	return p.r.tapProbe(ctx, epoch, rundir.KindEpoch)
}
