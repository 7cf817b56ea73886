package plots

import (
	"errors"
	"fmt"
	"image/color"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"normtap/rundir"
)

// SweepMetrics are the metrics a sweep figure draws: a column of the last
// row of each run's metrics.csv (test_error is 1 − test_acc).
var SweepMetrics = []string{"test_acc", "test_error", "test_loss", "train_loss", "wall_s", "examples_per_s"}

// SeedFlag is the varied flag a sweep figure averages over.
const SeedFlag = "seed"

// SweepRun is one run of a sweep as its figures see it.
type SweepRun struct {
	Root   string            // the sweep root it belongs to
	Dir    string            // its directory
	Name   string            // its directory's name under the root
	Values map[string]string // varied flag → its value
	Rows   []rundir.Metrics  // metrics.csv; the last row is the final one
}

// Sweep is the runs of one or more sweep roots.
type Sweep struct {
	Roots []string
	Flags []string // the varied flags, in --vary order (over all roots)
	// order[flag] lists each flag's values in --vary order.
	order map[string][]string
	Runs  []SweepRun
	// Unfinished names the runs left out: no metrics yet, or fewer epochs
	// than their config asks for.
	Unfinished []string
}

// LoadSweep reads each root's sweep.json and the metrics of its finished
// runs.
func LoadSweep(roots []string) (*Sweep, error) {
	if len(roots) == 0 {
		return nil, errors.New("no sweep roots")
	}
	s := &Sweep{Roots: roots, order: map[string][]string{}}
	for _, root := range roots {
		ix, err := rundir.ReadSweepIndex(root)
		if err != nil {
			return nil, err
		}
		for _, a := range ix.Vary {
			if !slices.Contains(s.Flags, a.Flag) {
				s.Flags = append(s.Flags, a.Flag)
			}
			for _, v := range a.Values {
				if !slices.Contains(s.order[a.Flag], v) {
					s.order[a.Flag] = append(s.order[a.Flag], v)
				}
			}
		}
		for _, e := range ix.Runs {
			dir := filepath.Join(root, e.Dir)
			r := SweepRun{Root: root, Dir: dir, Name: e.Dir, Values: e.Values}
			if !runFinished(dir, &r) {
				s.Unfinished = append(s.Unfinished, dir)
				continue
			}
			s.Runs = append(s.Runs, r)
		}
	}
	if len(s.Runs) == 0 {
		return nil, fmt.Errorf("no finished runs in %s (run the sweep first)", strings.Join(roots, ", "))
	}
	return s, nil
}

// runFinished reads r's metrics and reports whether it has every epoch its
// config.json asks for (or reached its step limit).
func runFinished(dir string, r *SweepRun) bool {
	cfg, err := rundir.ReadConfig(dir)
	if err != nil {
		return false
	}
	rows, err := rundir.ReadMetrics(dir)
	if err != nil || len(rows) == 0 {
		return false
	}
	r.Rows = rows
	last := rows[len(rows)-1]
	return last.Epoch >= cfg.Config.Epochs || cfg.Config.MaxSteps > 0 && last.Step >= cfg.Config.MaxSteps
}

// metricValue is metric's value in row m.
func metricValue(m rundir.Metrics, metric string) (float64, error) {
	switch metric {
	case "test_acc":
		return m.TestAcc, nil
	case "test_error":
		return 1 - m.TestAcc, nil
	case "test_loss":
		return m.TestLoss, nil
	case "train_loss":
		return m.TrainLoss, nil
	case "wall_s":
		return m.WallS, nil
	case "examples_per_s":
		return m.ExamplesPerS, nil
	}
	return 0, fmt.Errorf("--metric %q: want one of %s", metric, strings.Join(SweepMetrics, ", "))
}

// SweepRow is one point of a sweep figure: the runs of one group (the
// values of the other varied flags, seed aside) at one value of x.
type SweepRow struct {
	Group  []string // values of SweepTable.GroupFlags
	X      string
	N      int     // runs (seeds) aggregated
	Mean   float64 //
	SD     float64 // sample standard deviation (n − 1); NaN for one run
	Min    float64
	Max    float64
	Lo, Hi float64 // the band drawn: min–max below BandSDFrom runs, mean ± sd from it
}

// BandSDFrom is the number of runs from which the band is ±1 sd rather
// than min–max.
const BandSDFrom = 5

