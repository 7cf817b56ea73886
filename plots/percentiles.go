package plots

import (
	"fmt"
	"image/color"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg/draw"

	"normtap/rundir"
)

// Percentile sets drawn by PercentilesFigure.
var (
	// BNPaperPercentiles are the lines of Ioffe & Szegedy (2015), Fig. 1 b, c.
	BNPaperPercentiles = []float64{15, 50, 85}
	// TensorBoardPercentiles are the bands of TensorBoard's distribution
	// view: the normal distribution's median and ±0.5, 1, 1.5 σ.
	TensorBoardPercentiles = []float64{7, 16, 31, 50, 69, 84, 93}
)

// Bands names for PercentilesFigure.
const (
	BandsDefault     = "default"
	BandsTensorBoard = "tensorboard"
)

// PercentileSeries is how the percentiles of one neuron move over training.
type PercentileSeries struct {
	Kind   rundir.TapKind // KindStep: X is the step; KindEpoch: X is the epoch
	X      []float64      // steps or epochs, increasing
	Ps     []float64      // the percentiles, 0-100
	Values [][]float64    // Values[k][i]: the Ps[k]-th percentile at X[i]
}

// PercentilesOverTraining computes, for each run, the ps-th percentiles of
// sel.Neuron of sel.Node at every step tap if the run has step taps of the
// node, else at every epoch tap. sel.Epochs, if set, keeps the epoch taps
// of those epochs, or the step taps that fall in them.
func PercentilesOverTraining(runs []*Run, sel Selection, ps []float64) (Selection, []PercentileSeries, error) {
	sel, err := resolve(runs, sel)
	if err != nil {
		return sel, nil, err
	}
	out := make([]PercentileSeries, len(runs))
	for i, r := range runs {
		var entries []rundir.TapEntry
		kind := rundir.KindStep
		if steps := r.Index.Select(sel.Node, rundir.KindStep); len(steps) > 0 {
			for _, e := range steps {
				if sel.Epochs == nil || slices.Contains(sel.Epochs, e.Epoch) {
					entries = append(entries, e)
				}
			}
			if len(entries) == 0 {
				return sel, nil, fmt.Errorf("run %s has no step taps of node %s in epochs %s; it has %s", r.Dir, sel.Node, formatInts(sel.Epochs), describeTaps(r.Index))
			}
		} else {
			kind = rundir.KindEpoch
			if entries, err = epochTaps(r, sel.Node, sel.Epochs, allEpochs); err != nil {
				return sel, nil, err
			}
		}
		samples, err := loadSamples(r, entries, sel.Neuron)
		if err != nil {
			return sel, nil, err
		}
		series := PercentileSeries{Kind: kind, Ps: ps, Values: make([][]float64, len(ps))}
		for _, s := range samples {
			x := float64(s.Step)
			if kind == rundir.KindEpoch {
				x = float64(s.Epoch)
			}
			series.X = append(series.X, x)
			q, err := Percentiles(s.Values, ps)
			if err != nil {
				return sel, nil, err
			}
			for k := range ps {
				series.Values[k] = append(series.Values[k], q[k])
			}
		}
		out[i] = series
	}
	return sel, out, nil
}

// PercentilesFigure draws, one panel per run on a shared y range, the 15th, 50th
// and 85th percentiles of the tapped neuron over training (bands
// BandsDefault), or TensorBoard's shaded 7/16/31/50/69/84/93 bands
// (BandsTensorBoard).
func PercentilesFigure(runs []*Run, sel Selection, bands string) (*Figure, error) {
	ps := BNPaperPercentiles
	switch bands {
	case BandsDefault, "":
	case BandsTensorBoard:
		ps = TensorBoardPercentiles
	default:
		return nil, fmt.Errorf("bands %q: want %s or %s", bands, BandsDefault, BandsTensorBoard)
	}
	sel, series, err := PercentilesOverTraining(runs, sel, ps)
	if err != nil {
		return nil, err
	}
	fig := &Figure{}
	examples, modes := 0, map[rundir.TapMode]bool{}
	for i, r := range runs {
		s := series[i]
		xLabel := "training step"
		if s.Kind == rundir.KindEpoch {
			xLabel = "epoch"
		}
		p := newPanel(fmt.Sprintf("%s · %s · neuron %d", r.Label, sel.Node, sel.Neuron), xLabel, "activation")
		wholeNumbersX(p.Plot)
		if bands == BandsTensorBoard {
			fig.Legend = drawBands(p.Plot, s)
		} else {
			fig.Legend = drawPercentileLines(p.Plot, s)
		}
		fig.Panels = append(fig.Panels, p)
		for _, e := range r.Index.Select(sel.Node, s.Kind) {
			examples = max(examples, e.Examples)
			modes[e.Mode] = true
		}
	}
	sharedRange(yAxes(fig.Panels))
	fig.Caption = fmt.Sprintf("percentiles over the %d %s of each tap", examples, modeNote(modes))
	return fig, nil
}

