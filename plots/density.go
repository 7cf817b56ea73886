package plots

import (
	"fmt"
	"image/color"
	"math"
	"slices"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"

	"normtap/rundir"
)

// Density curves are evaluated on a grid of at least minGridPoints, and
// fine enough to put gridPerBandwidth points in the smallest bandwidth,
// up to maxGridPoints.
const (
	minGridPoints    = 512
	maxGridPoints    = 8192
	gridPerBandwidth = 4
)

// Curve is a density estimate of one tapped sample.
type Curve struct {
	Epoch, Step int
	X, Y        []float64 // X is the grid, shared by all curves of a figure
	Bandwidth   float64   // Silverman's rule on the sample
	Examples    int
	Mode        rundir.TapMode
	// Constant marks a sample whose values are all Value (a dead unit): it
	// has no density to estimate, so Y is nil and figures draw a spike.
	Constant bool
	Value    float64
}

// DensityCurves estimates, for each run, the density of sel.Neuron of
// sel.Node at each selected epoch (pick chooses among the tapped epochs
// when sel.Epochs is nil) on one grid shared by all runs: from the smallest
// to the largest value of any sample, widened by three of its bandwidths,
// and fine enough for the narrowest curve.
func DensityCurves(runs []*Run, sel Selection, pick func([]int) []int) (Selection, [][]Curve, error) {
	sel, err := resolve(runs, sel)
	if err != nil {
		return sel, nil, err
	}
	samples := make([][]Sample, len(runs))
	bandwidths := make([][]float64, len(runs))
	lo, hi, narrowest := math.Inf(1), math.Inf(-1), math.Inf(1)
	constLo, constHi := math.Inf(1), math.Inf(-1)
	for i, r := range runs {
		entries, err := epochTaps(r, sel.Node, sel.Epochs, pick)
		if err != nil {
			return sel, nil, err
		}
		if samples[i], err = loadSamples(r, entries, sel.Neuron); err != nil {
			return sel, nil, err
		}
		for _, s := range samples[i] {
			smallest, largest := slices.Min(s.Values), slices.Max(s.Values)
			if smallest == largest { // constant: a spike, not a kernel's bump
				bandwidths[i] = append(bandwidths[i], 0)
				constLo, constHi = math.Min(constLo, smallest), math.Max(constHi, smallest)
				continue
			}
			h := SilvermanBandwidth(s.Values)
			bandwidths[i] = append(bandwidths[i], h)
			lo = math.Min(lo, smallest-3*h)
			hi = math.Max(hi, largest+3*h)
			narrowest = math.Min(narrowest, h)
		}
	}
	lo, hi = spikeRange(lo, hi, constLo, constHi)
	points := minGridPoints
	if isFinite(narrowest) {
		points = int(math.Min(maxGridPoints, math.Max(minGridPoints, gridPerBandwidth*(hi-lo)/narrowest)))
	}
	grid := Grid(lo, hi, points)
	curves := make([][]Curve, len(runs))
	for i := range runs {
		for j, s := range samples[i] {
			if bandwidths[i][j] == 0 {
				curves[i] = append(curves[i], Curve{Epoch: s.Epoch, Step: s.Step, X: grid, Examples: len(s.Values), Mode: s.Mode, Constant: true, Value: s.Values[0]})
				continue
			}
			y, err := KDE(s.Values, grid, bandwidths[i][j])
			if err != nil {
				return sel, nil, fmt.Errorf("run %s, epoch %d: %w", runs[i].Dir, s.Epoch, err)
			}
			curves[i] = append(curves[i], Curve{Epoch: s.Epoch, Step: s.Step, X: grid, Y: y, Bandwidth: bandwidths[i][j], Examples: len(s.Values), Mode: s.Mode})
		}
	}
	return sel, curves, nil
}

// spikeRange widens the grid [lo, hi] of the estimated curves to take in
// the constant samples' values [constLo, constHi] with a margin; with no
// estimated curve, the range is the constants' widened by a tenth of their
// span or magnitude (1 at 0).
func spikeRange(lo, hi, constLo, constHi float64) (float64, float64) {
	if constLo > constHi { // no constant sample
		return lo, hi
	}
	if lo > hi { // only constant samples
		margin := math.Max((constHi-constLo)/10, math.Max(math.Abs(constLo), math.Abs(constHi))/10)
		if margin == 0 {
			margin = 1
		}
		return constLo - margin, constHi + margin
	}
	margin := (hi - lo) / 20
	return math.Min(lo, constLo-margin), math.Max(hi, constHi+margin)
}

// spikeHeight is how tall constant samples' spikes stand in a panel: the
// tallest estimated curve's peak, or 1 in a panel of spikes only.
func spikeHeight(curves []Curve) float64 {
	peak := 0.0
	for _, c := range curves {
		for _, y := range c.Y {
			peak = math.Max(peak, y)
		}
	}
	if peak == 0 {
		return 1
	}
	return peak
}

