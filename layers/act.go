package layers

import (
	"gorgonia.org/gorgonia"

	"normtap/kernels"
)

// ActOp applies an element-wise activation. With kernels.Identity it is the
// ".norm" node of a model without normalization: executors alias it
// (AliasOf).
type ActOp struct {
	opBase
	Act kernels.Act
}

// Activation adds act(x) to x's graph; kernels.Identity adds an identity node.
func Activation(a kernels.Act, x *gorgonia.Node) (*gorgonia.Node, error) {
	op := &ActOp{Act: a}
	op.opBase = opBase{name: "Act(" + a.String() + ")", inDims: []int{x.Dims()}, out: x.Shape().Clone(), self: op}
	return apply(op, x)
}

// AliasOf reports the identity (the ".norm" of an unnormalized model) as
// an alias of its input.
func (op *ActOp) AliasOf() (int, bool) { return 0, op.Act == kernels.Identity }

func (op *ActOp) Exec(out []float32, in [][]float32)             { kernels.ActForward(op.Act, in[0], out) }
func (op *ActOp) Do(v ...gorgonia.Value) (gorgonia.Value, error) { return doWith(op, v) }
func (op *ActOp) DiffWRT(int) []bool                             { return []bool{true} }

func (op *ActOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	if op.Act == kernels.Identity {
		return gorgonia.Nodes{grad}, nil
	}
	b := &ActGradOp{Act: op.Act}
	d := len(op.out)
	b.opBase = opBase{name: "ActGrad(" + op.Act.String() + ")", inDims: []int{d, d, d}, out: op.out.Clone(), self: b}
	dx, err := apply(b, inputs[0], output, grad)
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{dx}, nil
}

// ActGradOp computes dx = dy·act'(x) from (x, y, dy).
type ActGradOp struct {
	opBase
	Act kernels.Act
}

func (op *ActGradOp) Exec(out []float32, in [][]float32) {
	kernels.ActBackward(op.Act, in[0], in[1], in[2], out)
}
func (op *ActGradOp) Do(v ...gorgonia.Value) (gorgonia.Value, error) { return doWith(op, v) }
