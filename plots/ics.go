package plots

import (
	"errors"
	"fmt"
	"image/color"
	"io/fs"
	"math"
	"slices"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"normtap/rundir"
)

// This file draws what `normtap train --ics-every / --landscape-every`
// measured (graph.Measure): internal covariate shift per layer, and the
// loss landscape along the gradient, as Santurkar et al. (2018) draw them
// in their Figs. 3 and 4. Text stays within code page 1252 (no ‖, β, η) so
// that pdf figures read as png ones do.

// ICSSeries is one layer's internal covariate shift over training.
type ICSSeries struct {
	Layer string    // h2.W, out.W, …
	Steps []float64 // the measured steps
	L2    []float64 // ||G − G'||₂ at each step
	Cos   []float64 // cos(G, G') at each step
}

// Trivial reports a layer with nothing before it: G' = G at every step
// (the first layer), so it has no shift to draw.
func (s ICSSeries) Trivial() bool {
	for _, v := range s.L2 {
		if v != 0 {
			return false
		}
	}
	return true
}

// ICSOverTraining reads each run's ics.csv: per run, a series per layer in
// the order the file first names them.
func ICSOverTraining(runs []*Run) ([][]ICSSeries, error) {
	out := make([][]ICSSeries, len(runs))
	for i, r := range runs {
		rows, err := rundir.ReadICS(r.Dir)
		if err != nil {
			return nil, measureMissing(r, err, rundir.ICSFile, "--ics-every")
		}
		if len(rows) == 0 {
			return nil, fmt.Errorf("%s/%s has no rows yet: the run measured no step", r.Dir, rundir.ICSFile)
		}
		index := map[string]int{}
		for _, row := range rows {
			k, ok := index[row.Layer]
			if !ok {
				k = len(out[i])
				index[row.Layer] = k
				out[i] = append(out[i], ICSSeries{Layer: row.Layer})
			}
			s := &out[i][k]
			s.Steps = append(s.Steps, float64(row.Step))
			s.L2 = append(s.L2, row.L2)
			s.Cos = append(s.Cos, row.Cos)
		}
	}
	return out, nil
}

// LandscapeSeries is one run's landscape.csv as columns.
type LandscapeSeries struct {
	Steps, LossMin, LossMax, GradPred, BetaSmooth []float64
	EtaMin, EtaMax                                float64 // of the first row
}

// LandscapeOverTraining reads each run's landscape.csv.
func LandscapeOverTraining(runs []*Run) ([]LandscapeSeries, error) {
	out := make([]LandscapeSeries, len(runs))
	for i, r := range runs {
		rows, err := rundir.ReadLandscape(r.Dir)
		if err != nil {
			return nil, measureMissing(r, err, rundir.LandscapeFile, "--landscape-every")
		}
		if len(rows) == 0 {
			return nil, fmt.Errorf("%s/%s has no rows yet: the run measured no step", r.Dir, rundir.LandscapeFile)
		}
		s := &out[i]
		s.EtaMin, s.EtaMax = rows[0].EtaMin, rows[0].EtaMax
		for _, row := range rows {
			s.Steps = append(s.Steps, float64(row.Step))
			s.LossMin = append(s.LossMin, row.LossMin)
			s.LossMax = append(s.LossMax, row.LossMax)
			s.GradPred = append(s.GradPred, row.GradPred)
			s.BetaSmooth = append(s.BetaSmooth, row.BetaSmooth)
		}
	}
	return out, nil
}

func measureMissing(r *Run, err error, file, flag string) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("run dir %s has no %s: train it with %s N", r.Dir, file, flag)
	}
	return err
}

// layerDashes tells the layers of one run apart; colour tells the runs.
var layerDashes = [][]vg.Length{
	nil,
	{vg.Points(7), vg.Points(3)},
	{vg.Points(1.5), vg.Points(2.5)},
	{vg.Points(7), vg.Points(2.5), vg.Points(1.5), vg.Points(2.5)},
	{vg.Points(12), vg.Points(4)},
}

