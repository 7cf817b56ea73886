package layers

import (
	"fmt"

	"gorgonia.org/gorgonia"

	"normtap/kernels"
)

// The GroupNorm op (Wu & He 2018); its kernels are in kernels/groupnorm.go.
// Like LayerNorm it splits by example on the CPU executor.

// GroupNormOp normalizes each example of x, (N, C) or (N, C, H, W), over
// each of Groups groups of C/Groups channels (and H, W). γ and β are
// per channel, (1, C).
type GroupNormOp struct {
	opBase
	N, C, S int // S = H·W for 4-D input, 1 for 2-D
	Groups  int
	Eps     float32
	stash   *normStash
}

// GroupNorm adds a GroupNorm of x with groups groups and γ, β of shape
// (1, C) to x's graph. groups must divide C.
func GroupNorm(x, gamma, beta *gorgonia.Node, groups int, eps float32) (*gorgonia.Node, error) {
	xs := x.Shape()
	if len(xs) != 2 && len(xs) != 4 {
		return nil, fmt.Errorf("groupnorm: %s has shape %v, want (N, C) or (N, C, H, W)", x.Name(), xs)
	}
	n, c, s := xs[0], xs[1], 1
	if len(xs) == 4 {
		s = xs[2] * xs[3]
	}
	if groups < 1 || c%groups != 0 {
		return nil, fmt.Errorf("groupnorm: %d groups do not divide the %d channels of %s", groups, c, x.Name())
	}
	for _, p := range []*gorgonia.Node{gamma, beta} {
		if err := checkDims("groupnorm", p, 1, c); err != nil {
			return nil, err
		}
	}
	op := &GroupNormOp{N: n, C: c, S: s, Groups: groups, Eps: eps, stash: newStash(n*groups, c)}
	op.opBase = opBase{name: "GroupNorm", inDims: []int{len(xs), 2, 2}, out: xs.Clone(), self: op}
	return apply(op, x, gamma, beta)
}

func (op *GroupNormOp) Exec(out []float32, in [][]float32) {
	kernels.GroupNormForward(in[0], in[1], in[2], op.N, op.C, op.S, op.Groups, op.Eps, out, op.stash.mean, op.stash.invstd)
}
func (op *GroupNormOp) Do(v ...gorgonia.Value) (gorgonia.Value, error) { return doWith(op, v) }
func (op *GroupNormOp) DiffWRT(int) []bool                             { return []bool{true, true, true} }

func (op *GroupNormOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	b := &GroupNormGradOp{Fwd: op}
	b.opBase = opBase{name: "GroupNormGrad", inDims: []int{len(op.out), len(op.out), 2}, out: op.out.Clone(), self: b}
	dx, err := apply(b, inputs[0], grad, inputs[1])
	if err != nil {
		return nil, err
	}
	return paramGrads(op, op.stash, op.C, dx)
}

// GroupNormGradOp computes dx of a GroupNorm from (x, dy, γ), in its kernel's order, leaving dγ and
// dβ in the forward op's stash.
type GroupNormGradOp struct {
	opBase
	Fwd *GroupNormOp
}

func (op *GroupNormGradOp) Exec(out []float32, in [][]float32) {
	f, sh := op.Fwd, op.Fwd.stash
	kernels.GroupNormBackward(in[0], in[1], in[2], sh.mean, sh.invstd, f.N, f.C, f.S, f.Groups, out, sh.dgamma, sh.dbeta)
}
func (op *GroupNormGradOp) Do(v ...gorgonia.Value) (gorgonia.Value, error) { return doWith(op, v) }

// Bind splits GroupNorm by example.
func (op *GroupNormOp) Bind(w *kernels.Workers, out []float32, in [][]float32) func() {
	x, gamma, beta := in[0], in[1], in[2]
	sh, d, g := op.stash, op.C*op.S, op.Groups
	part := func(p, parts int) {
		lo, hi := kernels.Span(op.N, p, parts, 1)
		kernels.GroupNormForward(x[lo*d:hi*d], gamma, beta, hi-lo, op.C, op.S, g, op.Eps, out[lo*d:hi*d], sh.mean[lo*g:hi*g], sh.invstd[lo*g:hi*g])
	}
	return func() { parallel(w, len(out), part) }
}

func (op *GroupNormGradOp) Bind(w *kernels.Workers, out []float32, in [][]float32) func() {
	x, dy, gamma := in[0], in[1], in[2]
	f, sh := op.Fwd, op.Fwd.stash
	d, g := f.C*f.S, f.Groups
	return bindRowSums(w, f.N, len(out), [][]float32{sh.dgamma, sh.dbeta}, func(lo, hi int, sums [][]float32) {
		kernels.GroupNormBackward(x[lo*d:hi*d], dy[lo*d:hi*d], gamma, sh.mean[lo*g:hi*g], sh.invstd[lo*g:hi*g],
			hi-lo, f.C, f.S, g, out[lo*d:hi*d], sums[0], sums[1])
	})
}

// bindRowSums prepares a backward kernel over n examples whose outputs dst
// (dγ, dβ) are sums over the examples: each part runs kern on its examples
// [lo, hi) into scratch of its own, which kern overwrites, and the parts'
// sums are then added into dst in part order, so the result does not
// depend on timing. Work below minParallel values runs as one part
// straight into dst.
func bindRowSums(w *kernels.Workers, n, work int, dst [][]float32, kern func(lo, hi int, sums [][]float32)) func() {
	parts := w.Parts()
	if work < minParallel {
		parts = 1
	}
	scratch := make([][][]float32, parts)
	for p := range scratch {
		scratch[p] = make([][]float32, len(dst))
		for k, d := range dst {
			scratch[p][k] = make([]float32, len(d))
		}
	}
	part := func(p, np int) {
		lo, hi := kernels.Span(n, p, np, 1)
		kern(lo, hi, scratch[p])
	}
	return func() {
		if parts == 1 {
			kern(0, n, dst)
			return
		}
		w.Run(part)
		for k, d := range dst {
			copy(d, scratch[0][k])
			for p := 1; p < parts; p++ {
				kernels.AddTo(d, scratch[p][k])
			}
		}
	}
}
