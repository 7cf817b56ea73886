package train

import (
	"context"
	"errors"
	"fmt"
	"strings"
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
	ctx, cancel := context.WithCancel(context.Background())
	_, err = Run(ctx, cut, Options{AfterEpoch: func(epoch int) {
		if epoch == 1 { // epoch 1 has ended: epoch 2 stops at once
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

// TestInterruptedEpochEndResumesExactly (#15 class 2): a stop during an
// epoch's end (here: signalled at its last step, so the evaluation stops
// at its first batch) checkpoints with the end still to do; the resume
// does it — evaluation, probe or batch taps, metrics — and the run ends
// equal to an uninterrupted one.
func TestInterruptedEpochEndResumesExactly(t *testing.T) {
	for _, tc := range []struct {
		name     string
		mode     rundir.TapMode
		maxSteps int // the run ends inside epoch 1
	}{{"probe", rundir.ModeProbe, 0}, {"batch", rundir.ModeBatch, 0}, {"max-steps", rundir.ModeProbe, 15}} {
		t.Run(tc.name, func(t *testing.T) {
			whole := quickConfig(t)
			whole.Taps.Mode, whole.MaxSteps = tc.mode, tc.maxSteps
			if _, err := Run(context.Background(), whole, Options{}); err != nil {
				t.Fatal(err)
			}
			cut := whole
			cut.Out = t.TempDir() + "/cut"
			last := cut.TrainLimit / cut.Batch // epoch 1's last step
			if tc.maxSteps > 0 {
				last = tc.maxSteps
			}
			ctx, cancel := context.WithCancel(context.Background())
			_, err := Run(ctx, cut, Options{AfterStep: func(step int) {
				if step == last {
					cancel()
				}
			}})
			if !errors.Is(err, ErrInterrupted) || !strings.Contains(err.Error(), "before its evaluation was done") {
				t.Fatalf("stopped at the epoch's end: %v", err)
			}
			if rows, _ := rundir.ReadMetrics(cut.Out); len(rows) != 0 {
				t.Fatalf("the interrupted end wrote %d metrics rows", len(rows))
			}
			cut.Resume = true
			if _, err := Run(context.Background(), cut, Options{}); err != nil {
				t.Fatalf("resume: %v", err)
			}
			sameResults(t, cut.Out, whole.Out)
		})
	}
}
