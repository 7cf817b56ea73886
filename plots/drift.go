package plots

import (
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"

	"normtap/rundir"
)

// DriftRow is how far one tapped epoch's distribution of a neuron has moved
// from the run's first tapped (or first selected) epoch, the reference.
type DriftRow struct {
	Run       string // the run's label
	Dir       string
	Node      string
	Neuron    int
	Epoch     int
	Step      int
	Examples  int
	W1        float64 // Wasserstein-1 distance to the reference distribution
	Mean      float64
	Std       float64 // population standard deviation
	MeanShift float64 // Mean minus the reference's
	StdShift  float64 // Std minus the reference's
	StdRatio  float64 // Std over the reference's (+Inf or NaN when that is 0)
}

// DriftHeader is the header of the drift CSV, in DriftRow's field order.
var DriftHeader = []string{"run", "dir", "node", "neuron", "epoch", "step", "examples", "w1", "mean", "std", "mean_shift", "std_shift", "std_ratio"}

// DriftTable measures, for each run and each tapped epoch (or each of
// sel.Epochs), the drift of sel.Neuron of sel.Node from the first of
// those epochs.
func DriftTable(runs []*Run, sel Selection) (Selection, []DriftRow, error) {
	sel, err := resolve(runs, sel)
	if err != nil {
		return sel, nil, err
	}
	var rows []DriftRow
	for _, r := range runs {
		runRows, err := driftOfRun(r, sel)
		if err != nil {
			return sel, nil, err
		}
		rows = append(rows, runRows...)
	}
	return sel, rows, nil
}

// driftOfRun is DriftTable for one run, with sel resolved.
func driftOfRun(r *Run, sel Selection) ([]DriftRow, error) {
	entries, err := epochTaps(r, sel.Node, sel.Epochs, allEpochs)
	if err != nil {
		return nil, err
	}
	samples, err := loadSamples(r, entries, sel.Neuron)
	if err != nil {
		return nil, err
	}
	ref := samples[0].Values
	refMean, refStd := MeanStd(ref)
	rows := make([]DriftRow, len(samples))
	for i, s := range samples {
		w1, err := Wasserstein1(s.Values, ref)
		if err != nil {
			return nil, fmt.Errorf("run %s, epoch %d: %w", r.Dir, s.Epoch, err)
		}
		mean, std := MeanStd(s.Values)
		rows[i] = DriftRow{
			Run: r.Label, Dir: r.Dir, Node: sel.Node, Neuron: sel.Neuron,
			Epoch: s.Epoch, Step: s.Step, Examples: len(s.Values),
			W1: w1, Mean: mean, Std: std,
			MeanShift: mean - refMean, StdShift: std - refStd, StdRatio: std / refStd,
		}
	}
	return rows, nil
}

// DriftFigure draws the drift of each run, overlaid: the Wasserstein-1
// distance from the reference epoch, the mean shift and the std ratio
// against the epoch.
func DriftFigure(runs []*Run, sel Selection) (*Figure, []DriftRow, error) {
	sel, err := resolve(runs, sel)
	if err != nil {
		return nil, nil, err
	}
	var rows []DriftRow
	w1 := newPanel("Wasserstein-1 distance", "epoch", "W1 (activation units)")
	shift := newPanel("mean shift", "epoch", "mean - reference mean")
	ratio := newPanel("std ratio", "epoch", "std / reference std")
	for _, p := range []Panel{w1, shift, ratio} {
		wholeNumbersX(p.Plot)
	}
	fig := &Figure{}
	refs, modes, examples := map[int]bool{}, map[rundir.TapMode]bool{}, 0
	for i, r := range runs {
		runRows, err := driftOfRun(r, sel)
		if err != nil {
			return nil, nil, err
		}
		rows = append(rows, runRows...)
		refs[runRows[0].Epoch] = true
		for _, e := range r.Index.Select(sel.Node, rundir.KindEpoch) {
			modes[e.Mode] = true
			examples = max(examples, e.Examples)
		}
		var epochs, w1s, shifts, ratioEpochs, ratios []float64
		for _, row := range runRows {
			epochs = append(epochs, float64(row.Epoch))
			w1s = append(w1s, row.W1)
			shifts = append(shifts, row.MeanShift)
			if isFinite(row.StdRatio) { // not when the reference is constant
				ratioEpochs = append(ratioEpochs, float64(row.Epoch))
				ratios = append(ratios, row.StdRatio)
			}
		}
		c := categoricalColor(i)
		sty := lineStyle(c, 2)
		for _, panel := range []struct {
			x, y []float64
			add  func(...plot.Plotter)
		}{{epochs, w1s, w1.Plot.Add}, {epochs, shifts, shift.Plot.Add}, {ratioEpochs, ratios, ratio.Plot.Add}} {
			if len(panel.x) == 0 {
				continue
			}
			panel.add(xyLine(panel.x, panel.y, sty))
			if len(panel.x) <= markerLimit {
				panel.add(markers(panel.x, panel.y, c))
			}
		}
		fig.Legend = append(fig.Legend, LegendEntry{Label: r.Label, Thumb: &plotter.Line{LineStyle: lineStyle(c, 2.5)}})
	}
	reference := "the first epoch drawn"
	if len(refs) == 1 {
		reference = fmt.Sprintf("epoch %d", sortedKeys(refs)[0])
	}
	fig.Caption = fmt.Sprintf("%s · neuron %d · distributions over %d %s · reference: %s", sel.Node, sel.Neuron, examples, modeNote(modes), reference)
	w1.Plot.Y.Min = 0
	fig.Panels = append(fig.Panels, w1, shift, ratio)
	return fig, rows, nil
}

func formatFloat(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }

func (row DriftRow) record() []string {
	return []string{row.Run, row.Dir, row.Node, strconv.Itoa(row.Neuron), strconv.Itoa(row.Epoch), strconv.Itoa(row.Step), strconv.Itoa(row.Examples),
		formatFloat(row.W1), formatFloat(row.Mean), formatFloat(row.Std), formatFloat(row.MeanShift), formatFloat(row.StdShift), formatFloat(row.StdRatio)}
}

// WriteDriftCSV writes rows as CSV with DriftHeader, atomically.
func WriteDriftCSV(path string, rows []DriftRow) error {
	recs := make([][]string, len(rows))
	for i, row := range rows {
		recs[i] = row.record()
	}
	return rundir.WriteCSV(path, DriftHeader, recs)
}

// PrintDriftTable writes rows as an aligned text table.
func PrintDriftTable(w io.Writer, rows []DriftRow) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "run\tnode\tneuron\tepoch\tstep\texamples\tW1\tmean\tstd\tmean shift\tstd shift\tstd ratio\t")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%.4g\t%.4g\t%.4g\t%+.4g\t%+.4g\t%.4g\t\n",
			r.Run, r.Node, r.Neuron, r.Epoch, r.Step, r.Examples, r.W1, r.Mean, r.Std, r.MeanShift, r.StdShift, r.StdRatio)
	}
	return tw.Flush()
}
