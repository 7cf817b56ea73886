package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot/vg"

	"normtap/plots"
)

// PlotCmd is `normtap plot`: it parses flags and hands them to plots.Render.
type PlotCmd struct {
	Kind   string   `required:"" placeholder:"KIND" help:"Figure: density (one panel per run, a density curve per epoch), percentiles (15/50/85th over training), curves (test accuracy and loss), drift (Wasserstein-1 from the first epoch; also prints and writes a CSV table), ridge (all epochs stacked), ics (internal covariate shift per layer, from train --ics-every), landscape (loss band, gradient predictiveness and beta-smoothness, from train --landscape-every), sweep (a sweep's final --metric against the varied flag --x, mean and band over seeds; also writes the table as CSV). Given sweep roots, curves draws every run of the sweeps. Runs that differ only in --seed are one configuration: curves and drift draw their mean with a band, density overlays the seeds in one panel."`
	Node   string   `placeholder:"NODE" help:"Tapped node, e.g. h2.act (default: the only tapped node)."`
	Neuron string   `placeholder:"K|all" help:"Column of the node to draw (default: the first tapped column); all (drift, percentiles): the median and 25-75% band over every tapped column, with the per-neuron table as CSV beside the figure."`
	Epochs string   `placeholder:"LIST" help:"Epochs to draw, e.g. 1,10,30 or 1-5 (default: density 1,10,30 where tapped, else first/middle/last; others all)."`
	X      string   `name:"x" placeholder:"FLAG" help:"sweep: the varied flag on the x axis (log axis for batch and lr); one line per value of the other varied flags."`
	Metric string   `default:"test_acc" placeholder:"METRIC" help:"sweep: the final metric drawn: test_acc, test_error, test_loss, train_loss, wall_s or examples_per_s."`
	Bands  string   `default:"default" placeholder:"STYLE" help:"Percentile lines: default (15/50/85th) or tensorboard (shaded 7/16/31/50/69/84/93th bands)."`
	Width  string   `default:"10in" help:"Figure width (in, cm, mm or pt)."`
	Height string   `default:"4in" help:"Figure height (in, cm, mm or pt)."`
	Out    string   `required:"" short:"o" placeholder:"FILE" help:"Output file: .png, .svg or .pdf."`
	Runs   []string `arg:"" optional:"" name:"run" help:"Run directories."`
}

func (c *PlotCmd) Run(g *Globals, ctx context.Context) error {
	if !slices.Contains(plots.Kinds, c.Kind) {
		return usagef("plot: unknown --kind %q; kinds: %s", c.Kind, strings.Join(plots.Kinds, ", "))
	}
	if c.Bands != plots.BandsDefault && c.Bands != plots.BandsTensorBoard {
		return usagef("plot: unknown --bands %q; want %s or %s", c.Bands, plots.BandsDefault, plots.BandsTensorBoard)
	}
	if err := plots.CheckFormat(c.Out); err != nil {
		return usagef("plot: --out: %v", err)
	}
	if len(c.Runs) == 0 {
		return usagef("plot: no run directories given (normtap plot --kind %s RUN... --out %s)", c.Kind, c.Out)
	}
	for _, w := range c.unusedFlags() {
		fmt.Fprintf(os.Stderr, "normtap: warning: %s\n", w)
	}
	if c.Kind == plots.KindSweep && c.X == "" {
		return usagef("plot: --kind sweep needs --x FLAG, the varied flag on the x axis (e.g. --x batch)")
	}
	if !slices.Contains(plots.SweepMetrics, c.Metric) {
		return usagef("plot: unknown --metric %q; metrics: %s", c.Metric, strings.Join(plots.SweepMetrics, ", "))
	}
	req := plots.Request{Kind: c.Kind, Runs: c.Runs, Out: c.Out, Bands: c.Bands, Sel: plots.Selection{Node: c.Node, Neuron: -1}, X: c.X, Metric: c.Metric}
	switch c.Neuron {
	case "":
	case "all":
		if c.Kind != plots.KindDrift && c.Kind != plots.KindPercentiles {
			return usagef("plot: --neuron all summarises neurons in --kind drift or percentiles; --kind %s draws one neuron (--neuron K)", c.Kind)
		}
		req.Sel.AllNeurons = true
	default:
		k, err := strconv.Atoi(c.Neuron)
		if err != nil || k < 0 {
			return usagef("plot: --neuron %s: want a column index ≥ 0 or all", c.Neuron)
		}
		req.Sel.Neuron = k
	}
	if c.Epochs != "" {
		epochs, err := plots.ParseEpochs(c.Epochs)
		if err != nil {
			return usagef("plot: --epochs: %v", err)
		}
		req.Sel.Epochs = epochs
	}
	var err error
	if req.Width, err = parseSide("--width", c.Width); err != nil {
		return err
	}
	if req.Height, err = parseSide("--height", c.Height); err != nil {
		return err
	}
	written, err := plots.Render(ctx, req, os.Stdout)
	if err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	if !g.Quiet {
		fmt.Fprintf(os.Stderr, "normtap: wrote %s\n", strings.Join(written, ", "))
	}
	return nil
}

// unusedFlags are warnings for the flags given that the chosen kind does
// not read.
func (c *PlotCmd) unusedFlags() []string {
	var out []string
	if c.Bands != plots.BandsDefault && c.Kind != plots.KindPercentiles {
		out = append(out, fmt.Sprintf("--bands applies to --kind percentiles only; ignored for --kind %s", c.Kind))
	}
	if c.Bands != plots.BandsDefault && c.Kind == plots.KindPercentiles && c.Neuron == "all" {
		out = append(out, "--bands draws one neuron's percentiles; --neuron all draws the median over neurons with its 25-75% band, so it is ignored")
	}
	switch c.Kind {
	case plots.KindCurves, plots.KindICS, plots.KindLandscape:
		for _, f := range []struct {
			name string
			set  bool
		}{{"--node", c.Node != ""}, {"--neuron", c.Neuron != ""}, {"--epochs", c.Epochs != ""}} {
			if f.set {
				out = append(out, fmt.Sprintf("%s picks taps; --kind %s draws no taps, so it is ignored", f.name, c.Kind))
			}
		}
	}
	return out
}

// sideUnits are the units a figure side must name: vg.ParseLength reads a
// bare number as points, which nobody means by --width 10.
var sideUnits = []string{"in", "cm", "mm", "pt"}

// parseSide parses a figure side such as "10in" or "25cm".
func parseSide(flag, value string) (vg.Length, error) {
	l, err := vg.ParseLength(value)
	hasUnit := slices.ContainsFunc(sideUnits, func(u string) bool { return strings.HasSuffix(strings.TrimSpace(value), u) })
	if err != nil || !hasUnit || !(l > 0 && l <= plots.MaxSide) {
		return 0, usagef("plot: %s %q: want a length above 0 and at most %gin, with a unit: in, cm, mm or pt (e.g. 10in)", flag, value, plots.MaxSide/vg.Inch)
	}
	return l, nil
}
