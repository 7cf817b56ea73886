package layers

import (
	"fmt"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"normtap/kernels"
)

// A 1×1 convolution mixes channels pixel by pixel: one GEMM per example,
// no im2col (kernels.Conv1x1Forward). The residual network uses it without
// a bias, as the projection on a skip connection where the channel count
// changes (a norm follows it).

// Conv1x1Op is a 1×1 convolution without bias: x (N, C, H, W), W (K, C) →
// y (N, K, H, W).
type Conv1x1Op struct {
	opBase
	N, C, H, W, K int
}

// Conv1x1 adds a bias-free 1×1 convolution of x with w (K, C) to the graph.
func Conv1x1(x, w *gorgonia.Node) (*gorgonia.Node, error) {
	xs := x.Shape()
	if len(xs) != 4 {
		return nil, fmt.Errorf("conv1x1: %s has shape %v, want (N, C, H, W)", x.Name(), xs)
	}
	if err := checkDims("conv1x1", w, -1, xs[1]); err != nil {
		return nil, err
	}
	op := &Conv1x1Op{N: xs[0], C: xs[1], H: xs[2], W: xs[3], K: w.Shape()[0]}
	op.opBase = opBase{name: "Conv1x1", inDims: []int{4, 2}, out: tensor.Shape{op.N, op.K, op.H, op.W}, self: op}
	return apply(op, x, w)
}

func (op *Conv1x1Op) Exec(out []float32, in [][]float32) {
	kernels.Conv1x1Forward(in[0], in[1], op.N, op.C, op.K, op.H*op.W, out)
}
func (op *Conv1x1Op) Do(v ...gorgonia.Value) (gorgonia.Value, error) { return doWith(op, v) }
func (op *Conv1x1Op) DiffWRT(int) []bool                             { return []bool{true, true} }

func (op *Conv1x1Op) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	gx := &Conv1x1GradInputOp{Fwd: op}
	gx.opBase = opBase{name: "Conv1x1GradInput", inDims: []int{4, 2}, out: tensor.Shape{op.N, op.C, op.H, op.W}, self: gx}
	dx, err := apply(gx, grad, inputs[1])
	if err != nil {
		return nil, err
	}
	gw := &Conv1x1GradWeightOp{Fwd: op}
	gw.opBase = opBase{name: "Conv1x1GradWeight", inDims: []int{4, 4}, out: tensor.Shape{op.K, op.C}, self: gw}
	dw, err := apply(gw, inputs[0], grad)
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{dx, dw}, nil
}

// Bind runs one GemmPlan per example, each split over the workers.
func (op *Conv1x1Op) Bind(w *kernels.Workers, out []float32, in [][]float32) func() {
	x, wt, s := in[0], in[1], op.H*op.W
	plans := make([]*kernels.GemmPlan, op.N)
	for i := range plans {
		plans[i] = kernels.NewGemmPlan(false, false, op.K, s, op.C, 1, wt, op.C, x[i*op.C*s:(i+1)*op.C*s], s, 0, out[i*op.K*s:(i+1)*op.K*s], s)
	}
	return func() { runPlans(w, plans) }
}

// Conv1x1GradInputOp computes dx from (dy, W).
type Conv1x1GradInputOp struct {
	opBase
	Fwd *Conv1x1Op
}

func (op *Conv1x1GradInputOp) Exec(out []float32, in [][]float32) {
	f := op.Fwd
	kernels.Conv1x1BackwardInput(in[0], in[1], f.N, f.C, f.K, f.H*f.W, out)
}
func (op *Conv1x1GradInputOp) Do(v ...gorgonia.Value) (gorgonia.Value, error) { return doWith(op, v) }

func (op *Conv1x1GradInputOp) Bind(w *kernels.Workers, out []float32, in [][]float32) func() {
	f, dy, wt := op.Fwd, in[0], in[1]
	s := f.H * f.W
	plans := make([]*kernels.GemmPlan, f.N)
	for i := range plans {
		plans[i] = kernels.NewGemmPlan(true, false, f.C, s, f.K, 1, wt, f.C, dy[i*f.K*s:(i+1)*f.K*s], s, 0, out[i*f.C*s:(i+1)*f.C*s], s)
	}
	return func() { runPlans(w, plans) }
}

// Conv1x1GradWeightOp computes dW from (x, dy).
type Conv1x1GradWeightOp struct {
	opBase
	Fwd *Conv1x1Op
}

func (op *Conv1x1GradWeightOp) Exec(out []float32, in [][]float32) {
	f := op.Fwd
	kernels.Conv1x1BackwardWeight(in[0], in[1], f.N, f.C, f.K, f.H*f.W, out)
}
func (op *Conv1x1GradWeightOp) Do(v ...gorgonia.Value) (gorgonia.Value, error) { return doWith(op, v) }

// Bind accumulates the examples' products in example order (the first
// overwrites, the rest add), so the sum does not depend on timing.
func (op *Conv1x1GradWeightOp) Bind(w *kernels.Workers, out []float32, in [][]float32) func() {
	f, x, dy := op.Fwd, in[0], in[1]
	s := f.H * f.W
	plans := make([]*kernels.GemmPlan, f.N)
	for i := range plans {
		beta := float32(1)
		if i == 0 {
			beta = 0
		}
		plans[i] = kernels.NewGemmPlan(false, true, f.K, f.C, s, 1, dy[i*f.K*s:(i+1)*f.K*s], s, x[i*f.C*s:(i+1)*f.C*s], s, beta, out, f.C)
	}
	return func() { runPlans(w, plans) }
}

// runPlans runs GEMMs one after another, each split over w.
func runPlans(w *kernels.Workers, plans []*kernels.GemmPlan) {
	for _, p := range plans {
		p.Run(w)
	}
}

func (op *Conv1x1Op) Gemms() []kernels.GemmShape {
	return []kernels.GemmShape{{M: op.K, N: op.H * op.W, K: op.C, Count: op.N}}
}

func (op *Conv1x1GradInputOp) Gemms() []kernels.GemmShape {
	f := op.Fwd
	return []kernels.GemmShape{{TransA: true, M: f.C, N: f.H * f.W, K: f.K, Count: f.N}}
}

func (op *Conv1x1GradWeightOp) Gemms() []kernels.GemmShape {
	f := op.Fwd
	return []kernels.GemmShape{{TransB: true, M: f.K, N: f.C, K: f.H * f.W, Count: f.N}}
}
