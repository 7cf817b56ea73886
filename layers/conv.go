package layers

import (
	"fmt"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"normtap/kernels"
)

// Conv2dOp is a 3×3 convolution with stride 1 and zero padding 1 (the
// output keeps the input's height and width), plus a per-channel bias:
// x (N, C, H, W), W (K, C·9), b (1, K) → y (N, K, H, W). It unfolds a block
// of examples at a time into columns (im2col) and multiplies each block
// with one GEMM (kernels.Conv3x3Forward); the columns are kept for the
// weight gradient. The executor splits the blocks over its workers.
type Conv2dOp struct {
	opBase
	N, C, H, Wd, K int
	NoInputGrad    bool
	cols           []float32 // every block's (C·9, nb·H·W) columns, in order
	scratch        []float32 // Exec's scratch (one worker's)
}

// shape is the kernels' description of the convolution.
func (op *Conv2dOp) shape() kernels.Conv3x3Shape {
	return kernels.Conv3x3Shape{N: op.N, C: op.C, H: op.H, W: op.Wd, K: op.K}
}

// Conv3x3 adds a 3×3 same-padding convolution of x to the graph.
func Conv3x3(x, w, b *gorgonia.Node, noInputGrad bool) (*gorgonia.Node, error) {
	xs := x.Shape()
	if len(xs) != 4 {
		return nil, fmt.Errorf("conv3x3: %s has shape %v, want (N, C, H, W)", x.Name(), xs)
	}
	n, c, h, wd := xs[0], xs[1], xs[2], xs[3]
	if err := checkDims("conv3x3", w, -1, c*9); err != nil {
		return nil, err
	}
	k := w.Shape()[0]
	if err := checkDims("conv3x3", b, 1, k); err != nil {
		return nil, err
	}
	op := &Conv2dOp{N: n, C: c, H: h, Wd: wd, K: k, NoInputGrad: noInputGrad}
	op.cols = make([]float32, op.shape().ColsLen())
	op.scratch = make([]float32, op.shape().ScratchLen())
	op.opBase = opBase{name: "Conv3x3", inDims: []int{4, 2, 2}, out: tensor.Shape{n, k, h, wd}, self: op}
	return apply(op, x, w, b)
}

func (op *Conv2dOp) Exec(out []float32, in [][]float32) {
	s := op.shape()
	kernels.Conv3x3Forward(s, in[0], in[1], in[2], op.cols, op.scratch, out, 0, s.Blocks())
}

// Bind splits the blocks over w, each part with scratch of its own. Every
// output is computed as Exec computes it.
func (op *Conv2dOp) Bind(w *kernels.Workers, out []float32, in [][]float32) func() {
	x, wt, b := in[0], in[1], in[2]
	s := op.shape()
	scratch := partScratch(w, s.ScratchLen())
	part := func(p, parts int) {
		b0, b1 := kernels.Span(s.Blocks(), p, parts, 1)
		kernels.Conv3x3Forward(s, x, wt, b, op.cols, scratch[p], out, b0, b1)
	}
	return func() { w.Run(part) }
}

// partScratch is one buffer of n floats per part of w.
func partScratch(w *kernels.Workers, n int) [][]float32 {
	s := make([][]float32, w.Parts())
	for i := range s {
		s[i] = make([]float32, n)
	}
	return s
}

func (op *Conv2dOp) Do(v ...gorgonia.Value) (gorgonia.Value, error) { return doWith(op, v) }
func (op *Conv2dOp) DiffWRT(int) []bool                             { return []bool{!op.NoInputGrad, true, true} }

