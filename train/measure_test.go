package train

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"normtap/graph"
	"normtap/layers"
	"normtap/rundir"
)

// measuredConfig is smallConfig, one short epoch, with ICS every 7 steps
// and the landscape (3 step sizes) every 10.
func measuredConfig(t *testing.T, noise bool) Config {
	cfg := smallConfig(t, graph.NormBatch)
	cfg.Epochs, cfg.TrainLimit = 1, 1000
	cfg.Spec.NormNoise, cfg.Spec.NoiseA, cfg.Spec.NoiseB = noise, layers.DefaultNoiseA, layers.DefaultNoiseB
	cfg.Measure = MeasureConfig{ICSEvery: 7, LandscapeEvery: 10, LandscapeRange: [2]float64{0.5, 4}, LandscapePoints: 3}
	return cfg
}

// checkpointTensors is the checkpoint's tensors and data order: the file
// after its JSON header (which holds wall-clock times) and before its
// checksum (which covers the header).
func checkpointTensors(t *testing.T, dir string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, rundir.CheckpointDir, checkpointFile))
	if err != nil {
		t.Fatal(err)
	}
	n := binary.LittleEndian.Uint64(b[len(checkpointMagic):])
	return b[len(checkpointMagic)+8+int(n) : len(b)-4]
}

// TestMeasuringLeavesTrainingAlone: a run that measures ICS and the
// landscape ends with the metrics and the checkpoint (parameters, optimizer
// state, running statistics) of the same run without measurement, and
// writes a row per layer per measured step.
func TestMeasuringLeavesTrainingAlone(t *testing.T) {
	measured := measuredConfig(t, false)
	plain := measuredConfig(t, false)
	plain.Measure = MeasureConfig{}
	for _, cfg := range []Config{measured, plain} {
		if _, err := Run(context.Background(), cfg, Options{}); err != nil {
			t.Fatal(err)
		}
	}
	a, _ := rundir.ReadMetrics(measured.Out)
	b, _ := rundir.ReadMetrics(plain.Out)
	for i := range a {
		a[i].WallS, a[i].ExamplesPerS, b[i].WallS, b[i].ExamplesPerS = 0, 0, 0, 0
	}
	if len(a) != 1 || !slices.Equal(a, b) {
		t.Fatalf("metrics with measurement %+v, without %+v", a, b)
	}
	if !bytes.Equal(checkpointTensors(t, measured.Out), checkpointTensors(t, plain.Out)) {
		t.Fatal("the checkpoint's tensors differ with measurement")
	}
	steps := 1000 / 32
	ics, err := rundir.ReadICS(measured.Out)
	if err != nil {
		t.Fatal(err)
	}
	if len(ics) != 2*(steps/7) || ics[0].Step != 7 || ics[0].Layer != "h1.W" || ics[1].Layer != "out.W" {
		t.Fatalf("ics.csv: %d rows, first %+v", len(ics), ics[:min(2, len(ics))])
	}
	for _, r := range ics {
		if r.Cos < -1 || r.Cos > 1 || (r.Layer == "out.W" && !(r.L2 > 0)) {
			t.Errorf("ics row %+v", r)
		}
	}
	land, err := rundir.ReadLandscape(measured.Out)
	if err != nil {
		t.Fatal(err)
	}
	lr := measured.Opt.LR
	if len(land) != steps/10 || land[0].Step != 10 || land[0].EtaMin != 0.5*lr || land[0].EtaMax != 4*lr {
		t.Fatalf("landscape.csv: %d rows, first %+v", len(land), land[0])
	}
	for _, r := range land {
		if !(r.LossMin <= r.LossMax) || !(r.GradPred > 0) || !(r.BetaSmooth > 0) {
			t.Errorf("landscape row %+v", r)
		}
	}
	if _, err := os.Stat(filepath.Join(plain.Out, rundir.ICSFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a run without --ics-every wrote %s", rundir.ICSFile)
	}
}

// TestInterruptedMeasuredRunResumesExactly: a noisy-BatchNorm run with
// measurements, interrupted mid-epoch and resumed, ends with the metrics,
// checkpoint, ics.csv and landscape.csv of the uninterrupted run: the noise
// draws are checkpointed and the rows measured after the checkpoint are
// measured again.
func TestInterruptedMeasuredRunResumesExactly(t *testing.T) {
	whole := measuredConfig(t, true)
	if _, err := Run(context.Background(), whole, Options{}); err != nil {
		t.Fatal(err)
	}
	cut := measuredConfig(t, true)
	ctx, cancel := context.WithCancel(context.Background())
	_, err := Run(ctx, cut, Options{AfterStep: func(step int) {
		if step == 13 { // the run checkpoints at step 13 and stops
			cancel()
		}
	}})
	if !errors.Is(err, ErrInterrupted) {
		t.Fatalf("interrupted run: %v", err)
	}
	// as if killed after measuring step 14, before its checkpoint: resume
	// must drop the row and measure step 14 again
	rows, err := rundir.ReadICS(cut.Out)
	if err != nil || len(rows) != 2 {
		t.Fatalf("interrupted run's ics.csv: %v, %d rows, want those of step 7", err, len(rows))
	}
	rows = append(rows, rundir.ICSRow{Step: 14, Layer: "h1.W", L2: 123, Cos: -1})
	if err := rundir.WriteICS(cut.Out, rows); err != nil {
		t.Fatal(err)
	}
	cut.Resume = true
	if _, err := Run(context.Background(), cut, Options{}); err != nil {
		t.Fatalf("resume: %v", err)
	}
	for _, f := range []string{rundir.ICSFile, rundir.LandscapeFile} {
		x, _ := os.ReadFile(filepath.Join(whole.Out, f))
		y, _ := os.ReadFile(filepath.Join(cut.Out, f))
		if len(x) < 100 || !bytes.Equal(x, y) {
			t.Errorf("%s differs after resume:\n%s\nuninterrupted:\n%s", f, y, x)
		}
	}
	if !bytes.Equal(checkpointTensors(t, whole.Out), checkpointTensors(t, cut.Out)) {
		t.Fatal("the checkpoint's tensors differ after resume")
	}
}
