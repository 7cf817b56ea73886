package bench

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"normtap/dataset"
	"normtap/graph"
	"normtap/rundir"
	"normtap/train"
)

// TapOverhead is what tapping one neuron of one node at the end of every
// epoch adds to training, against an epoch without taps.
type TapOverhead struct {
	// Method says how it was measured.
	Method   string     `json:"method"`
	Norm     graph.Norm `json:"norm"`
	Node     string     `json:"node"`
	Neurons  int        `json:"neurons"`
	Examples int        `json:"examples"` // probe-set size (normtap train's default --tap-examples)
	// TapMsMedian is one epoch's tap: the probe set's forward passes in
	// eval mode, the column copies and the npy and index writes.
	TapMsMedian      float64 `json:"tap_ms_median"`
	StepsPerEpoch    int     `json:"steps_per_epoch"`
	EpochMs          float64 `json:"epoch_ms"`          // StepsPerEpoch × the median step time
	OverheadFraction float64 `json:"overhead_fraction"` // TapMsMedian / EpochMs
}

// tapMethod is TapOverhead.Method.
const tapMethod = "timed: one epoch's tap, by train's own code (probe forward passes in eval mode, the column copy, the npy and index writes) against steps_per_epoch × the median training step; an epoch without taps does none of this"

// MNISTTrainExamples sets the epoch length of the tap overhead.
const MNISTTrainExamples = 60000

// measureTap times the tap train takes at an epoch's end (train's own
// code, through train.ProbeTapper) with one neuron (column 0) of the last
// ".act" node and a probe set of examples from t's pool, on t's machine,
// repeated reps times, into a temporary run directory.
func measureTap(ctx context.Context, t *trainer, examples, reps int) (*TapOverhead, error) {
	node := ""
	for _, tp := range t.model.Taps {
		if strings.HasSuffix(tp.Name, ".act") {
			node = tp.Name
		}
	}
	dir, err := os.MkdirTemp("", "normtap-bench-tap-")
	if err != nil {
		return nil, fmt.Errorf("tap overhead: %w", err)
	}
	defer os.RemoveAll(dir)
	tw, err := rundir.OpenTapWriter(dir)
	if err != nil {
		return nil, err
	}
	cols := []int{0}
	tapper, err := train.NewProbeTapper(t.model, t.mach, t.batch, t.probeSet(examples), examples, node, cols, tw)
	if err != nil {
		return nil, err
	}
	times := make([]float64, 0, reps)
	for epoch := 1; epoch <= reps; epoch++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		start := time.Now()
		if err := tapper.Tap(ctx, epoch); err != nil {
			return nil, err
		}
		times = append(times, float64(time.Since(start).Nanoseconds())/1e6)
	}
	steps := MNISTTrainExamples / t.batch
	epochMs := float64(steps) * median(t.stepMs)
	tap := median(times)
	return &TapOverhead{Method: tapMethod, Norm: t.spec.Norm, Node: node, Neurons: len(cols), Examples: examples,
		TapMsMedian: tap, StepsPerEpoch: steps, EpochMs: epochMs, OverheadFraction: tap / epochMs}, nil
}

// probeSet is n examples of t's batch pool as a data set (the pool's
// pixels; labels unused by a tap), the probe a tap runs over.
func (t *trainer) probeSet(n int) *dataset.Set {
	f := t.spec.InFeatures()
	images := make([]float32, 0, n*f)
	for i := 0; len(images) < n*f; i = (i + 1) % len(t.xs) {
		images = append(images, t.xs[i][:min(len(t.xs[i]), n*f-len(images))]...)
	}
	return &dataset.Set{Images: images, Labels: make([]uint8, n), N: n, Rows: t.spec.InChannels * t.spec.InRows, Cols: t.spec.InCols, Classes: t.spec.Classes}
}