func (op *Conv2dOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	res := make(gorgonia.Nodes, 3)
	var err error
	if !op.NoInputGrad {
		gx := &Conv2dGradInputOp{Fwd: op, scratch: make([]float32, 2*op.shape().ScratchLen())}
		gx.opBase = opBase{name: "Conv3x3GradInput", inDims: []int{4, 2}, out: tensor.Shape{op.N, op.C, op.H, op.Wd}, self: gx}
		if res[0], err = apply(gx, grad, inputs[1]); err != nil {
			return nil, err
		}
	}
	gw := &Conv2dGradWeightOp{Fwd: op, scratch: make([]float32, op.shape().ScratchLen())}
	gw.opBase = opBase{name: "Conv3x3GradWeight", inDims: []int{4, 4}, out: tensor.Shape{op.K, op.C * 9}, self: gw}
	if res[1], err = apply(gw, output, grad); err != nil {
		return nil, err
	}
	gb := &ChannelSumOp{N: op.N, C: op.K, S: op.H * op.Wd}
	gb.opBase = opBase{name: "ChannelSum", inDims: []int{4}, out: tensor.Shape{1, op.K}, self: gb}
	if res[2], err = apply(gb, grad); err != nil {
		return nil, err
	}
	return res, nil
}

// Conv2dGradInputOp computes dx from (dy, W): per block of examples the
// columns Wᵀ·dy (one GEMM) folded back onto the images.
type Conv2dGradInputOp struct {
	opBase
	Fwd     *Conv2dOp
	scratch []float32 // Exec's: dy of a block, then its column gradients
}

func (op *Conv2dGradInputOp) Exec(out []float32, in [][]float32) {
	s := op.Fwd.shape()
	n := s.ScratchLen()
	kernels.Conv3x3GradInput(s, in[0], in[1], op.scratch[:n], op.scratch[n:], out, 0, s.Blocks())
}

func (op *Conv2dGradInputOp) Bind(w *kernels.Workers, out []float32, in [][]float32) func() {
	dy, wt := in[0], in[1]
	s := op.Fwd.shape()
	n := s.ScratchLen()
	scratch := partScratch(w, 2*n)
	part := func(p, parts int) {
		b0, b1 := kernels.Span(s.Blocks(), p, parts, 1)
		kernels.Conv3x3GradInput(s, dy, wt, scratch[p][:n], scratch[p][n:], out, b0, b1)
	}
	return func() { w.Run(part) }
}
func (op *Conv2dGradInputOp) Do(v ...gorgonia.Value) (gorgonia.Value, error) { return doWith(op, v) }

// Conv2dGradWeightOp computes dW = Σ_blocks dy·colsᵀ from (y, dy), using
// the columns the forward pass kept (y only orders it after the forward).
type Conv2dGradWeightOp struct {
	opBase
	Fwd     *Conv2dOp
	scratch []float32
}

func (op *Conv2dGradWeightOp) Exec(out []float32, in [][]float32) {
	s := op.Fwd.shape()
	clear(out)
	kernels.Conv3x3GradWeight(s, in[1], op.Fwd.cols, op.scratch, out, 0, s.Blocks())
}

// Bind: each part sums its blocks into a dW of its own; the parts' sums
// are then added in part order, so the result does not depend on timing.
func (op *Conv2dGradWeightOp) Bind(w *kernels.Workers, out []float32, in [][]float32) func() {
	dy := in[1]
	s := op.Fwd.shape()
	parts := min(w.Parts(), s.Blocks())
	scratch := partScratch(w, s.ScratchLen())
	partial := partScratch(w, len(out))
	part := func(p, np int) {
		clear(partial[p])
		b0, b1 := kernels.Span(s.Blocks(), p, np, 1)
		kernels.Conv3x3GradWeight(s, dy, op.Fwd.cols, scratch[p], partial[p], b0, b1)
	}
	return func() {
		if parts == 1 {
			clear(out)
			kernels.Conv3x3GradWeight(s, dy, op.Fwd.cols, scratch[0], out, 0, s.Blocks())
			return
		}
		w.Run(part)
		copy(out, partial[0])
		for p := 1; p < len(partial); p++ {
			kernels.AddTo(out, partial[p])
		}
	}
}
func (op *Conv2dGradWeightOp) Do(v ...gorgonia.Value) (gorgonia.Value, error) { return doWith(op, v) }

// ChannelSumOp sums (N, C, S) over N and S into (1, C): a conv bias gradient.
type ChannelSumOp struct {
	opBase
	N, C, S int
}