// SweepTable is a sweep's final metric by group and x.
type SweepTable struct {
	X          string   // the flag on the x axis
	Metric     string   // one of SweepMetrics
	GroupFlags []string // the other varied flags (seed aside); "sweep" first when several roots
	Rows       []SweepRow
	Numeric    bool // every x value is a number
}

// AggregateSweep takes each run's final metric and aggregates the runs
// that differ only in their seed: mean, sample sd, min, max. Rows come in
// --vary order of the groups, then by x (numerically when numeric).
func AggregateSweep(s *Sweep, x, metric string) (*SweepTable, error) {
	if !slices.Contains(s.Flags, x) {
		return nil, fmt.Errorf("--x %s: the sweep does not vary it; it varies %s", x, strings.Join(s.Flags, ", "))
	}
	if x == SeedFlag {
		return nil, fmt.Errorf("--x seed: runs are averaged over the seed; pick another of %s", strings.Join(s.Flags, ", "))
	}
	t := &SweepTable{X: x, Metric: metric, Numeric: true}
	if len(s.Roots) > 1 {
		t.GroupFlags = append(t.GroupFlags, "sweep")
	}
	for _, f := range s.Flags {
		if f != x && f != SeedFlag {
			t.GroupFlags = append(t.GroupFlags, f)
		}
	}
	type key struct{ group, x string }
	samples := map[key][]float64{}
	groups := map[string][]string{}
	for _, r := range s.Runs {
		v, err := metricValue(r.Rows[len(r.Rows)-1], metric)
		if err != nil {
			return nil, err
		}
		g := make([]string, 0, len(t.GroupFlags))
		for _, f := range t.GroupFlags {
			if f == "sweep" {
				g = append(g, filepath.Base(filepath.Clean(r.Root)))
			} else {
				g = append(g, r.Values[f])
			}
		}
		k := key{strings.Join(g, "\x00"), r.Values[x]}
		samples[k] = append(samples[k], v)
		groups[k.group] = g
	}
	// groups and x values in the order the sweep lists them
	rank := func(flag, v string) int {
		if i := slices.Index(s.order[flag], v); i >= 0 {
			return i
		}
		return len(s.order[flag])
	}
	var keys []key
	for k := range samples {
		keys = append(keys, k)
		if _, err := strconv.ParseFloat(k.x, 64); err != nil {
			t.Numeric = false
		}
	}
	slices.SortFunc(keys, func(a, b key) int {
		ga, gb := groups[a.group], groups[b.group]
		for i, f := range t.GroupFlags {
			if ga[i] != gb[i] {
				if f == "sweep" {
					return strings.Compare(ga[i], gb[i])
				}
				return rank(f, ga[i]) - rank(f, gb[i])
			}
		}
		if t.Numeric {
			xa, _ := strconv.ParseFloat(a.x, 64)
			xb, _ := strconv.ParseFloat(b.x, 64)
			if xa != xb {
				if xa < xb {
					return -1
				}
				return 1
			}
		}
		return rank(x, a.x) - rank(x, b.x)
	})
	for _, k := range keys {
		v := samples[k]
		st := seedStats(v)
		t.Rows = append(t.Rows, SweepRow{Group: groups[k.group], X: k.x, N: st.N, Mean: st.Mean, SD: st.SD, Min: st.Min, Max: st.Max, Lo: st.Lo, Hi: st.Hi})
	}
	return t, nil
}

// logFlags are the flags whose axis is logarithmic.
var logFlags = []string{"batch", "lr"}

// metricAxis is the y label of a metric and its factor on the figure
// (fractions are drawn as percentages).
func metricAxis(metric string) (label string, scale float64) {
	switch metric {
	case "test_acc":
		return "final test accuracy (%)", 100
	case "test_error":
		return "final test error (%)", 100
	case "test_loss":
		return "final test loss", 1
	case "train_loss":
		return "final epoch's train loss", 1
	case "wall_s":
		return "wall time (s)", 1
	case "examples_per_s":
		return "final epoch's examples/s", 1
	}
	return metric, 1
}

