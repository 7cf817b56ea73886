package layers

import (
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"normtap/kernels"
)

// LinearOp computes y = x·W + b for x (N, In) — or any (N, …) input, seen as
// (N, In) — W (In, Out) and b (1, Out), in one GEMM plus a bias pass.
type LinearOp struct {
	opBase
	N, In, Out int
	// NoInputGrad skips dx: set it when x is data, not a computed value.
	NoInputGrad bool
}

// Linear adds x·W + b to x's graph. noInputGrad marks x as data needing no
// gradient (the first layer).
func Linear(x, w, b *gorgonia.Node, noInputGrad bool) (*gorgonia.Node, error) {
	xs := x.Shape()
	if len(xs) < 2 {
		return nil, checkDims("linear", x, -1, -1)
	}
	in := prod(xs[1:])
	if err := checkDims("linear", w, in, -1); err != nil {
		return nil, err
	}
	out := w.Shape()[1]
	if err := checkDims("linear", b, 1, out); err != nil {
		return nil, err
	}
	op := &LinearOp{N: xs[0], In: in, Out: out, NoInputGrad: noInputGrad}
	op.opBase = opBase{name: "Linear", inDims: []int{len(xs), 2, 2}, out: tensor.Shape{xs[0], out}, self: op}
	return apply(op, x, w, b)
}

func (op *LinearOp) Exec(out []float32, in [][]float32) {
	kernels.CopyBias(out, in[2], op.N, op.Out)
	kernels.Gemm(false, false, op.N, op.Out, op.In, 1, in[0], op.In, in[1], op.Out, 1, out, op.Out)
}

func (op *LinearOp) Do(v ...gorgonia.Value) (gorgonia.Value, error) { return doWith(op, v) }

func (op *LinearOp) DiffWRT(int) []bool { return []bool{!op.NoInputGrad, true, true} }

func (op *LinearOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	x, w := inputs[0], inputs[1]
	res := make(gorgonia.Nodes, 3)
	var err error
	if !op.NoInputGrad {
		gx := &LinearGradInputOp{N: op.N, In: op.In, Out: op.Out}
		gx.opBase = opBase{name: "LinearGradInput", inDims: []int{2, 2}, out: x.Shape().Clone(), self: gx}
		if res[0], err = apply(gx, grad, w); err != nil {
			return nil, err
		}
	}
	gw := &LinearGradWeightOp{N: op.N, In: op.In, Out: op.Out}
	gw.opBase = opBase{name: "LinearGradWeight", inDims: []int{x.Dims(), 2}, out: tensor.Shape{op.In, op.Out}, self: gw}
	if res[1], err = apply(gw, x, grad); err != nil {
		return nil, err
	}
	gb := &ColSumOp{Rows: op.N, Cols: op.Out}
	gb.opBase = opBase{name: "ColSum", inDims: []int{2}, out: tensor.Shape{1, op.Out}, self: gb}
	if res[2], err = apply(gb, grad); err != nil {
		return nil, err
	}
	return res, nil
}

// LinearGradInputOp computes dx = dy·Wᵀ (a GEMM with W transposed by flag).
type LinearGradInputOp struct {
	opBase
	N, In, Out int
}

func (op *LinearGradInputOp) Exec(out []float32, in [][]float32)             { op.Plan(out, in, false).Run(nil) }
func (op *LinearGradInputOp) Do(v ...gorgonia.Value) (gorgonia.Value, error) { return doWith(op, v) }

// LinearGradWeightOp computes dW = xᵀ·dy (a GEMM with x transposed by flag).
type LinearGradWeightOp struct {
	opBase
	N, In, Out int
}

func (op *LinearGradWeightOp) Exec(out []float32, in [][]float32)             { op.Plan(out, in, false).Run(nil) }
func (op *LinearGradWeightOp) Do(v ...gorgonia.Value) (gorgonia.Value, error) { return doWith(op, v) }

// ColSumOp computes db = Σ_rows dy as a (1, Cols) row.
type ColSumOp struct {
	opBase
	Rows, Cols int
}

func (op *ColSumOp) Exec(out []float32, in [][]float32)             { kernels.ColSum(out, in[0], op.Rows, op.Cols) }
func (op *ColSumOp) Do(v ...gorgonia.Value) (gorgonia.Value, error) { return doWith(op, v) }
