package layers

import (
	"fmt"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"normtap/kernels"
)

// Conv2dOp is a 3×3 convolution with stride 1 and zero padding 1 (the
// output keeps the input's height and width), plus a per-channel bias:
// x (N, C, H, W), W (K, C·9), b (1, K) → y (N, K, H, W). It unfolds each
// example into columns (im2col) and multiplies with one GEMM; the columns
// are kept for the weight gradient.
type Conv2dOp struct {
	opBase
	N, C, H, Wd, K int
	NoInputGrad    bool
	cols           []float32 // N × (C·9) × (H·W)
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
	op := &Conv2dOp{N: n, C: c, H: h, Wd: wd, K: k, NoInputGrad: noInputGrad, cols: make([]float32, n*c*9*h*wd)}
	op.opBase = opBase{name: "Conv3x3", inDims: []int{4, 2, 2}, out: tensor.Shape{n, k, h, wd}, self: op}
	return apply(op, x, w, b)
}

func (op *Conv2dOp) Exec(out []float32, in [][]float32) {
	x, w, b := in[0], in[1], in[2]
	hw, ck := op.H*op.Wd, op.C*9
	for i := 0; i < op.N; i++ {
		col := op.cols[i*ck*hw : (i+1)*ck*hw]
		kernels.Im2Col3x3(x[i*op.C*hw:(i+1)*op.C*hw], op.C, op.H, op.Wd, col)
		y := out[i*op.K*hw : (i+1)*op.K*hw]
		for k := 0; k < op.K; k++ {
			r := y[k*hw : (k+1)*hw]
			for p := range r {
				r[p] = b[k]
			}
		}
		kernels.Gemm(false, false, op.K, hw, ck, 1, w, ck, col, hw, 1, y, hw)
	}
}
func (op *Conv2dOp) Do(v ...gorgonia.Value) (gorgonia.Value, error) { return doWith(op, v) }
func (op *Conv2dOp) DiffWRT(int) []bool                             { return []bool{!op.NoInputGrad, true, true} }

func (op *Conv2dOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	res := make(gorgonia.Nodes, 3)
	var err error
	if !op.NoInputGrad {
		gx := &Conv2dGradInputOp{Fwd: op, col: make([]float32, op.C*9*op.H*op.Wd)}
		gx.opBase = opBase{name: "Conv3x3GradInput", inDims: []int{4, 2}, out: tensor.Shape{op.N, op.C, op.H, op.Wd}, self: gx}
		if res[0], err = apply(gx, grad, inputs[1]); err != nil {
			return nil, err
		}
	}
	gw := &Conv2dGradWeightOp{Fwd: op}
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

// Conv2dGradInputOp computes dx from (dy, W): per example the columns
// Wᵀ·dy folded back onto the image.
type Conv2dGradInputOp struct {
	opBase
	Fwd *Conv2dOp
	col []float32
}

func (op *Conv2dGradInputOp) Exec(out []float32, in [][]float32) {
	f := op.Fwd
	dy, w := in[0], in[1]
	hw, ck := f.H*f.Wd, f.C*9
	clear(out)
	for i := 0; i < f.N; i++ {
		kernels.Gemm(true, false, ck, hw, f.K, 1, w, ck, dy[i*f.K*hw:(i+1)*f.K*hw], hw, 0, op.col, hw)
		kernels.Col2Im3x3(op.col, f.C, f.H, f.Wd, out[i*f.C*hw:(i+1)*f.C*hw])
	}
}
func (op *Conv2dGradInputOp) Do(v ...gorgonia.Value) (gorgonia.Value, error) { return doWith(op, v) }

// Conv2dGradWeightOp computes dW = Σ_examples dy·colsᵀ from (y, dy), using
// the columns the forward pass kept (y only orders it after the forward).
type Conv2dGradWeightOp struct {
	opBase
	Fwd *Conv2dOp
}

func (op *Conv2dGradWeightOp) Exec(out []float32, in [][]float32) {
	f := op.Fwd
	dy := in[1]
	hw, ck := f.H*f.Wd, f.C*9
	clear(out)
	for i := 0; i < f.N; i++ {
		kernels.Gemm(false, true, f.K, ck, hw, 1, dy[i*f.K*hw:(i+1)*f.K*hw], hw, f.cols[i*ck*hw:(i+1)*ck*hw], hw, 1, out, ck)
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
func (op *MaxPool2GradOp) Do(v ...gorgonia.Value) (gorgonia.Value, error) { return doWith(op, v) }
