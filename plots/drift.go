package plots

import (
	"fmt"
	"image/color"
	"io"
	"math"
	"slices"
	"strconv"
	"text/tabwriter"

	"gonum.org/v1/plot"

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

// driftOfRun is DriftTable for one run, with sel resolved: the rows of
// sel.Neuron, or with sel.AllNeurons those of every neuron in all the
// epochs drawn, ordered by neuron and then epoch.
func driftOfRun(r *Run, sel Selection) ([]DriftRow, error) {
	entries, err := epochTaps(r, sel.Node, sel.Epochs, allEpochs)
	if err != nil {
		return nil, err
	}
	if !sel.AllNeurons {
		samples, err := loadSamples(r, entries, sel.Neuron)
		if err != nil {
			return nil, err
		}
		columns := make([][]float64, len(samples))
		for i, s := range samples {
			columns[i] = s.Values
		}
		return driftOfNeuron(r, sel.Node, sel.Neuron, entries, columns)
	}
	neurons, err := commonNeurons(r, entries)
	if err != nil {
		return nil, err
	}
	// by neuron, then epoch: one tap file read at a time
	perNeuron := make([][][]float64, len(neurons))
	for _, e := range entries {
		cols, err := tapColumns(r, e)
		if err != nil {
			return nil, err
		}
		for k, n := range neurons {
			perNeuron[k] = append(perNeuron[k], cols[slices.Index(e.Neurons, n)])
		}
	}
	var rows []DriftRow
	for k, n := range neurons {
		nr, err := driftOfNeuron(r, sel.Node, n, entries, perNeuron[k])
		if err != nil {
			return nil, err
		}
		rows = append(rows, nr...)
	}
	return rows, nil
}

// driftOfNeuron measures one neuron's drift: columns[i] is its values at
// entries[i], the first being the reference.
func driftOfNeuron(r *Run, node string, neuron int, entries []rundir.TapEntry, columns [][]float64) ([]DriftRow, error) {
	ref := columns[0]
	refMean, refStd := MeanStd(ref)
	rows := make([]DriftRow, len(columns))
	for i, values := range columns {
		w1, err := Wasserstein1(values, ref)
		if err != nil {
			return nil, fmt.Errorf("run %s, epoch %d: %w", r.Dir, entries[i].Epoch, err)
		}
		mean, std := MeanStd(values)
		rows[i] = DriftRow{
			Run: r.Label, Dir: r.Dir, Node: node, Neuron: neuron,
			Epoch: entries[i].Epoch, Step: entries[i].Step, Examples: len(values),
			W1: w1, Mean: mean, Std: std,
			MeanShift: mean - refMean, StdShift: std - refStd, StdRatio: std / refStd,
		}
	}
	return rows, nil
}

// driftMeasures are the three panels of the drift figure and the row
// field each draws.
var driftMeasures = []struct {
	title, yLabel string
	value         func(DriftRow) float64
}{
	{"Wasserstein-1 distance", "W1 (activation units)", func(r DriftRow) float64 { return r.W1 }},
	{"mean shift", "mean - reference mean", func(r DriftRow) float64 { return r.MeanShift }},
	{"std ratio", "std / reference std", func(r DriftRow) float64 { return r.StdRatio }},
}

// NeuronQuartiles is one measure over the neurons (of one or more runs) at
// each epoch: its median and quartiles, over the neurons with a finite value.
type NeuronQuartiles struct {
	Epochs           []float64
	Q25, Median, Q75 []float64
	Neurons          []int // how many values each epoch summarises
}

// QuartilesByEpoch summarises value(row) over rows at each epoch (numpy's
// percentile 25, 50, 75); non-finite values (a std ratio against a
// constant reference) are left out, and an epoch with none is skipped.
func QuartilesByEpoch(rows []DriftRow, value func(DriftRow) float64) NeuronQuartiles {
	at := map[int][]float64{}
	for _, r := range rows {
		if v := value(r); isFinite(v) {
			at[r.Epoch] = append(at[r.Epoch], v)
		}
	}
	var q NeuronQuartiles
	for _, ep := range sortedKeys(at) {
		p, _ := Percentiles(at[ep], []float64{25, 50, 75})
		q.Epochs = append(q.Epochs, float64(ep))
		q.Q25, q.Median, q.Q75 = append(q.Q25, p[0]), append(q.Median, p[1]), append(q.Q75, p[2])
		q.Neurons = append(q.Neurons, len(at[ep]))
	}
	return q
}

// DriftFigure draws the drift of each configuration, overlaid: the
// Wasserstein-1 distance from the reference epoch, the mean shift and the
// std ratio against the epoch. Runs that differ only in --seed are one
// configuration (their mean over a band); with sel.AllNeurons each line is
// the median over every tapped neuron (of all its seeds) with the 25-75%
// band.
func DriftFigure(runs []*Run, sel Selection) (*Figure, []DriftRow, error) {
	sel, err := resolve(runs, sel)
	if err != nil {
		return nil, nil, err
	}
	var rows []DriftRow
	panels := make([]Panel, len(driftMeasures))
	for k, m := range driftMeasures {
		panels[k] = newPanel(m.title, "epoch", m.yLabel)
		wholeNumbersX(panels[k].Plot)
	}
	fig := &Figure{}
	groups := GroupBySeed(runs)
	refs, modes, examples, neurons := map[int]bool{}, map[rundir.TapMode]bool{}, 0, map[int]bool{}
	for i, g := range groups {
		var groupRows [][]DriftRow
		for _, r := range g.Runs {
			runRows, err := driftOfRun(r, sel)
			if err != nil {
				return nil, nil, err
			}
			rows = append(rows, runRows...)
			groupRows = append(groupRows, runRows)
			refs[runRows[0].Epoch] = true
			for _, row := range runRows {
				neurons[row.Neuron] = true
			}
			for _, e := range r.Index.Select(sel.Node, rundir.KindEpoch) {
				modes[e.Mode] = true
				examples = max(examples, e.Examples)
			}
		}
		c := categoricalColor(i)
		for k, m := range driftMeasures {
			if sel.AllNeurons {
				q := QuartilesByEpoch(slices.Concat(groupRows...), m.value)
				addQuartiles(panels[k].Plot, q, c)
				continue
			}
			xs, ys := make([][]float64, len(groupRows)), make([][]float64, len(groupRows))
			for j, rr := range groupRows {
				for _, row := range rr {
					xs[j], ys[j] = append(xs[j], float64(row.Epoch)), append(ys[j], m.value(row))
				}
			}
			addSeries(panels[k].Plot, xs, ys, c)
		}
		legend := seriesLegend(g, c)
		if sel.AllNeurons {
			legend.Thumb = bandThumb{c}
		}
		fig.Legend = append(fig.Legend, legend)
	}
	reference := "the first epoch drawn"
	if len(refs) == 1 {
		reference = fmt.Sprintf("epoch %d", sortedKeys(refs)[0])
	}
	unit := unitOf(runs, sel.Node)
	what := fmt.Sprintf("%s %d", unit, sel.Neuron)
	if sel.AllNeurons {
		what = fmt.Sprintf("median and 25-75%% band over the %d tapped %ss (of every seed)", len(neurons), unit)
	}
	fig.Caption = fmt.Sprintf("%s · %s · distributions over %d %s%s · reference: %s", sel.Node, what, examples, modeNote(modes), channelNote(unit), reference)
	if !sel.AllNeurons {
		fig.Caption += bandNote(groups)
	}
	panels[0].Plot.Y.Min = 0
	fig.Panels = panels
	return fig, rows, nil
}

// addQuartiles draws a median line over its shaded 25-75% band.
func addQuartiles(p *plot.Plot, q NeuronQuartiles, c color.NRGBA) {
	addBand(p, q.Epochs, q.Median, q.Q25, q.Q75, c)
}

// PrintDriftSummary writes, per run label and epoch, the median and
// quartiles over neurons of rows' W1, mean shift and std ratio: the
// stdout table of --neuron all (the CSV holds every neuron's row).
func PrintDriftSummary(w io.Writer, rows []DriftRow) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "run\tnode\tepoch\tneurons\tW1 median\tW1 25-75%\tmean shift median\tstd ratio median\t")
	var labels []string
	byRun := map[string][]DriftRow{}
	for _, r := range rows {
		if _, ok := byRun[r.Run]; !ok {
			labels = append(labels, r.Run)
		}
		byRun[r.Run] = append(byRun[r.Run], r)
	}
	for _, label := range labels {
		rr := byRun[label]
		w1 := QuartilesByEpoch(rr, driftMeasures[0].value)
		shift := QuartilesByEpoch(rr, driftMeasures[1].value)
		ratio := QuartilesByEpoch(rr, driftMeasures[2].value)
		for i, ep := range w1.Epochs {
			ratioMedian := math.NaN()
			if j := slices.Index(ratio.Epochs, ep); j >= 0 {
				ratioMedian = ratio.Median[j]
			}
			fmt.Fprintf(tw, "%s\t%s\t%g\t%d\t%.4g\t%.4g-%.4g\t%+.4g\t%.4g\t\n", label, rr[0].Node, ep, w1.Neurons[i], w1.Median[i], w1.Q25[i], w1.Q75[i], shift.Median[i], ratioMedian)
		}
	}
	return tw.Flush()
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
