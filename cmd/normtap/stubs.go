package main

import "context"

// PlotCmd is replaced by plot.go.
type PlotCmd struct{}

func (c *PlotCmd) Run(g *Globals, ctx context.Context) error { return usagef("plot: not built yet") }

type BenchCmd struct{}

func (c *BenchCmd) Run(g *Globals, ctx context.Context) error { return usagef("bench: not built yet") }

type ReproCmd struct{}

func (c *ReproCmd) Run(g *Globals, ctx context.Context) error { return usagef("repro: not built yet") }
