package train

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"normtap/graph"
	"normtap/rundir"
)

// TestInterruptAtEpochStartResumesExactly: a run stopped (Ctrl-C) just
// after an epoch ends — its next epoch's order drawn, no step taken —
// resumes with that same order: the metrics equal an uninterrupted run's.
// (Found by a sweep interrupted right after a run's first epoch.)
func TestInterruptAtEpochStartResumesExactly(t *testing.T) {
	whole := smallConfig(t, graph.NormBatch)
	whole.Taps = TapConfig{Mode: rundir.ModeProbe, Examples: 1}
	want, err := Run(context.Background(), whole, Options{})
	if err != nil {
		t.Fatal(err)
	}
	cut := whole
	cut.Out = t.TempDir() + "/cut"
	perEpoch := whole.TrainLimit / whole.Batch
	ctx, cancel := context.WithCancel(context.Background())
	_, err = Run(ctx, cut, Options{AfterStep: func(step int) {
		if step == perEpoch { // epoch 1's last step: it ends, then epoch 2 stops at once
			cancel()
		}
	}})
	if !errors.Is(err, ErrInterrupted) {
		t.Fatalf("interrupted run: %v", err)
	}
	if rows, _ := rundir.ReadMetrics(cut.Out); len(rows) != 1 {
		t.Fatalf("stopped with %d metrics rows, want epoch 1's", len(rows))
	}
	cut.Resume = true
	got, err := Run(context.Background(), cut, Options{})
	if err != nil {
		t.Fatalf("resume: %v", err)
	}
	for i := range want.Metrics {
		w, g := want.Metrics[i], got.Metrics[i]
		w.WallS, w.ExamplesPerS, g.WallS, g.ExamplesPerS = 0, 0, 0, 0
		if fmt.Sprint(w) != fmt.Sprint(g) {
			t.Errorf("epoch %d after the stop and resume: %+v, want (uninterrupted) %+v", i+1, g, w)
		}
	}
}
