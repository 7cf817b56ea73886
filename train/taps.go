package train

import (
	"fmt"

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
func (r *runner) tap(epoch int, kind rundir.TapKind) error {
	if len(r.taps) == 0 {
		return nil
	}
	if r.cfg.Taps.Mode == rundir.ModeBatch {
		return r.tapBatch(epoch, kind)
	}
	return r.tapProbe(epoch, kind)
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
func (r *runner) tapProbe(epoch int, kind rundir.TapKind) error {
	n := min(r.cfg.Taps.Examples, r.test.N)
	r.sizeTapBuffers(n)
	err := r.forEachEvalBatch(r.test, n, func(first, rows int, _ []float32) error {
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
		if err := r.tw.Write(e, t.buf[:n*len(t.cols)]); err != nil {
			return err
		}
	}
	return nil
}
