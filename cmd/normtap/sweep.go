package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"text/tabwriter"

	"github.com/alecthomas/kong"
	"golang.org/x/term"

	"normtap/sweep"
)

// SweepCmd is `normtap sweep`: flags only; package sweep does the work.
type SweepCmd struct {
	Vary  []string `sep:"none" placeholder:"FLAG=V1|V2|…" help:"A train flag and its values, separated by | (quote it for the shell), e.g. --vary 'norm=none|batch'; repeat for a grid. Run directories are named flag=value,… in this order."`
	Out   string   `type:"path" placeholder:"ROOT" help:"Root of the sweep: one run directory per combination, and sweep.json mapping each to its flags (required)."`
	Jobs  int      `short:"j" default:"1" help:"Trainings run at once; the CPU's cores are shared among them (train --threads)."`
	Print bool     `help:"Write one complete normtap train command per line (for GNU parallel or a Slurm array) and sweep.json, and run nothing."`
	Train []string `arg:"" optional:"" passthrough:"all" name:"train-flags" help:"Any normtap train flags, the same for every run, after the sweep's own flags."`
}

func (c *SweepCmd) Run(g *Globals, ctx context.Context) error {
	if c.Out == "" {
		return usagef("sweep: --out ROOT is required (before the train flags)")
	}
	if c.Jobs < 1 {
		return usagef("sweep: -j %d: must be ≥ 1", c.Jobs)
	}
	spec := sweep.Spec{Root: c.Out, Fixed: c.Train, Flags: trainFlags(), Check: checkTrainArgs}
	for _, v := range c.Vary {
		a, err := sweep.ParseVary(v)
		if err != nil {
			return usagef("sweep: %v", err)
		}
		spec.Axes = append(spec.Axes, a)
	}
	plan, err := sweep.NewPlan(spec)
	if err != nil {
		return usagef("sweep: %v", err)
	}
	if c.Print {
		if err := plan.WriteIndex(); err != nil {
			return sweepError(err)
		}
		return plan.Print(os.Stdout, "normtap")
	}
	_, err = runSweep(ctx, g, plan, c.Jobs)
	return err
}

// runSweep runs plan's trainings, c.Jobs at once, and prints a line per run.
func runSweep(ctx context.Context, g *Globals, plan *sweep.Plan, jobs int) (*sweep.Summary, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("sweep: cannot find this binary to run its trainings: %w", err)
	}
	opts := sweep.Options{Program: []string{self}, Jobs: jobs, Cores: runtime.NumCPU()}
	if !g.Quiet {
		opts.Log = os.Stderr
		opts.Terminal = term.IsTerminal(int(os.Stderr.Fd()))
	}
	sum, err := sweep.Execute(ctx, plan, opts)
	if sum != nil {
		tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "run\tstate\ttest_acc\ttest_loss")
		for _, o := range sum.Outcomes {
			acc, loss := "-", "-"
			if o.Final != nil {
				acc, loss = fmt.Sprintf("%.4f", o.Final.TestAcc), fmt.Sprintf("%.4f", o.Final.TestLoss)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", o.Run.Dir, o.State, acc, loss)
		}
		tw.Flush()
	}
	return sum, sweepError(err)
}

// sweepError maps the sweep's errors to exit statuses.
func sweepError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sweep.ErrOtherSweep):
		return usagef("sweep: %v", err)
	case errors.Is(err, sweep.ErrInterrupted):
		return &InterruptedError{Msg: err.Error(), Code: 130}
	}
	return err
}

// trainCLI is a command line that holds only `normtap train`.
type trainCLI struct {
	Globals
	Train TrainCmd `cmd:""`
}

func newTrainParser(cli *trainCLI) (*kong.Kong, error) {
	return kong.New(cli, cliOptions, kong.Name("normtap"), kong.Exit(func(int) {}))
}

// trainFlags lists the flags `normtap train` takes, from its definition.
func trainFlags() []sweep.Flag {
	var cli trainCLI
	p, err := newTrainParser(&cli)
	if err != nil {
		panic(err) // a defect of TrainCmd's tags, caught by every test
	}
	var out []sweep.Flag
	for _, n := range p.Model.Children {
		if n.Name != "train" {
			continue
		}
		for _, group := range n.AllFlags(false) {
			for _, f := range group {
				out = append(out, sweep.Flag{Name: f.Name, Bool: f.IsBool()})
			}
		}
	}
	return out
}

// checkTrainArgs parses and validates one run's train flags exactly as
// `normtap train` would, and returns the run's length.
func checkTrainArgs(args []string) (sweep.Length, error) {
	var cli trainCLI
	p, err := newTrainParser(&cli)
	if err != nil {
		return sweep.Length{}, err
	}
	if _, err := p.Parse(append([]string{"train"}, args...)); err != nil {
		return sweep.Length{}, err
	}
	cfg, err := cli.Train.config()
	if err != nil {
		return sweep.Length{}, err
	}
	return sweep.Length{Epochs: cfg.Epochs, MaxSteps: cfg.MaxSteps}, nil
}
