package plots

import (
	"fmt"
	"image/color"
	"slices"
	"strconv"

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
		kind, entries, err := percentileEntries(r, sel)
		if err != nil {
			return sel, nil, err
		}
		samples, err := loadSamples(r, entries, sel.Neuron)
		if err != nil {
			return sel, nil, err
		}
		series := PercentileSeries{Kind: kind, Ps: ps, Values: make([][]float64, len(ps))}
		for _, s := range samples {
			series.X = append(series.X, tapX(kind, s.Epoch, s.Step))
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

// tapX is a tap's place on the x axis: its step, or its epoch.
func tapX(kind rundir.TapKind, epoch, step int) float64 {
	if kind == rundir.KindEpoch {
		return float64(epoch)
	}
	return float64(step)
}

// percentileEntries are the taps PercentilesOverTraining draws for r: its
// step taps of sel.Node if it has any, else its epoch taps, kept to
// sel.Epochs when set.
func percentileEntries(r *Run, sel Selection) (rundir.TapKind, []rundir.TapEntry, error) {
	steps := r.Index.Select(sel.Node, rundir.KindStep)
	if len(steps) == 0 {
		entries, err := epochTaps(r, sel.Node, sel.Epochs, allEpochs)
		return rundir.KindEpoch, entries, err
	}
	var entries []rundir.TapEntry
	for _, e := range steps {
		if sel.Epochs == nil || slices.Contains(sel.Epochs, e.Epoch) {
			entries = append(entries, e)
		}
	}
	if len(entries) == 0 {
		return rundir.KindStep, nil, fmt.Errorf("run %s has no step taps of node %s in epochs %s; it has %s", r.Dir, sel.Node, formatInts(sel.Epochs), describeTaps(r.Index))
	}
	return rundir.KindStep, entries, nil
}

// NeuronPercentileRow is one neuron's 15th, 50th and 85th percentiles at
// one tap: a row of the per-neuron table of percentiles --neuron all.
type NeuronPercentileRow struct {
	Run, Dir, Node string
	Neuron         int
	Kind           rundir.TapKind
	Epoch, Step    int
	P15, P50, P85  float64
}

// NeuronPercentileHeader is the header of that table's CSV.
var NeuronPercentileHeader = []string{"run", "dir", "node", "neuron", "kind", "epoch", "step", "p15", "p50", "p85"}

func (row NeuronPercentileRow) record() []string {
	return []string{row.Run, row.Dir, row.Node, strconv.Itoa(row.Neuron), string(row.Kind), strconv.Itoa(row.Epoch), strconv.Itoa(row.Step),
		formatFloat(row.P15), formatFloat(row.P50), formatFloat(row.P85)}
}

// WriteNeuronPercentilesCSV writes rows as CSV with NeuronPercentileHeader, atomically.
func WriteNeuronPercentilesCSV(path string, rows []NeuronPercentileRow) error {
	recs := make([][]string, len(rows))
	for i, row := range rows {
		recs[i] = row.record()
	}
	return rundir.WriteCSV(path, NeuronPercentileHeader, recs)
}

// MedianOverNeurons computes, for each run, every tapped neuron's 15th,
// 50th and 85th percentiles at each tap (the rows, by neuron then tap),
// and the series of the 25th, 50th and 75th percentiles over the neurons
// of their medians: how the typical neuron's median moves, and how far
// apart the neurons' medians are.
func MedianOverNeurons(runs []*Run, sel Selection) (Selection, []PercentileSeries, []NeuronPercentileRow, error) {
	sel, err := resolve(runs, sel)
	if err != nil {
		return sel, nil, nil, err
	}
	var rows []NeuronPercentileRow
	out := make([]PercentileSeries, len(runs))
	for i, r := range runs {
		kind, entries, err := percentileEntries(r, sel)
		if err != nil {
			return sel, nil, nil, err
		}
		neurons, err := commonNeurons(r, entries)
		if err != nil {
			return sel, nil, nil, err
		}
		series := PercentileSeries{Kind: kind, Ps: []float64{25, 50, 75}, Values: make([][]float64, 3)}
		var runRows []NeuronPercentileRow
		for _, e := range entries {
			cols, err := tapColumns(r, e)
			if err != nil {
				return sel, nil, nil, err
			}
			medians := make([]float64, len(neurons))
			for k, n := range neurons {
				q, err := Percentiles(cols[slices.Index(e.Neurons, n)], BNPaperPercentiles)
				if err != nil {
					return sel, nil, nil, err
				}
				medians[k] = q[1]
				runRows = append(runRows, NeuronPercentileRow{Run: r.Label, Dir: r.Dir, Node: sel.Node, Neuron: n, Kind: kind,
					Epoch: e.Epoch, Step: e.Step, P15: q[0], P50: q[1], P85: q[2]})
			}
			q, _ := Percentiles(medians, series.Ps)
			series.X = append(series.X, tapX(kind, e.Epoch, e.Step))
			for k := range q {
				series.Values[k] = append(series.Values[k], q[k])
			}
		}
		slices.SortStableFunc(runRows, func(a, b NeuronPercentileRow) int { return a.Neuron - b.Neuron })
		rows = append(rows, runRows...)
		out[i] = series
	}
	return sel, out, rows, nil
}

// PercentilesFigure draws, one panel per run on a shared y range, the 15th, 50th
// and 85th percentiles of the tapped neuron over training (bands
// BandsDefault), or TensorBoard's shaded 7/16/31/50/69/84/93 bands
// (BandsTensorBoard).
func PercentilesFigure(runs []*Run, sel Selection, bands string) (*Figure, error) {
	fig, _, err := percentilesFigure(runs, sel, bands)
	return fig, err
}

// percentilesFigure is PercentilesFigure, with the per-neuron table of
// sel.AllNeurons.
func percentilesFigure(runs []*Run, sel Selection, bands string) (*Figure, []NeuronPercentileRow, error) {
	ps := BNPaperPercentiles
	switch bands {
	case BandsDefault, "":
	case BandsTensorBoard:
		ps = TensorBoardPercentiles
	default:
		return nil, nil, fmt.Errorf("bands %q: want %s or %s", bands, BandsDefault, BandsTensorBoard)
	}
	var series []PercentileSeries
	var rows []NeuronPercentileRow
	var err error
	if sel.AllNeurons {
		sel, series, rows, err = MedianOverNeurons(runs, sel)
	} else {
		sel, series, err = PercentilesOverTraining(runs, sel, ps)
	}
	if err != nil {
		return nil, nil, err
	}
	fig := &Figure{}
	examples, modes := 0, map[rundir.TapMode]bool{}
	for i, r := range runs {
		s := series[i]
		xLabel := "training step"
		if s.Kind == rundir.KindEpoch {
			xLabel = "epoch"
		}
		neuron := fmt.Sprintf("neuron %d", sel.Neuron)
		if sel.AllNeurons {
			neuron = "all neurons"
		}
		p := newPanel(fmt.Sprintf("%s · %s · %s", r.Label, sel.Node, neuron), xLabel, "activation")
		wholeNumbersX(p.Plot)
		switch {
		case sel.AllNeurons:
			fig.Legend = drawNeuronMedians(p.Plot, s)
		case bands == BandsTensorBoard:
			fig.Legend = drawBands(p.Plot, s)
		default:
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
	if sel.AllNeurons {
		fig.Caption = fmt.Sprintf("each neuron's median over the %d %s of each tap; line: their median over the neurons, band: their 25-75%%", examples, modeNote(modes))
	}
	return fig, rows, nil
}

// drawNeuronMedians draws the median over neurons of their medians over
// the shaded band of their 25th to 75th percentiles.
func drawNeuronMedians(p *plot.Plot, s PercentileSeries) []LegendEntry {
	q := NeuronQuartiles{Epochs: s.X, Q25: s.Values[0], Median: s.Values[1], Q75: s.Values[2]}
	addQuartiles(p, q, medianColour)
	return []LegendEntry{{Label: "median over neurons, 25-75% shaded", Thumb: bandThumb{medianColour}}}
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
