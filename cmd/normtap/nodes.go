package main

import (
	"context"
	"fmt"
	"os"
	"text/tabwriter"

	"normtap/bench"
	"normtap/graph"
)

// NodesCmd is `normtap nodes`: the tap points of a model, with shapes.
type NodesCmd struct {
	ModelFlags `embed:""`
	Batch      int `default:"128" help:"Batch size shown in the shapes."`
}

func (c *NodesCmd) Run(g *Globals, ctx context.Context) error {
	spec, err := c.spec()
	if err != nil {
		return err
	}
	if c.Batch < 1 || c.Batch > bench.MaxBatch {
		return usagef("--batch %d: must be between 1 and %d", c.Batch, bench.MaxBatch)
	}
	if err := bench.CheckModelSize(spec, c.Batch); err != nil {
		return usagef("%v", err)
	}
	m, err := graph.Build(spec, c.Batch)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 2, 2, ' ', 0)
	fmt.Fprintln(w, "NODE\tSHAPE\tNEURONS")
	for _, t := range m.Taps {
		fmt.Fprintf(w, "%s\t%v\t%d\n", t.Name, t.Shape, t.Neurons)
	}
	w.Flush()
	fmt.Printf("%d parameters\n", m.ParamCount())
	return nil
}