// SweepFigure draws t: the metric against x, a line per group with its
// mean over seeds and a shaded band.
func SweepFigure(t *SweepTable, runs int) (*Figure, error) {
	label, scale := metricAxis(t.Metric)
	panel := newPanel(fmt.Sprintf("%s against %s", strings.TrimPrefix(label, "final "), t.X), t.X, label)
	p := panel.Plot
	var xValues []string // categorical positions
	position := func(x string) float64 {
		if t.Numeric {
			v, _ := strconv.ParseFloat(x, 64)
			return v
		}
		if i := slices.Index(xValues, x); i >= 0 {
			return float64(i)
		}
		xValues = append(xValues, x)
		return float64(len(xValues) - 1)
	}
	logX := t.Numeric && slices.Contains(logFlags, t.X)
	for _, r := range t.Rows {
		if position(r.X) <= 0 {
			logX = false
		}
	}
	if logX {
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = valueTicks(t.Rows)
	}
	if !t.Numeric {
		var ticks []plot.Tick
		for i, v := range xValues {
			ticks = append(ticks, plot.Tick{Value: float64(i), Label: v})
		}
		p.X.Tick.Marker = plot.ConstantTicks(ticks)
		p.X.Min, p.X.Max = -0.5, float64(len(xValues))-0.5
	}
	fig := &Figure{Panels: []Panel{panel}}
	var order []string
	lines := map[string][]SweepRow{}
	for _, r := range t.Rows {
		g := strings.Join(r.Group, "\x00")
		if _, ok := lines[g]; !ok {
			order = append(order, g)
		}
		lines[g] = append(lines[g], r)
	}
	maxN := 0
	for i, g := range order {
		rows := lines[g]
		x, mean, lo, hi := make([]float64, len(rows)), make([]float64, len(rows)), make([]float64, len(rows)), make([]float64, len(rows))
		for j, r := range rows {
			x[j], mean[j], lo[j], hi[j] = position(r.X), scale*r.Mean, scale*r.Lo, scale*r.Hi
			maxN = max(maxN, r.N)
		}
		col := categoricalColor(i)
		if poly := bandPolygon(x, lo, hi, col); poly != nil {
			p.Add(poly)
		}
		p.Add(xyLine(x, mean, lineStyle(col, 2)))
		p.Add(markers(x, mean, col))
		fig.Legend = append(fig.Legend, LegendEntry{Label: groupLabel(t.GroupFlags, rows[0].Group), Thumb: &plotter.Line{LineStyle: lineStyle(col, 2.5)}})
	}
	band := "no band (one run each)"
	switch {
	case maxN >= BandSDFrom:
		band = "band ±1 sd over seeds"
	case maxN > 1:
		band = "band min–max over seeds"
	}
	fig.Caption = fmt.Sprintf("last row of each run's metrics.csv · mean over seeds, %s · %d finished runs", band, runs)
	return fig, nil
}

// valueTicks labels a log axis at the x values themselves (2, 4, 8, …).
func valueTicks(rows []SweepRow) plot.ConstantTicks {
	var ticks []plot.Tick
	seen := map[string]bool{}
	for _, r := range rows {
		if seen[r.X] {
			continue
		}
		seen[r.X] = true
		v, _ := strconv.ParseFloat(r.X, 64)
		ticks = append(ticks, plot.Tick{Value: v, Label: r.X})
	}
	return ticks
}

func groupLabel(flags, values []string) string {
	if len(flags) == 0 {
		return "all runs"
	}
	parts := make([]string, len(flags))
	for i, f := range flags {
		parts[i] = f + "=" + values[i]
	}
	return strings.Join(parts, ", ")
}

// sweepHeader is the CSV header of t.
func (t *SweepTable) header() []string {
	h := append(slices.Clone(t.GroupFlags), t.X, "n")
	for _, s := range []string{"mean", "sd", "min", "max"} {
		h = append(h, t.Metric+"_"+s)
	}
	return append(h, "band_lo", "band_hi")
}

func (t *SweepTable) records() [][]string {
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	var out [][]string
	for _, r := range t.Rows {
		rec := append(slices.Clone(r.Group), r.X, strconv.Itoa(r.N), f(r.Mean), f(r.SD), f(r.Min), f(r.Max), f(r.Lo), f(r.Hi))
		out = append(out, rec)
	}
	return out
}

// WriteSweepCSV writes t as CSV (atomically).
func WriteSweepCSV(path string, t *SweepTable) error {
	return rundir.WriteCSV(path, t.header(), t.records())
}

