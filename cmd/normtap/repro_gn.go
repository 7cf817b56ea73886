package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"normtap/plots"
	"normtap/sweep"
)

// ReproGNPaperCmd is `normtap repro gn-paper`: flags only; the study is
// sweep.GNPaperSpec, run as any sweep.
type ReproGNPaperCmd struct {
	Out        string `required:"" type:"path" placeholder:"DIR" help:"Root of the study's sweep: a run directory per norm, batch size and seed, and the figures."`
	Quick      bool   `help:"A few minutes on 2 cores: 2048 examples, 1 epoch per run (else 12000 examples, 2 epochs)."`
	Seeds      int    `default:"2" help:"Seeds per norm and batch size."`
	TrainLimit int    `default:"0" help:"Examples per epoch (0: 2048 with --quick, else 12000)."`
	Epochs     int    `default:"0" help:"Epochs of every run (0: 1 with --quick, else 2)."`
	Jobs       int    `short:"j" default:"0" help:"Trainings at once (0: one per core, each on one thread)."`
	Model      string `default:"cnn" enum:"cnn,mlp" help:"cnn (the paper's setting: BatchNorm's statistics over the batch and each feature map) or mlp (784-256-256-10: over the batch alone)."`
	Device     string `default:"auto" enum:"auto,cpu,cuda" help:"auto, cpu or cuda."`
	Dataset    string `default:"mnist" placeholder:"NAME" help:"mnist or fashion."`
	Print      bool   `help:"Write the trainings' commands (for GNU parallel or a Slurm array) and sweep.json, and run nothing."`
}

func (c *ReproGNPaperCmd) Run(g *Globals, ctx context.Context) error {
	o := sweep.GNPaperFull
	if c.Quick {
		o = sweep.GNPaperQuick
	}
	o.Root, o.Seeds, o.Model = c.Out, c.Seeds, c.Model
	if c.TrainLimit != 0 {
		o.TrainLimit = c.TrainLimit
	}
	if c.Epochs != 0 {
		o.Epochs = c.Epochs
	}
	if c.Seeds < 1 || o.TrainLimit < 64 || o.Epochs < 1 {
		return usagef("repro gn-paper: --seeds %d, --train-limit %d, --epochs %d: want at least 1, 64 and 1", c.Seeds, o.TrainLimit, o.Epochs)
	}
	jobs := c.Jobs
	if jobs <= 0 {
		jobs = runtime.NumCPU()
	}
	o.Fixed = []string{"--device", c.Device, "--dataset", c.Dataset}
	norms, missing := sweep.AvailableNorms(sweep.GNPaperNorms)
	if len(missing) > 0 && !g.Quiet {
		fmt.Fprintf(os.Stderr, "normtap: repro gn-paper: this build has no --norm %s yet; the study runs %s\n", strings.Join(missing, ", "), strings.Join(norms, ", "))
	}
	spec := sweep.GNPaperSpec(o, norms)
	spec.Flags, spec.Check = trainFlags(), checkTrainArgs
	plan, err := sweep.NewPlan(spec)
	if err != nil {
		return usagef("repro gn-paper: %v", err)
	}
	if c.Print {
		if err := plan.WriteIndex(); err != nil {
			return sweepError(err)
		}
		return plan.Print(os.Stdout, "normtap")
	}
	if !g.Quiet {
		fmt.Fprintf(os.Stderr, "normtap: repro gn-paper: %d runs into %s, %d at once: %s\n", len(plan.Runs), c.Out, jobs, sweep.GNPaperRule(o))
	}
	start := time.Now()
	if _, err := runSweep(ctx, g, plan, jobs); err != nil {
		return err
	}
	fmt.Printf("repro gn-paper: %d runs in %s\n", len(plan.Runs), time.Since(start).Round(time.Second))
	for _, req := range []plots.Request{
		{Kind: plots.KindSweep, X: "batch", Metric: "test_error", Out: "test-error-vs-batch.png"},
		{Kind: plots.KindCurves, Out: "curves.png"},
	} {
		req.Runs, req.Out = []string{c.Out}, filepath.Join(c.Out, req.Out)
		files, err := plots.Render(ctx, req, os.Stdout)
		if err != nil {
			return fmt.Errorf("repro gn-paper: %w", err)
		}
		for _, f := range files {
			fmt.Printf("wrote %s\n", f)
		}
	}
	return nil
}
