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
	switch spec.Model {
	case graph.ModelCNN:
		fmt.Printf("pooling: %s (%d of %d blocks pool here)\n", graph.PoolRule, countTrue(spec.CNNPools()), len(spec.Hidden))
	case graph.ModelResNet:
		fmt.Printf("pooling: each stage after the first starts with a 2x2 max-pool while its feature map is at least 8x8; a global average pool before the logits\n")
	}
	fmt.Printf("%d parameters\n", m.ParamCount())
	return nil
}

func countTrue(v []bool) int {
	n := 0
	for _, b := range v {
		if b {
			n++
		}
	}
	return n
}
