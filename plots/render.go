package plots

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"gonum.org/v1/plot/vg"

	"normtap/rundir"
)

// Figure kinds that Render draws.
const (
	KindDensity     = "density"
	KindPercentiles = "percentiles"
	KindCurves      = "curves"
	KindDrift       = "drift"
	KindRidge       = "ridge"
	KindICS         = "ics"       // ics.csv of `train --ics-every` (ics.go)
	KindLandscape   = "landscape" // landscape.csv of `train --landscape-every` (ics.go)
	KindSweep       = "sweep"     // a sweep's final metric against a varied flag (sweep.go)
)

// Kinds lists the figure kinds, in the order the help shows them.
var Kinds = []string{KindDensity, KindPercentiles, KindCurves, KindDrift, KindRidge, KindICS, KindLandscape, KindSweep}

// Request is one `normtap plot`.
type Request struct {
	Kind  string   // one of Kinds
	Runs  []string // run directories, one panel (or line) each
	Out   string   // the figure's file: .png, .svg or .pdf
	Sel   Selection
	Bands string // BandsDefault or BandsTensorBoard, for KindPercentiles
	// X and Metric are KindSweep's varied flag on the x axis and the
	// metric drawn (one of SweepMetrics; "" is test_acc).
	X, Metric string

	Width, Height vg.Length // 0: DefaultWidth, DefaultHeight
}

// Render draws the figure req asks for and writes it to req.Out. The drift
// kind also prints its table to stdout and writes it as CSV next to the
// figure (SideCSV: req.Out with the extension .csv); percentiles with
// Sel.AllNeurons writes its per-neuron table there. Outputs are checked
// before any work (CheckOutput). It returns the files written.
func Render(ctx context.Context, req Request, stdout io.Writer) ([]string, error) {
	if !slices.Contains(Kinds, req.Kind) {
		return nil, fmt.Errorf("unknown figure kind %q; kinds: %s", req.Kind, strings.Join(Kinds, ", "))
	}
	if err := CheckFormat(req.Out); err != nil {
		return nil, err
	}
	if err := CheckOutput(req.Out, nil); err != nil {
		return nil, err
	}
	if req.Kind == KindDrift {
		if err := CheckOutput(SideCSV(req.Out), DriftHeader); err != nil {
			return nil, fmt.Errorf("the drift table beside the figure: %w", err)
		}
	}
	if req.Kind == KindPercentiles && req.Sel.AllNeurons {
		if err := CheckOutput(SideCSV(req.Out), NeuronPercentileHeader); err != nil {
			return nil, fmt.Errorf("the per-neuron table beside the figure: %w", err)
		}
	}
	if req.Kind == KindSweep || req.Kind == KindCurves && slices.ContainsFunc(req.Runs, isSweepRoot) {
		return renderSweep(req, stdout)
	}
	runs, err := LoadRuns(req.Runs)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var (
		fig        *Figure
		rows       []DriftRow
		neuronRows []NeuronPercentileRow
	)
	switch req.Kind {
	case KindDensity:
		fig, err = DensityFigure(runs, req.Sel)
	case KindPercentiles:
		fig, neuronRows, err = percentilesFigure(runs, req.Sel, req.Bands)
	case KindCurves:
		fig, err = CurvesFigure(runs)
	case KindDrift:
		fig, rows, err = DriftFigure(runs, req.Sel)
	case KindICS:
		fig, err = ICSFigure(runs)
	case KindLandscape:
		fig, err = LandscapeFigure(runs)
	case KindRidge:
		fig, err = RidgeFigure(runs, req.Sel)
	}
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := save(fig, req); err != nil {
		return nil, err
	}
	written := []string{req.Out}
	if req.Kind == KindPercentiles && req.Sel.AllNeurons {
		csvPath := SideCSV(req.Out)
		if err := WriteNeuronPercentilesCSV(csvPath, neuronRows); err != nil {
			return written, err
		}
		written = append(written, csvPath)
	}
	if req.Kind == KindDrift {
		csvPath := SideCSV(req.Out)
		if err := WriteDriftCSV(csvPath, rows); err != nil {
			return written, err
		}
		written = append(written, csvPath)
		print := PrintDriftTable
		if req.Sel.AllNeurons {
			print = PrintDriftSummary
		}
		if err := print(stdout, rows); err != nil {
			return written, err
		}
	}
	return written, nil
}

// save writes fig at req's size.
func save(fig *Figure, req Request) error {
	w, h := req.Width, req.Height
	if w == 0 {
		w = DefaultWidth
	}
	if h == 0 {
		h = DefaultHeight
	}
	return Save(fig, req.Out, w, h)
}

// renderSweep draws a sweep's figures: KindSweep (with its table as CSV
// beside the figure, and printed) or KindCurves of every run.
func renderSweep(req Request, stdout io.Writer) ([]string, error) {
	for _, dir := range req.Runs {
		if !isSweepRoot(dir) {
			return nil, fmt.Errorf("%s: %s is not a sweep root (no %s there); give sweep roots only (normtap sweep --out ROOT)", req.Kind, dir, rundir.SweepFile)
		}
	}
	s, err := LoadSweep(req.Runs)
	if err != nil {
		return nil, err
	}
	if len(s.Unfinished) > 0 {
		fmt.Fprintf(stdout, "note: %d unfinished run(s) left out, e.g. %s\n", len(s.Unfinished), s.Unfinished[0])
	}
	if req.Kind == KindCurves {
		fig, err := SweepCurvesFigure(s)
		if err != nil {
			return nil, err
		}
		return []string{req.Out}, save(fig, req)
	}
	if req.X == "" {
		return nil, fmt.Errorf("sweep: --x FLAG is required: one of the varied flags %s", strings.Join(s.Flags, ", "))
	}
	metric := req.Metric
	if metric == "" {
		metric = "test_acc"
	}
	if !slices.Contains(SweepMetrics, metric) {
		return nil, fmt.Errorf("--metric %q: want one of %s", metric, strings.Join(SweepMetrics, ", "))
	}
	t, err := AggregateSweep(s, req.X, metric)
	if err != nil {
		return nil, err
	}
	fig, err := SweepFigure(t, len(s.Runs))
	if err != nil {
		return nil, err
	}
	if err := save(fig, req); err != nil {
		return nil, err
	}
	written := []string{req.Out}
	csvPath := SideCSV(req.Out)
	if err := WriteSweepCSV(csvPath, t); err != nil {
		return written, err
	}
	written = append(written, csvPath)
	return written, PrintSweepTable(stdout, t)
}
