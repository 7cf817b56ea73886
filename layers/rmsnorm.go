package layers

import (
	"fmt"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"normtap/kernels"
)

// The RMSNorm op (Zhang & Sennrich 2019): LayerNorm without re-centring.
// Its kernels are in kernels/groupnorm.go; it splits by example on the CPU
// executor.

// RMSNormOp normalizes each example of x by its root mean square over all
// its features: (N, D), or (N, C, H, W) seen as (N, C·H·W). γ is (1, D);
// there is no β.
type RMSNormOp struct {
	opBase
	N, D  int
	Eps   float32
	stash *normStash // invstd holds each row's 1/rms; dbeta is empty
}

// RMSNorm adds an RMSNorm of x with γ of shape (1, D) to x's graph.
func RMSNorm(x, gamma *gorgonia.Node, eps float32) (*gorgonia.Node, error) {
	xs := x.Shape()
	if len(xs) < 2 {
		return nil, fmt.Errorf("rmsnorm: %s has shape %v, want (N, …)", x.Name(), xs)
	}
	n, d := xs[0], prod(xs[1:])
	if err := checkDims("rmsnorm", gamma, 1, d); err != nil {
		return nil, err
	}
	op := &RMSNormOp{N: n, D: d, Eps: eps, stash: newStash(n, d)}
	op.stash.dbeta = nil
	op.opBase = opBase{name: "RMSNorm", inDims: []int{len(xs), 2}, out: xs.Clone(), self: op}
	return apply(op, x, gamma)
}

func (op *RMSNormOp) Exec(out []float32, in [][]float32) {
	kernels.RMSNormForward(in[0], in[1], op.N, op.D, op.Eps, out, op.stash.invstd)
}
func (op *RMSNormOp) Do(v ...gorgonia.Value) (gorgonia.Value, error) { return doWith(op, v) }
func (op *RMSNormOp) DiffWRT(int) []bool                             { return []bool{true, true} }

func (op *RMSNormOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	b := &RMSNormGradOp{Fwd: op}
	b.opBase = opBase{name: "RMSNormGrad", inDims: []int{len(op.out), len(op.out), 2}, out: op.out.Clone(), self: b}
	dx, err := apply(b, inputs[0], grad, inputs[1])
	if err != nil {
		return nil, err
	}
	p := &NormParamGradOp{Fwd: op, stash: op.stash}
	p.opBase = opBase{name: "NormGradGamma", inDims: []int{dx.Dims()}, out: tensor.Shape{1, op.D}, self: p}
	dg, err := apply(p, dx)
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{dx, dg}, nil
}

// RMSNormGradOp computes dx of an RMSNorm from (x, dy, γ), in its kernel's order, leaving dγ in
// the forward op's stash.
type RMSNormGradOp struct {
	opBase
	Fwd *RMSNormOp
}

func (op *RMSNormGradOp) Exec(out []float32, in [][]float32) {
	f, sh := op.Fwd, op.Fwd.stash
	kernels.RMSNormBackward(in[0], in[1], in[2], sh.invstd, f.N, f.D, out, sh.dgamma)
}
func (op *RMSNormGradOp) Do(v ...gorgonia.Value) (gorgonia.Value, error) { return doWith(op, v) }

// Bind splits RMSNorm by example.
func (op *RMSNormOp) Bind(w *kernels.Workers, out []float32, in [][]float32) func() {
	x, gamma := in[0], in[1]
	sh, d := op.stash, op.D
	part := func(p, parts int) {
		lo, hi := kernels.Span(op.N, p, parts, 1)
		kernels.RMSNormForward(x[lo*d:hi*d], gamma, hi-lo, d, op.Eps, out[lo*d:hi*d], sh.invstd[lo:hi])
	}
	return func() { parallel(w, len(out), part) }
}

func (op *RMSNormGradOp) Bind(w *kernels.Workers, out []float32, in [][]float32) func() {
	x, dy, gamma := in[0], in[1], in[2]
	f, sh, d := op.Fwd, op.Fwd.stash, op.Fwd.D
	return bindRowSums(w, f.N, len(out), [][]float32{sh.dgamma}, func(lo, hi int, sums [][]float32) {
		kernels.RMSNormBackward(x[lo*d:hi*d], dy[lo*d:hi*d], gamma, sh.invstd[lo:hi], hi-lo, d, out[lo*d:hi*d], sums[0])
	})
}
