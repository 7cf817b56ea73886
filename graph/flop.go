package graph

import (
	"normtap/kernels"
	"normtap/layers"
)

// Gemms lists the matrix products one training step of the model runs
// (forward and backward; layers.Gemmer of every op in the graph). Their
// FLOP summed (kernels.GemmShape.FLOP) is the step's arithmetic, the same
// count for the CPU and the GPU machine: they run the same graph.
func (m *Model) Gemms() []kernels.GemmShape {
	var out []kernels.GemmShape
	for _, n := range m.G.AllNodes() {
		if g, ok := n.Op().(layers.Gemmer); ok {
			out = append(out, g.Gemms()...)
		}
	}
	return out
}

// StepFLOP is the FLOP of one training step's matrix products.
func (m *Model) StepFLOP() int64 {
	var f int64
	for _, s := range m.Gemms() {
		f += s.FLOP()
	}
	return f
}