func dashed(c color.NRGBA, width float64, layer int) draw.LineStyle {
	sty := lineStyle(c, width)
	sty.Dashes = layerDashes[layer%len(layerDashes)]
	return sty
}

// ICSFigure draws, over training, ||G − G'||₂ (log scale) and cos(G, G')
// of every layer but the first: colour is the run, the dash pattern the
// layer.
func ICSFigure(runs []*Run) (*Figure, error) {
	series, err := ICSOverTraining(runs)
	if err != nil {
		return nil, err
	}
	l2 := newPanel("||G - G'||, l2", "training step", "gradient change")
	cos := newPanel("cos(G, G')", "training step", "cosine")
	for _, p := range []Panel{l2, cos} {
		wholeNumbersX(p.Plot)
	}
	fig := &Figure{Panels: []Panel{l2, cos}}
	var l2All []float64
	var skipped, layerOrder []string
	missing := 0
	layerIndex := map[string]int{}
	for i, r := range runs {
		col := categoricalColor(i)
		for _, s := range series[i] {
			if s.Trivial() {
				if !slices.Contains(skipped, s.Layer) {
					skipped = append(skipped, s.Layer)
				}
				continue
			}
			k, ok := layerIndex[s.Layer]
			if !ok {
				k = len(layerOrder)
				layerIndex[s.Layer] = k
				layerOrder = append(layerOrder, s.Layer)
			}
			lines, n := gapLines(s.Steps, s.L2, isPositive, dashed(col, 2, k))
			l2.Plot.Add(lines...)
			missing += n
			_, y := positive(s.Steps, s.L2)
			l2All = append(l2All, y...)
			lines, n = gapLines(s.Steps, s.Cos, isFinite, dashed(col, 2, k))
			cos.Plot.Add(lines...)
			missing += n
		}
		fig.Legend = append(fig.Legend, LegendEntry{Label: r.Label, Thumb: &plotter.Line{LineStyle: lineStyle(col, 2.5)}})
	}
	if len(layerOrder) == 0 {
		return nil, fmt.Errorf("every layer measured has G' = G: only the first layer, or learning rate 0")
	}
	grey := categorical[6]
	for k, name := range layerOrder {
		fig.Legend = append(fig.Legend, LegendEntry{Label: name, Thumb: &plotter.Line{LineStyle: dashed(grey, 2, k)}})
	}
	if wideRange(l2All) {
		logY(l2.Plot)
		fig.Panels[0].Title += " (log scale)"
	}
	cos.Plot.Y.Max = math.Max(cos.Plot.Y.Max, 1)
	fig.Caption = "G: a layer's weight gradient on a step's batch · G': the same after the layers before it took that step's update (Santurkar et al. 2018)"
	if len(skipped) > 0 {
		fig.Caption += fmt.Sprintf(" · not drawn: %s (no layer before it, G' = G)", strings.Join(skipped, ", "))
	}
	fig.Caption += gapNote(missing)
	return fig, nil
}

