// Package sweep runs a grid of `normtap train` runs as one study: one run
// directory per combination of the varied flags, under one root, with
// ROOT/sweep.json mapping each directory to its flags.
//
// A sweep is independent runs, not a scheduler: Run starts a few children
// (the normtap binary itself) at once on this machine, skipping finished
// runs and resuming interrupted ones; Plan.Print writes the same runs as
// one command per line for GNU parallel or a Slurm array elsewhere.
//
// It is its own package rather than part of train because it works on
// command lines, child processes and run directories, never in-process on a
// model: train is one run, sweep is many.
package sweep