func (op *ChannelSumOp) Exec(out []float32, in [][]float32) {
	kernels.ChannelSum(out, in[0], op.N, op.C, op.S)
}

// Bind splits by channel: each channel's sum is one part's, in one order.
func (op *ChannelSumOp) Bind(w *kernels.Workers, out []float32, in [][]float32) func() {
	x := in[0]
	part := func(p, parts int) {
		c0, c1 := kernels.Span(op.C, p, parts, 1)
		kernels.ChannelSumSpan(out, x, op.N, op.C, op.S, c0, c1)
	}
	return func() { parallel(w, len(x), part) }
}
func (op *ChannelSumOp) Do(v ...gorgonia.Value) (gorgonia.Value, error) { return doWith(op, v) }

// MaxPool2Op is a 2×2 max-pool with stride 2 (odd edges dropped, as
// PyTorch's default): (N, C, H, W) → (N, C, H/2, W/2). It keeps the index of
// each maximum for the backward pass.
type MaxPool2Op struct {
	opBase
	N, C, H, W int
	argmax     []int32
}

// MaxPool2 adds a 2×2 max-pool of x to the graph.
func MaxPool2(x *gorgonia.Node) (*gorgonia.Node, error) {
	xs := x.Shape()
	if len(xs) != 4 || xs[2] < 2 || xs[3] < 2 {
		return nil, fmt.Errorf("maxpool2: %s has shape %v, want (N, C, H≥2, W≥2)", x.Name(), xs)
	}
	op := &MaxPool2Op{N: xs[0], C: xs[1], H: xs[2], W: xs[3]}
	oh, ow := op.H/2, op.W/2
	op.argmax = make([]int32, op.N*op.C*oh*ow)
	op.opBase = opBase{name: "MaxPool2", inDims: []int{4}, out: tensor.Shape{op.N, op.C, oh, ow}, self: op}
	return apply(op, x)
}

func (op *MaxPool2Op) Exec(out []float32, in [][]float32) {
	kernels.MaxPool2Forward(in[0], op.N*op.C, op.H, op.W, out, op.argmax)
}

// Bind splits by plane (example and channel).
func (op *MaxPool2Op) Bind(w *kernels.Workers, out []float32, in [][]float32) func() {
	x := in[0]
	part := func(p, parts int) {
		p0, p1 := kernels.Span(op.N*op.C, p, parts, 1)
		kernels.MaxPool2ForwardPlanes(x, op.H, op.W, out, op.argmax, p0, p1)
	}
	return func() { parallel(w, len(x), part) }
}
func (op *MaxPool2Op) Do(v ...gorgonia.Value) (gorgonia.Value, error) { return doWith(op, v) }
func (op *MaxPool2Op) DiffWRT(int) []bool                             { return []bool{true} }

func (op *MaxPool2Op) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	b := &MaxPool2GradOp{Fwd: op}
	b.opBase = opBase{name: "MaxPool2Grad", inDims: []int{4, 4}, out: tensor.Shape{op.N, op.C, op.H, op.W}, self: b}
	dx, err := apply(b, output, grad)
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{dx}, nil
}

// MaxPool2GradOp routes each dy to the input that was the maximum, from
// (y, dy); y only orders it after the forward pass.
type MaxPool2GradOp struct {
	opBase
	Fwd *MaxPool2Op
}

func (op *MaxPool2GradOp) Exec(out []float32, in [][]float32) {
	kernels.MaxPool2Backward(in[1], op.Fwd.argmax, out)
}

// Bind splits by plane: a plane's outputs route only into that plane.
func (op *MaxPool2GradOp) Bind(w *kernels.Workers, out []float32, in [][]float32) func() {
	dy, f := in[1], op.Fwd
	part := func(p, parts int) {
		p0, p1 := kernels.Span(f.N*f.C, p, parts, 1)
		kernels.MaxPool2BackwardPlanes(dy, f.argmax, out, f.H, f.W, p0, p1)
	}
	return func() { parallel(w, len(out), part) }
}
func (op *MaxPool2GradOp) Do(v ...gorgonia.Value) (gorgonia.Value, error) { return doWith(op, v) }
