package sweep

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"slices"

	"normtap/rundir"
)

// ErrOtherSweep is returned, wrapped, when the root already holds a sweep
// with other fixed or varied flags: a usage error.
var ErrOtherSweep = errors.New("holds another sweep")

// Index is the plan as sweep.json records it.
func (p *Plan) Index() *rundir.SweepIndex {
	ix := &rundir.SweepIndex{Version: rundir.SweepVersion, Fixed: slices.Clone(p.Fixed)}
	if ix.Fixed == nil {
		ix.Fixed = []string{}
	}
	for _, a := range p.Axes {
		ix.Vary = append(ix.Vary, rundir.SweepAxis{Flag: a.Flag, Values: slices.Clone(a.Values)})
	}
	for _, r := range p.Runs {
		e := rundir.SweepEntry{Dir: r.Dir, Values: map[string]string{}, Flags: slices.Clone(r.Args)}
		for i, a := range p.Axes {
			e.Values[a.Flag] = r.Values[i]
		}
		ix.Runs = append(ix.Runs, e)
	}
	return ix
}

// WriteIndex writes root/sweep.json (making root). A root that holds a
// sweep of the same fixed flags and the same varied flags takes this
// plan's runs beside its own (so values can be added to a study later);
// any other sweep there is refused with ErrOtherSweep.
func (p *Plan) WriteIndex() error {
	if err := os.MkdirAll(p.Root, 0o755); err != nil {
		return fmt.Errorf("--out %s: %w", p.Root, err)
	}
	ix := p.Index()
	old, err := rundir.ReadSweepIndex(p.Root)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return err
	default:
		if !slices.Equal(old.Fixed, ix.Fixed) {
			return fmt.Errorf("--out %s %w, whose runs share the train flags %q, not %q (see its %s); pass the same flags or choose another --out",
				p.Root, ErrOtherSweep, old.Fixed, ix.Fixed, rundir.SweepFile)
		}
		if !slices.Equal(axisFlags(old.Vary), axisFlags(ix.Vary)) {
			return fmt.Errorf("--out %s %w, which varies %q, not %q (see its %s); vary the same flags in the same order or choose another --out",
				p.Root, ErrOtherSweep, axisFlags(old.Vary), axisFlags(ix.Vary), rundir.SweepFile)
		}
		ix = merge(old, ix)
	}
	return rundir.WriteSweepIndex(p.Root, ix)
}

func axisFlags(axes []rundir.SweepAxis) []string {
	var out []string
	for _, a := range axes {
		out = append(out, a.Flag)
	}
	return out
}

// merge adds the runs and values of now to old, keeping old's order.
func merge(old, now *rundir.SweepIndex) *rundir.SweepIndex {
	out := &rundir.SweepIndex{Version: rundir.SweepVersion, Fixed: old.Fixed}
	for i, a := range old.Vary {
		values := slices.Clone(a.Values)
		for _, v := range now.Vary[i].Values {
			if !slices.Contains(values, v) {
				values = append(values, v)
			}
		}
		out.Vary = append(out.Vary, rundir.SweepAxis{Flag: a.Flag, Values: values})
	}
	have := map[string]bool{}
	for _, r := range old.Runs {
		out.Runs = append(out.Runs, r)
		have[r.Dir] = true
	}
	for _, r := range now.Runs {
		if !have[r.Dir] {
			out.Runs = append(out.Runs, rundir.SweepEntry{Dir: r.Dir, Values: maps.Clone(r.Values), Flags: r.Flags})
		}
	}
	return out
}
