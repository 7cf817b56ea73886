package layers

import (
	"fmt"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"normtap/kernels"
)

// BNState is a BatchNorm layer's state that outlives one graph run: its
// running statistics and whether it is in training mode. Switching modes
// never touches the running statistics.
type BNState struct {
	Momentum    float32 // weight of the new batch in the running statistics (PyTorch's convention, default 0.1)
	Eps         float32
	RunningMean []float32 // starts at 0
	RunningVar  []float32 // starts at 1
	Training    bool
}

// NewBNState returns the state of a BatchNorm over c channels, in training mode.
func NewBNState(c int, momentum, eps float32) *BNState {
	s := &BNState{Momentum: momentum, Eps: eps, RunningMean: make([]float32, c), RunningVar: make([]float32, c), Training: true}
	for i := range s.RunningVar {
		s.RunningVar[i] = 1
	}
	return s
}

// normStash is what a norm's forward pass keeps for its backward pass, and
// where the backward pass leaves dγ and dβ for the ops that hand them out.
type normStash struct {
	mean, variance, invstd []float32
	acc                    []float64
	train                  bool // the mode of the last forward pass
	dgamma, dbeta          []float32
}

func newStash(stats, params int) *normStash {
	return &normStash{
		mean: make([]float32, stats), variance: make([]float32, stats), invstd: make([]float32, stats),
		acc: make([]float64, 2*stats), dgamma: make([]float32, params), dbeta: make([]float32, params),
	}
}

// BatchNormOp normalizes x, (N, F) or (N, C, H, W), per feature or channel.
type BatchNormOp struct {
	opBase
	N, C, S int // S = H·W for 4-D input, 1 for 2-D
	State   *BNState
	stash   *normStash
}

// BatchNorm adds a BatchNorm of x with γ, β of shape (1, C) to x's graph.
func BatchNorm(x, gamma, beta *gorgonia.Node, st *BNState) (*gorgonia.Node, error) {
	xs := x.Shape()
	if len(xs) != 2 && len(xs) != 4 {
		return nil, fmt.Errorf("batchnorm: %s has shape %v, want (N, F) or (N, C, H, W)", x.Name(), xs)
	}
	n, c, s := xs[0], xs[1], 1
	if len(xs) == 4 {
		s = xs[2] * xs[3]
	}
	for _, p := range []*gorgonia.Node{gamma, beta} {
		if err := checkDims("batchnorm", p, 1, c); err != nil {
			return nil, err
		}
	}
	if len(st.RunningMean) != c || len(st.RunningVar) != c {
		return nil, fmt.Errorf("batchnorm: state holds %d channels, input has %d", len(st.RunningMean), c)
	}
	op := &BatchNormOp{N: n, C: c, S: s, State: st, stash: newStash(c, c)}
	op.opBase = opBase{name: "BatchNorm", inDims: []int{len(xs), 2, 2}, out: xs.Clone(), self: op}
	return apply(op, x, gamma, beta)
}

// SetTraining switches between batch statistics (training) and running
// statistics (eval); gorgonia.TrainModeOp.
func (op *BatchNormOp) SetTraining(training bool) error { op.State.Training = training; return nil }

func (op *BatchNormOp) Exec(out []float32, in [][]float32) {
	st, sh := op.State, op.stash
	sh.train = st.Training
	if st.Training {
		kernels.BatchNormTrainForward(in[0], in[1], in[2], op.N, op.C, op.S, st.Eps, out, sh.mean, sh.variance, sh.invstd, sh.acc)
		kernels.BatchNormUpdateRunning(st.RunningMean, st.RunningVar, sh.mean, sh.variance, op.N*op.S, st.Momentum)
		return
	}
	copy(sh.mean, st.RunningMean)
	kernels.BatchNormEvalForward(in[0], in[1], in[2], st.RunningMean, st.RunningVar, op.N, op.C, op.S, st.Eps, out, sh.invstd)
}

func (op *BatchNormOp) Do(v ...gorgonia.Value) (gorgonia.Value, error) { return doWith(op, v) }

func (op *BatchNormOp) DiffWRT(int) []bool { return []bool{true, true, true} }

func (op *BatchNormOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	b := &BatchNormGradOp{Fwd: op}
	b.opBase = opBase{name: "BatchNormGrad", inDims: []int{len(op.out), len(op.out), 2}, out: op.out.Clone(), self: b}
	dx, err := apply(b, inputs[0], grad, inputs[1])
	if err != nil {
		return nil, err
	}
	return paramGrads(op, op.stash, op.C, dx)
}

// BatchNormGradOp computes dx of a BatchNorm from (x, dy, γ), the order of
// kernels.BatchNormBackward's arguments, leaving dγ and dβ in the forward
// op's stash; it differentiates through the batch statistics when the
// forward pass ran in training mode.
type BatchNormGradOp struct {
	opBase
	Fwd *BatchNormOp
}

