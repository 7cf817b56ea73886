package layers

import (
	"fmt"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"normtap/kernels"
)

// Global average pooling: each channel's feature map becomes its mean
// (kernels.GlobalAvgPoolForward); the residual network's last layer before
// the linear classifier.

// GlobalAvgPoolOp is (N, C, H, W) → (N, C), each map's mean.
type GlobalAvgPoolOp struct {
	opBase
	N, C, H, W int
}

// GlobalAvgPool adds the global average pool of x to the graph.
func GlobalAvgPool(x *gorgonia.Node) (*gorgonia.Node, error) {
	xs := x.Shape()
	if len(xs) != 4 {
		return nil, fmt.Errorf("global average pool: %s has shape %v, want (N, C, H, W)", x.Name(), xs)
	}
	op := &GlobalAvgPoolOp{N: xs[0], C: xs[1], H: xs[2], W: xs[3]}
	op.opBase = opBase{name: "GlobalAvgPool", inDims: []int{4}, out: tensor.Shape{op.N, op.C}, self: op}
	return apply(op, x)
}

func (op *GlobalAvgPoolOp) Exec(out []float32, in [][]float32) {
	kernels.GlobalAvgPoolForward(in[0], op.N*op.C, op.H*op.W, out)
}
func (op *GlobalAvgPoolOp) Do(v ...gorgonia.Value) (gorgonia.Value, error) { return doWith(op, v) }
func (op *GlobalAvgPoolOp) DiffWRT(int) []bool                             { return []bool{true} }

func (op *GlobalAvgPoolOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	b := &GlobalAvgPoolGradOp{Fwd: op}
	b.opBase = opBase{name: "GlobalAvgPoolGrad", inDims: []int{2}, out: tensor.Shape{op.N, op.C, op.H, op.W}, self: b}
	dx, err := apply(b, grad)
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{dx}, nil
}

// Bind splits the maps over the workers.
func (op *GlobalAvgPoolOp) Bind(w *kernels.Workers, out []float32, in [][]float32) func() {
	x, rows, s := in[0], op.N*op.C, op.H*op.W
	part := func(p, parts int) {
		lo, hi := kernels.Span(rows, p, parts, vecAlign)
		kernels.GlobalAvgPoolForward(x[lo*s:hi*s], hi-lo, s, out[lo:hi])
	}
	return func() { parallel(w, rows*s, part) }
}

// GlobalAvgPoolGradOp computes dx from dy (N, C).
type GlobalAvgPoolGradOp struct {
	opBase
	Fwd *GlobalAvgPoolOp
}

func (op *GlobalAvgPoolGradOp) Exec(out []float32, in [][]float32) {
	f := op.Fwd
	kernels.GlobalAvgPoolBackward(in[0], f.N*f.C, f.H*f.W, out)
}
func (op *GlobalAvgPoolGradOp) Do(v ...gorgonia.Value) (gorgonia.Value, error) { return doWith(op, v) }

func (op *GlobalAvgPoolGradOp) Bind(w *kernels.Workers, out []float32, in [][]float32) func() {
	f, dy := op.Fwd, in[0]
	rows, s := f.N*f.C, f.H*f.W
	part := func(p, parts int) {
		lo, hi := kernels.Span(rows, p, parts, vecAlign)
		kernels.GlobalAvgPoolBackward(dy[lo:hi], hi-lo, s, out[lo*s:hi*s])
	}
	return func() { parallel(w, rows*s, part) }
}
