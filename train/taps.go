package train

import (
	"context"
	"fmt"
	"time"

	"normtap/graph"
	"normtap/rundir"
)

// resolvedTap is a tap point with the columns to copy out of it.
type resolvedTap struct {
	point graph.TapPoint
	cols  []int
	buf   []float32 // rows×len(cols) of one copy, reused
}

// resolveTaps checks the tap flags against the model: an unknown node or
// neuron is an error listing what exists.
func resolveTaps(m *graph.Model, t TapConfig) ([]resolvedTap, error) {
	var out []resolvedTap
	seen := map[string]bool{}
	for _, name := range t.Nodes {
		if seen[name] {
			continue
		}
		seen[name] = true
		p, err := m.Tap(name)
		if err != nil {
			return nil, fmt.Errorf("--tap: %w", err)
		}
		cols := t.Neurons
		if t.AllNeurons {
			cols = make([]int, p.Neurons)
			for i := range cols {
				cols[i] = i
			}
		} else if len(cols) == 0 {
			cols = []int{DefaultNeuron}
		}
		for _, c := range cols {
			if c < 0 || c >= p.Neurons {
				return nil, fmt.Errorf("--tap-neuron %d: node %s has neurons 0..%d", c, name, p.Neurons-1)
			}
		}
		out = append(out, resolvedTap{point: p, cols: cols})
	}
	return out, nil
}

// tap writes every tapped node's columns in the run's tap mode.
func (r *runner) tap(ctx context.Context, epoch int, kind rundir.TapKind) error {
	if len(r.taps) == 0 {
		return nil
	}
	if err := r.checkDir(); err != nil {
		return err
	}
	if r.cfg.Taps.Mode == rundir.ModeBatch {
		return r.tapBatch(epoch, kind)
	}
	return r.tapProbe(ctx, epoch, kind)
}

// sizeTapBuffers makes each tap's buffer hold n examples of its columns.
func (r *runner) sizeTapBuffers(n int) {
	for i := range r.taps {
		t := &r.taps[i]
		if len(t.buf) != n*len(t.cols) {
			t.buf = make([]float32, n*len(t.cols))
		}
	}
}