// LandscapeFigure draws, over training, the band between the smallest and
// largest loss along the step's gradient, the gradient predictiveness and
// the effective beta-smoothness, one colour per run.
func LandscapeFigure(runs []*Run) (*Figure, error) {
	series, err := LandscapeOverTraining(runs)
	if err != nil {
		return nil, err
	}
	band := newPanel("loss along the gradient", "training step", "loss on the batch")
	pred := newPanel("gradient predictiveness", "training step", "max ||g - g'||")
	beta := newPanel("effective beta-smoothness", "training step", "max ||g - g'|| / ||eta g||")
	panels := []Panel{band, pred, beta}
	for _, p := range panels {
		wholeNumbersX(p.Plot)
	}
	fig := &Figure{Panels: panels}
	var predAll, betaAll []float64
	missing := 0
	for i, r := range runs {
		s := series[i]
		col := categoricalColor(i)
		if poly := bandPolygon(s.Steps, s.LossMin, s.LossMax, col); poly != nil {
			band.Plot.Add(poly)
		}
		for _, edge := range [][]float64{s.LossMin, s.LossMax} {
			lines, n := gapLines(s.Steps, edge, isFinite, lineStyle(col, 1.2))
			band.Plot.Add(lines...)
			missing += n
		}
		for _, panel := range []struct {
			p   *plot.Plot
			y   []float64
			all *[]float64
		}{{pred.Plot, s.GradPred, &predAll}, {beta.Plot, s.BetaSmooth, &betaAll}} {
			lines, n := gapLines(s.Steps, panel.y, isFinite, lineStyle(col, 2))
			panel.p.Add(lines...)
			missing += n
			_, y := finite(s.Steps, panel.y)
			*panel.all = append(*panel.all, y...)
		}
		fig.Legend = append(fig.Legend, LegendEntry{Label: r.Label, Thumb: &plotter.Polygon{Color: withAlpha(col, 0.45)}})
	}
	if wideRange(predAll) {
		logY(pred.Plot)
	}
	if wideRange(betaAll) {
		logY(beta.Plot)
	}
	s := series[0]
	fig.Caption = fmt.Sprintf("at each measured step, from its weights w along its gradient g: w' = w - eta g, eta from %g to %g, g' = grad L(w') · band: min to max loss on the step's batch (Santurkar et al. 2018, Fig. 4)",
		s.EtaMin, s.EtaMax)
	fig.Caption += gapNote(missing)
	return fig, nil
}

// bandPolygon shades between lo and hi over x, skipping non-finite points.
func bandPolygon(x, lo, hi []float64, c color.NRGBA) *plotter.Polygon {
	var keep []int
	for i := range x {
		if isFinite(lo[i]) && isFinite(hi[i]) {
			keep = append(keep, i)
		}
	}
	if len(keep) < 2 {
		return nil
	}
	ring := make(plotter.XYs, 0, 2*len(keep))
	for _, i := range keep {
		ring = append(ring, plotter.XY{X: x[i], Y: lo[i]})
	}
	for j := len(keep) - 1; j >= 0; j-- {
		i := keep[j]
		ring = append(ring, plotter.XY{X: x[i], Y: hi[i]})
	}
	return &plotter.Polygon{XYs: []plotter.XYs{ring}, Color: withAlpha(c, 0.3)}
}

// logY puts p's y axis on a log scale with labelled powers of ten.
func logY(p *plot.Plot) {
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: 1} // 1e-05, not 9.999999999999999e-05
}

// wideRange reports positive values spanning more than a factor of 30:
// worth a log scale.
func wideRange(v []float64) bool {
	lo, hi := math.Inf(1), 0.0
	for _, x := range v {
		if x <= 0 {
			return false
		}
		lo, hi = math.Min(lo, x), math.Max(hi, x)
	}
	return len(v) > 0 && hi > 30*lo
}

// finite keeps the points whose y is finite.
func finite(x, y []float64) ([]float64, []float64) {
	var xs, ys []float64
	for i := range x {
		if isFinite(y[i]) {
			xs, ys = append(xs, x[i]), append(ys, y[i])
		}
	}
	return xs, ys
}

func isPositive(v float64) bool { return isFinite(v) && v > 0 }

// gapNote is the caption's note on points left out as gaps.
func gapNote(missing int) string {
	switch missing {
	case 0:
		return ""
	case 1:
		return " · gap: 1 value not drawn (NaN, infinite, or not positive on a log axis)"
	}
	return fmt.Sprintf(" · gaps: %d values not drawn (NaN, infinite, or not positive on a log axis)", missing)
}

// positive keeps the points whose y is finite and above zero (log scale).
func positive(x, y []float64) ([]float64, []float64) {
	var xs, ys []float64
	for i := range x {
		if isFinite(y[i]) && y[i] > 0 {
			xs, ys = append(xs, x[i]), append(ys, y[i])
		}
	}
	return xs, ys
}