var (
	medianColour = color.NRGBA{0x00, 0x4C, 0x99, 0xff}
	outerColour  = color.NRGBA{0x4D, 0xA3, 0xE0, 0xff}
	bandColour   = color.NRGBA{0xE0, 0x6C, 0x00, 0xff} // TensorBoard's orange
)

// drawPercentileLines draws the 15th/85th percentiles thin and light and the
// median thick and dark, with markers where there are few taps.
func drawPercentileLines(p *plot.Plot, s PercentileSeries) []LegendEntry {
	outer := lineStyle(outerColour, 1.6)
	median := lineStyle(medianColour, 2.2)
	for k, q := range s.Ps {
		sty, c := outer, outerColour
		if q == 50 {
			sty, c = median, medianColour
		}
		p.Add(xyLine(s.X, s.Values[k], sty))
		if len(s.X) <= markerLimit {
			p.Add(markers(s.X, s.Values[k], c))
		}
	}
	return []LegendEntry{
		{Label: "15th and 85th percentiles", Thumb: &plotter.Line{LineStyle: outer}},
		{Label: "median", Thumb: &plotter.Line{LineStyle: median}},
	}
}

// drawBands shades between symmetric percentile pairs, darker inwards, and
// draws the median on top, like TensorBoard's distribution view.
func drawBands(p *plot.Plot, s PercentileSeries) []LegendEntry {
	var legend []LegendEntry
	n := len(s.Ps)
	for k := 0; k < n/2; k++ {
		alpha := 0.18 + 0.2*float64(k)
		lower, upper := s.Values[k], s.Values[n-1-k]
		ring := make(plotter.XYs, 0, 2*len(s.X))
		for i := range s.X {
			ring = append(ring, plotter.XY{X: s.X[i], Y: lower[i]})
		}
		for i := len(s.X) - 1; i >= 0; i-- {
			ring = append(ring, plotter.XY{X: s.X[i], Y: upper[i]})
		}
		band := &plotter.Polygon{XYs: []plotter.XYs{ring}, Color: withAlpha(bandColour, alpha)}
		if len(s.X) == 1 { // a polygon of one x has no area: draw the band as a bar
			band.LineStyle = lineStyle(withAlpha(bandColour, alpha), 6)
		}
		p.Add(band)
		legend = append(legend, LegendEntry{
			Label: fmt.Sprintf("%g-%gth", s.Ps[k], s.Ps[n-1-k]),
			Thumb: &plotter.Polygon{Color: withAlpha(bandColour, alpha)},
		})
	}
	median := lineStyle(color.NRGBA{0x8A, 0x3B, 0x00, 0xff}, 2)
	p.Add(xyLine(s.X, s.Values[n/2], median))
	return append(legend, LegendEntry{Label: "median", Thumb: &plotter.Line{LineStyle: median}})
}

// markerLimit is the most points a line gets markers on; beyond it they
// crowd the line.
const markerLimit = 15

// markers returns small filled circles at the points.
func markers(x, y []float64, c color.NRGBA) *plotter.Scatter {
	xys := make(plotter.XYs, len(x))
	for i := range x {
		xys[i] = plotter.XY{X: x[i], Y: y[i]}
	}
	return &plotter.Scatter{XYs: xys, GlyphStyle: draw.GlyphStyle{Color: c, Radius: 2.5, Shape: draw.CircleGlyph{}}}
}