func (op *BatchNormGradOp) Exec(out []float32, in [][]float32) {
	f, sh := op.Fwd, op.Fwd.stash
	kernels.BatchNormBackward(sh.train, in[0], in[1], in[2], sh.mean, sh.invstd, f.N, f.C, f.S, out, sh.dgamma, sh.dbeta, sh.acc)
}
func (op *BatchNormGradOp) Do(v ...gorgonia.Value) (gorgonia.Value, error) { return doWith(op, v) }

// NormParamGradOp hands out dγ (Beta false) or dβ (Beta true) that a norm's
// backward op left in the stash. Its input is that backward op's output, so
// it runs after it.
type NormParamGradOp struct {
	opBase
	Beta bool
	// Fwd is the norm op (BatchNormOp, LayerNormOp, GroupNormOp, RMSNormOp)
	// whose gradient this hands out.
	Fwd   gorgonia.Op
	stash *normStash
}

func (op *NormParamGradOp) Exec(out []float32, in [][]float32) {
	if op.Beta {
		copy(out, op.stash.dbeta)
	} else {
		copy(out, op.stash.dgamma)
	}
}
func (op *NormParamGradOp) Do(v ...gorgonia.Value) (gorgonia.Value, error) { return doWith(op, v) }

// paramGrads returns the gradients of a norm's (x, γ, β) given the node
// computing dx, adding the ops that hand out dγ and dβ.
func paramGrads(fwd gorgonia.Op, sh *normStash, width int, dx *gorgonia.Node) (gorgonia.Nodes, error) {
	res := gorgonia.Nodes{dx, nil, nil}
	for i, isBeta := range []bool{false, true} {
		p := &NormParamGradOp{Beta: isBeta, Fwd: fwd, stash: sh}
		name := "NormGradGamma"
		if isBeta {
			name = "NormGradBeta"
		}
		p.opBase = opBase{name: name, inDims: []int{dx.Dims()}, out: tensor.Shape{1, width}, self: p}
		n, err := apply(p, dx)
		if err != nil {
			return nil, err
		}
		res[i+1] = n
	}
	return res, nil
}

// LayerNormOp normalizes each example of x over all its features: (N, D),
// or (N, C, H, W) seen as (N, C·H·W). γ and β are (1, D).
type LayerNormOp struct {
	opBase
	N, D  int
	Eps   float32
	stash *normStash
}

// LayerNorm adds a LayerNorm of x with γ, β of shape (1, D) to x's graph.
func LayerNorm(x, gamma, beta *gorgonia.Node, eps float32) (*gorgonia.Node, error) {
	xs := x.Shape()
	if len(xs) < 2 {
		return nil, fmt.Errorf("layernorm: %s has shape %v, want (N, …)", x.Name(), xs)
	}
	n, d := xs[0], prod(xs[1:])
	for _, p := range []*gorgonia.Node{gamma, beta} {
		if err := checkDims("layernorm", p, 1, d); err != nil {
			return nil, err
		}
	}
	op := &LayerNormOp{N: n, D: d, Eps: eps, stash: newStash(n, d)}
	op.opBase = opBase{name: "LayerNorm", inDims: []int{len(xs), 2, 2}, out: xs.Clone(), self: op}
	return apply(op, x, gamma, beta)
}

func (op *LayerNormOp) Exec(out []float32, in [][]float32) {
	kernels.LayerNormForward(in[0], in[1], in[2], op.N, op.D, op.Eps, out, op.stash.mean, op.stash.invstd)
}
func (op *LayerNormOp) Do(v ...gorgonia.Value) (gorgonia.Value, error) { return doWith(op, v) }
func (op *LayerNormOp) DiffWRT(int) []bool                             { return []bool{true, true, true} }

func (op *LayerNormOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	b := &LayerNormGradOp{Fwd: op}
	b.opBase = opBase{name: "LayerNormGrad", inDims: []int{len(op.out), len(op.out), 2}, out: op.out.Clone(), self: b}
	dx, err := apply(b, inputs[0], grad, inputs[1])
	if err != nil {
		return nil, err
	}
	return paramGrads(op, op.stash, op.D, dx)
}

// LayerNormGradOp computes dx of a LayerNorm from (x, dy, γ), the order of
// kernels.LayerNormBackward's arguments, leaving dγ and dβ in the forward
// op's stash.
type LayerNormGradOp struct {
	opBase
	Fwd *LayerNormOp
}

func (op *LayerNormGradOp) Exec(out []float32, in [][]float32) {
	f, sh := op.Fwd, op.Fwd.stash
	kernels.LayerNormBackward(in[0], in[1], in[2], sh.mean, sh.invstd, f.N, f.D, out, sh.dgamma, sh.dbeta)
}
func (op *LayerNormGradOp) Do(v ...gorgonia.Value) (gorgonia.Value, error) { return doWith(op, v) }