// tapProbe runs the probe set (the first --tap-examples test examples)
// through the model in eval mode (training mode is back on after it) and
// writes each tapped node's columns.
func (r *runner) tapProbe(ctx context.Context, epoch int, kind rundir.TapKind) error {
	n := min(r.cfg.Taps.Examples, r.test.N)
	r.sizeTapBuffers(n)
	err := r.forEachEvalBatch(ctx, r.test, n, func(first, rows int, _ []float32) error {
		for i := range r.taps {
			t := &r.taps[i]
			w := len(t.cols)
			if err := r.mach.ReadTap(t.point, t.cols, rows, t.buf[first*w:(first+rows)*w]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return r.writeTaps(epoch, kind, n, rundir.ModeProbe)
}

// tapBatch writes the tapped columns of the training batch just stepped.
func (r *runner) tapBatch(epoch int, kind rundir.TapKind) error {
	n := r.cfg.Batch
	r.sizeTapBuffers(n)
	for _, t := range r.taps {
		if err := r.mach.ReadTap(t.point, t.cols, n, t.buf); err != nil {
			return err
		}
	}
	return r.writeTaps(epoch, kind, n, rundir.ModeBatch)
}

func (r *runner) writeTaps(epoch int, kind rundir.TapKind, n int, mode rundir.TapMode) error {
	for _, t := range r.taps {
		e := rundir.TapEntry{Node: t.point.Name, Kind: kind, Epoch: epoch, Step: r.st.Step, Mode: mode, Examples: n, Neurons: t.cols}
		if kind == rundir.KindEpoch {
			e.File = rundir.EpochTapFile(t.point.Name, epoch)
		} else {
			e.File = rundir.StepTapFile(t.point.Name, r.st.Step)
		}
		if err := r.tw.Add(e, t.buf[:n*len(t.cols)]); err != nil {
			return err
		}
	}
	// The index is rewritten at each checkpoint (save) and at most every
	// indexEvery in between: tapping every step does not rewrite (and
	// fsync) it every step. A run killed in between resumes from its
	// checkpoint and writes those taps again.
	if time.Since(r.lastFlush) >= indexEvery {
		r.lastFlush = time.Now()
		return r.tw.Flush()
	}
	return nil
}

// indexEvery is how stale taps/index.json may get between checkpoints.
const indexEvery = 5 * time.Second

// Tapping has a visible price: a run whose taps will write more than
// warnTapBytes, or make an epoch more than warnTapSlowdown times as long,
// says so before it starts.
const (
	warnTapBytes    = 1 << 30
	warnTapSlowdown = 2
	// tapWriteBytesPerS is what the estimate assumes writing a tap costs
	// (file, fsync and the column gather): a local disk's rate.
	tapWriteBytesPerS = 200e6
)

// tapEstimate is what the run's taps are expected to cost.
type tapEstimate struct {
	bytes    int64   // written in all
	slowdown float64 // a tapped epoch's time ÷ an untapped one's, taps at their most frequent
	what     string  // how many taps of what size
}

// tapCost estimates the taps' disk use and time before the run starts. The
// time compares the tap forward passes (timed here: an eval forward pass
// changes nothing) and the writing (at tapWriteBytesPerS) with an epoch of
// training steps (each about three forward passes).
func (r *runner) tapCost() tapEstimate {
	if len(r.taps) == 0 {
		return tapEstimate{slowdown: 1}
	}
	cfg := r.cfg
	nb := r.batchesPerEpoch()
	steps := cfg.Epochs * nb
	if cfg.MaxSteps > 0 {
		steps = min(steps, cfg.MaxSteps)
	}
	epochs := (steps + nb - 1) / nb
	epochTaps := 0
	for e := 1; e <= epochs; e++ {
		if tapsEpoch(cfg.Taps, e) {
			epochTaps++
		}
	}
	stepTaps := 0
	if cfg.Taps.EverySteps > 0 {
		stepTaps = steps / cfg.Taps.EverySteps
	}
	rows := cfg.Batch
	if cfg.Taps.Mode == rundir.ModeProbe {
		rows = min(cfg.Taps.Examples, r.test.N)
	}
	var perTap int64
	cols := 0
	for _, t := range r.taps {
		perTap += int64(rows)*int64(len(t.cols))*4 + 128
		cols += len(t.cols)
	}
	est := tapEstimate{bytes: perTap * int64(epochTaps+stepTaps), slowdown: 1,
		what: fmt.Sprintf("%d taps of %d examples x %d columns, %s each", epochTaps+stepTaps, rows, cols, formatBytes(perTap))}
	// the most taps an epoch takes: every step tap in it, and its end
	perEpoch := 1.0
	if cfg.Taps.EverySteps > 0 {
		perEpoch += float64(nb) / float64(cfg.Taps.EverySteps)
	}
	fwd := r.timeForward()
	if fwd <= 0 {
		return est
	}
	epochS := 3 * float64(nb) * fwd
	tapS := float64(perTap) / tapWriteBytesPerS
	if cfg.Taps.Mode == rundir.ModeProbe {
		tapS += float64((rows+cfg.Batch-1)/cfg.Batch) * fwd
	}
	est.slowdown = 1 + perEpoch*tapS/epochS
	return est
}

// timeForward is the seconds of one eval forward pass of a batch (the
// second of two, so that the first's one-time costs are left out); 0 if
// it fails. It changes no parameter or statistic.
func (r *runner) timeForward() float64 {
	x := make([]float32, r.cfg.Batch*r.train.Features())
	r.mach.SetTraining(false)
	defer r.mach.SetTraining(true)
	var took time.Duration
	for range 2 {
		start := time.Now()
		if _, err := r.mach.Forward(x); err != nil {
			return 0
		}
		took = time.Since(start)
	}
	return took.Seconds()
}

// formatBytes writes n as "1.5 GB".
func formatBytes(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.1f GB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	}
	return fmt.Sprintf("%.0f kB", float64(n)/1e3)
}
