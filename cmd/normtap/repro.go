package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/term"

	"normtap/plots"
	"normtap/rundir"
	"normtap/train"
)

// ReproCmd is `normtap repro`.
type ReproCmd struct {
	BNPaper ReproBNPaperCmd `cmd:"" name:"bn-paper" help:"Ioffe & Szegedy (2015) §4.1: 784-100-100-100-10 sigmoid MLP on MNIST, without and with BatchNorm; draws Fig. 1 (a, b, c) and the density figure."`
	GNPaper ReproGNPaperCmd `cmd:"" name:"gn-paper" help:"Wu & He (2018) Fig. 1 at MNIST scale: the CNN with batch, group and layer norm at batch sizes 2 to 64, the same examples seen, lr scaled linearly with the batch; a sweep; draws test error against batch size."`
}

// ReproBNPaperCmd trains both runs and draws the figures.
type ReproBNPaperCmd struct {
	Out    string `required:"" help:"Directory for the two runs (none/, batch/) and the figures."`
	Steps  int    `default:"50000" help:"Training steps of each run (batches of 60)."`
	Seed   uint64 `default:"1" help:"Seed of both runs."`
	Device string `default:"auto" enum:"auto,cpu,cuda" help:"auto, cpu or cuda."`
	Resume bool   `help:"Continue interrupted runs."`
}

func (c *ReproBNPaperCmd) Run(g *Globals, ctx context.Context) error {
	if strings.TrimSpace(c.Out) == "" {
		return usagef(`--out "": give a directory for the two runs and the figures`)
	}
	if c.Steps < 100 || c.Steps > rundir.MaxSteps {
		return usagef("--steps %d: must be between 100 (what the figures need) and %d", c.Steps, rundir.MaxSteps)
	}
	dev, err := pickDevice(c.Device)
	if err != nil {
		return err
	}
	cfgs := train.BNPaper(c.Out, c.Steps, c.Seed)
	var runs []string
	for _, cfg := range cfgs {
		cfg.Device, cfg.Resume = c.Device, c.Resume
		opts := train.Options{NewMachine: dev.newMachine, Meta: buildMeta(dev.desc),
			Warn: func(msg string) { fmt.Fprintf(os.Stderr, "normtap: warning: %s\n", msg) }}
		if !g.Quiet {
			opts.Log = os.Stderr
			opts.Terminal = term.IsTerminal(int(os.Stderr.Fd()))
			fmt.Fprintf(os.Stderr, "normtap: %s on %s into %s\n", cfg.Describe(), dev.desc, cfg.Out)
		}
		res, err := train.Run(ctx, cfg, opts)
		if errors.Is(err, train.ErrInterrupted) {
			return &InterruptedError{Msg: err.Error() + " (and --resume to repro)", Code: interruptCode(ctx)}
		}
		if err != nil {
			return err
		}
		last := res.Metrics[len(res.Metrics)-1]
		fmt.Printf("%-6s final test accuracy %.4f after %d steps\n", cfg.Spec.Norm, last.TestAcc, last.Step)
		runs = append(runs, cfg.Out)
	}
	figures := []plots.Request{
		{Kind: plots.KindCurves, Out: "fig1a-test-accuracy.png"},
		{Kind: plots.KindPercentiles, Out: "fig1bc-percentiles.png", Sel: plots.Selection{Node: train.BNPaperTap, Neuron: 0}},
		{Kind: plots.KindDensity, Out: "density.png", Sel: plots.Selection{Node: train.BNPaperTap, Neuron: 0}},
	}
	for _, req := range figures {
		req.Runs = runs
		req.Out = filepath.Join(c.Out, req.Out)
		files, err := plots.Render(ctx, req, os.Stdout)
		if err != nil {
			return err
		}
		for _, f := range files {
			fmt.Printf("wrote %s\n", f)
		}
	}
	return nil
}
