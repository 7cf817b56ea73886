package train

import (
	"errors"
	"fmt"
	"io/fs"

	"normtap/graph"
	"normtap/rundir"
)

// Landscape defaults: eight step sizes from half the learning rate to four
// times it, the span over which Santurkar et al. compare the loss and
// gradient along the update direction.
var (
	DefaultLandscapeRange  = [2]float64{0.5, 4}
	DefaultLandscapePoints = 8
)

// measurer keeps the rows written so far, so that each measurement
// rewrites its file atomically.
type measurer struct {
	cfg       MeasureConfig
	etas      []float64
	ics       []rundir.ICSRow
	landscape []rundir.LandscapeRow
}

// openMeasure sets up ics.csv and landscape.csv: empty ones for a new run;
// on resume, the rows up to the checkpoint's step (a row measured after it
// is measured again).
func (r *runner) openMeasure() error {
	c := r.cfg.Measure
	r.meas = &measurer{cfg: c, etas: c.Etas(r.cfg.Opt.LR)}
	dir := r.cfg.Out
	if c.ICSEvery > 0 {
		if r.cfg.Resume {
			rows, err := rundir.ReadICS(dir)
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("resume: %w", err)
			}
			for _, row := range rows {
				if row.Step <= r.st.Step {
					r.meas.ics = append(r.meas.ics, row)
				}
			}
		}
		if err := rundir.WriteICS(dir, r.meas.ics); err != nil {
			return err
		}
	}
	if c.LandscapeEvery > 0 {
		if r.cfg.Resume {
			rows, err := rundir.ReadLandscape(dir)
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("resume: %w", err)
			}
			for _, row := range rows {
				if row.Step <= r.st.Step {
					r.meas.landscape = append(r.meas.landscape, row)
				}
			}
		}
		if err := rundir.WriteLandscape(dir, r.meas.landscape); err != nil {
			return err
		}
	}
	return nil
}

// measure measures step (1-based, about to be taken on the batch in
// r.xbuf) when the config asks for it, and rewrites the files it adds to.
func (r *runner) measure(step int) error {
	c := r.meas.cfg
	spec := graph.MeasureSpec{ICS: c.ICSEvery > 0 && step%c.ICSEvery == 0}
	if c.LandscapeEvery > 0 && step%c.LandscapeEvery == 0 {
		spec.Etas = r.meas.etas
	}
	if !spec.ICS && spec.Etas == nil {
		return nil
	}
	res, err := graph.Measure(r.mach, r.xbuf, r.ybuf, spec)
	if err != nil {
		return fmt.Errorf("step %d: %w", step, err)
	}
	if spec.ICS {
		for _, l := range res.ICS {
			r.meas.ics = append(r.meas.ics, rundir.ICSRow{Step: step, Layer: l.Layer, L2: l.L2, Cos: l.Cos, GradL2: l.GradL2})
		}
		if err := rundir.WriteICS(r.cfg.Out, r.meas.ics); err != nil {
			return err
		}
	}
	if ls := res.Landscape; ls != nil {
		etas := r.meas.etas
		r.meas.landscape = append(r.meas.landscape, rundir.LandscapeRow{Step: step,
			LossMin: ls.LossMin, LossMax: ls.LossMax, GradPred: ls.GradPred, BetaSmooth: ls.BetaSmooth,
			Loss: ls.Loss, GradL2: ls.GradL2, EtaMin: etas[0], EtaMax: etas[len(etas)-1]})
		if err := rundir.WriteLandscape(r.cfg.Out, r.meas.landscape); err != nil {
			return err
		}
	}
	return nil
}