// constantNote names the constant samples drawn as spikes, for captions.
func constantNote(runs []*Run, curves [][]Curve) string {
	var parts []string
	for i, cs := range curves {
		for _, c := range cs {
			if c.Constant {
				parts = append(parts, fmt.Sprintf("%s epoch %d (all %d values %.4g)", runs[i].Label, c.Epoch, c.Examples, c.Value))
			}
		}
	}
	if len(parts) == 0 {
		return ""
	}
	if len(parts) > 3 {
		parts = append(parts[:3], fmt.Sprintf("%d more", len(parts)-3))
	}
	return " · constant (a dead unit), drawn as a spike: " + strings.Join(parts, ", ")
}

// DensityFigure is the seed figure: one panel per run, side by side on a shared x
// range, each with one density curve per epoch (by default 1, 10 and 30
// where tapped, else the first, middle and last tapped epochs).
func DensityFigure(runs []*Run, sel Selection) (*Figure, error) {
	sel, curves, err := DensityCurves(runs, sel, seedEpochs)
	if err != nil {
		return nil, err
	}
	colours := epochColours(curves)
	groups := GroupBySeed(runs)
	index := map[*Run]int{}
	for i, r := range runs {
		index[r] = i
	}
	unit := unitOf(runs, sel.Node)
	caption := fmt.Sprintf("%s · %s%s%s", SilvermanRule, examplesNote(curves), constantNote(runs, curves), channelNote(unit))
	fig := &Figure{}
	seeded := false
	for _, g := range groups {
		p := newPanel(fmt.Sprintf("%s · %s · %s %d", g.Label, sel.Node, unit, sel.Neuron), "activation", "density")
		// one run: bold curves; several seeds of one configuration: each
		// seed's curves light and thin, overlaid
		width, fill := 2.0, 0.08
		if len(g.Runs) > 1 {
			width, fill, seeded = 1.2, 0.02, true
		}
		var panelCurves []Curve
		for _, r := range g.Runs {
			panelCurves = append(panelCurves, curves[index[r]]...)
		}
		spike := spikeHeight(panelCurves)
		for _, c := range panelCurves {
			colour := colours[c.Epoch]
			if len(g.Runs) > 1 {
				colour = withAlpha(colour, 0.7)
			}
			if c.Constant {
				p.Plot.Add(xyLine([]float64{c.Value, c.Value}, []float64{0, spike}, lineStyle(colour, width+0.5)),
					markers([]float64{c.Value}, []float64{spike}, colours[c.Epoch]))
				continue
			}
			line := xyLine(c.X, c.Y, lineStyle(colour, width))
			line.FillColor = withAlpha(colours[c.Epoch], fill)
			p.Plot.Add(line)
		}
		p.Plot.Y.Min = 0
		fig.Panels = append(fig.Panels, p)
	}
	if seeded {
		caption += " · runs differing only in --seed share a panel, one light curve per seed"
	}
	fig.Caption = caption
	for _, ep := range sortedKeys(colours) {
		fig.Legend = append(fig.Legend, LegendEntry{Label: fmt.Sprintf("epoch %d", ep), Thumb: &plotter.Line{LineStyle: lineStyle(colours[ep], 2.5)}})
	}
	sharedRange(xAxes(fig.Panels))
	return fig, nil
}

// epochColours gives each epoch drawn a distinct colour, the same in
// every panel, in epoch order.
func epochColours(curves [][]Curve) map[int]color.NRGBA {
	var epochs []int
	for _, cs := range curves {
		for _, c := range cs {
			epochs = append(epochs, c.Epoch)
		}
	}
	slices.Sort(epochs)
	epochs = slices.Compact(epochs)
	colours := map[int]color.NRGBA{}
	for i, ep := range epochs {
		colours[ep] = categoricalColor(i)
	}
	return colours
}

// examplesNote says over how many and which examples the densities were
// estimated.
func examplesNote(curves [][]Curve) string {
	lo, hi := math.MaxInt, 0
	modes := map[rundir.TapMode]bool{}
	for _, cs := range curves {
		for _, c := range cs {
			lo, hi = min(lo, c.Examples), max(hi, c.Examples)
			modes[c.Mode] = true
		}
	}
	count := fmt.Sprintf("%d", lo)
	if lo != hi {
		count = fmt.Sprintf("%d-%d", lo, hi)
	}
	return count + " " + modeNote(modes) + " per curve"
}

// modeNote names the examples that taps of the given modes ran on.
func modeNote(modes map[rundir.TapMode]bool) string {
	switch {
	case len(modes) != 1:
		return "examples"
	case modes[rundir.ModeProbe]:
		return "probe examples (eval mode)"
	default:
		return "training-batch examples (training mode)"
	}
}

func sortedKeys[V any](m map[int]V) []int {
	keys := make([]int, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func xAxes(panels []Panel) []*plot.Axis {
	axes := make([]*plot.Axis, len(panels))
	for i, p := range panels {
		axes[i] = &p.Plot.X
	}
	return axes
}

func yAxes(panels []Panel) []*plot.Axis {
	axes := make([]*plot.Axis, len(panels))
	for i, p := range panels {
		axes[i] = &p.Plot.Y
	}
	return axes
}

// channelNote says, for channel taps (unit from unitOf), that a curve's
// values are every position of every example.
func channelNote(unit string) string {
	if unit != "channel" {
		return ""
	}
	return " (channel taps: values, one per position of each example)"
}