// PrintSweepTable writes t as an aligned table.
func PrintSweepTable(w io.Writer, t *SweepTable) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(t.header(), "\t"))
	for _, r := range t.Rows {
		rec := append(slices.Clone(r.Group), r.X, strconv.Itoa(r.N))
		for _, v := range []float64{r.Mean, r.SD, r.Min, r.Max, r.Lo, r.Hi} {
			rec = append(rec, strconv.FormatFloat(v, 'g', 4, 64))
		}
		fmt.Fprintln(tw, strings.Join(rec, "\t"))
	}
	return tw.Flush()
}

// SweepCurvesFigure draws every run of a sweep over its epochs (test
// accuracy and test loss), one line per run: the colour says the value of
// the first varied flag (seed aside), the dashes that of the second.
func SweepCurvesFigure(s *Sweep) (*Figure, error) {
	acc := newPanel("test accuracy", "epoch", "accuracy (%)")
	loss := newPanel("test loss", "epoch", "cross-entropy")
	wholeNumbersX(acc.Plot)
	wholeNumbersX(loss.Plot)
	var flags []string
	if len(s.Roots) > 1 {
		flags = append(flags, "sweep")
	}
	for _, f := range s.Flags {
		if f != SeedFlag {
			flags = append(flags, f)
		}
	}
	value := func(r SweepRun, f string) string {
		if f == "sweep" {
			return filepath.Base(filepath.Clean(r.Root))
		}
		return r.Values[f]
	}
	fig := &Figure{Panels: []Panel{acc, loss}}
	legends := make([][]LegendEntry, 2) // colours, then dashes
	styleOf := func(k int, seen map[string]int, r SweepRun, thumb func(i int) plot.Thumbnailer) int {
		v := value(r, flags[k])
		i, ok := seen[v]
		if !ok {
			i = len(seen)
			seen[v] = i
			legends[k] = append(legends[k], LegendEntry{Label: flags[k] + "=" + v, Thumb: thumb(i)})
		}
		return i
	}
	colours, dashStyles := map[string]int{}, map[string]int{}
	for _, r := range s.Runs {
		sty := lineStyle(categoricalColor(0), 1.5)
		if len(flags) > 0 {
			i := styleOf(0, colours, r, func(i int) plot.Thumbnailer {
				return &plotter.Line{LineStyle: lineStyle(categoricalColor(i), 2.5)}
			})
			sty = lineStyle(categoricalColor(i), 1.5)
		}
		if len(flags) > 1 {
			j := styleOf(1, dashStyles, r, func(j int) plot.Thumbnailer {
				t := lineStyle(color.Gray{Y: 60}, 2)
				t.Dashes = curveDashes[j%len(curveDashes)]
				return &plotter.Line{LineStyle: t}
			})
			sty.Dashes = curveDashes[j%len(curveDashes)]
		}
		epochs, accuracy, lossValues := make([]float64, len(r.Rows)), make([]float64, len(r.Rows)), make([]float64, len(r.Rows))
		for j, m := range r.Rows {
			epochs[j], accuracy[j], lossValues[j] = float64(m.Epoch), 100*m.TestAcc, m.TestLoss
		}
		acc.Plot.Add(xyLine(epochs, accuracy, sty))
		loss.Plot.Add(xyLine(epochs, lossValues, sty))
		if len(r.Rows) <= markerLimit { // a run of one epoch is a point
			c := color.NRGBAModel.Convert(sty.Color).(color.NRGBA)
			acc.Plot.Add(markers(epochs, accuracy, c))
			loss.Plot.Add(markers(epochs, lossValues, c))
		}
	}
	fig.Legend = append(legends[0], legends[1]...)
	fig.Caption = fmt.Sprintf("from each run's metrics.csv · %d finished runs, one line each (every seed)", len(s.Runs))
	if len(flags) > 2 {
		fig.Caption += fmt.Sprintf(" · %s not told apart by style", strings.Join(flags[2:], ", "))
	}
	return fig, nil
}

// curveDashes tell the values of a sweep's second varied flag apart.
var curveDashes = [][]vg.Length{nil, {vg.Points(6), vg.Points(3)}, {vg.Points(1.5), vg.Points(2)},
	{vg.Points(8), vg.Points(3), vg.Points(2), vg.Points(3)}, {vg.Points(12), vg.Points(4)},
	{vg.Points(3), vg.Points(6)}, {vg.Points(8), vg.Points(2), vg.Points(2), vg.Points(2), vg.Points(2), vg.Points(2)}}

// isSweepRoot reports whether dir is a sweep's root (holds sweep.json).
func isSweepRoot(dir string) bool { return rundir.IsSweep(dir) }
