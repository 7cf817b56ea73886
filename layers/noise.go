package layers

import (
	"fmt"
	"math/rand/v2"

	"gorgonia.org/gorgonia"

	"normtap/kernels"
)

// Santurkar et al. (2018, "How Does Batch Normalization Help
// Optimization?", §2.1 and appendix A) test the covariate-shift story by
// adding noise after every BatchNorm whose mean and variance change at
// every step: "noisy BatchNorm". A network that trains as well with it as
// with plain BatchNorm, although its layers' inputs now shift a lot from
// step to step, shows that BatchNorm's benefit is not its control of the
// input distribution.
//
// normtap's noise, per training step t and unit c (a feature, or a channel
// of a conv layer):
//
//	μ_c ~ U(−A, A)    the step's mean shift
//	σ_c ~ U(1, B)     the step's scale
//
// and per example j, with u, u′ ~ U(−1, 1) drawn anew for each (j, c):
//
//	y_jc = s_jc·x_jc + m_jc,  s_jc = σ_c·(1 + J·u),  m_jc = μ_c + J·u′
//
// so every example sees i.i.d. noise whose mean and spread move with the
// step, as the paper describes ("i.i.d. noise sampled from a non-zero
// mean and non-unit variance distribution", changing at every step); J is
// NoiseJitter. The defaults A = 0.5 and B = 1.25 are our reading of the
// noise magnitudes in the paper's appendix (its n_μ and n_σ): a shift of up
// to half a standard deviation and a scale of up to 1.25 of a unit that
// BatchNorm just made zero-mean and unit-variance, large next to the step
// to step change training alone causes. The op is affine per example, so
// its backward pass is dx = s·dy.

// Noise defaults (see above) and the per-example jitter.
const (
	DefaultNoiseA = 0.5
	DefaultNoiseB = 1.25
	NoiseJitter   = 0.1
)

// NoiseState is a noisy BatchNorm's randomness. It lives on the host: a
// machine reads it at every forward pass (and one that keeps a device copy
// pushes it in LoadParams).
type NoiseState struct {
	A, B float32 // mean shift from U(−A, A), scale from U(1, B)
	// Seed and Draws fix the noise: the k-th training-mode forward pass
	// (k = Draws, then Draws is incremented) draws from PCG(Seed, k). Saving
	// and restoring Draws replays the noise exactly: checkpoints store it,
	// and measurements (graph.Measure) rewind it so that they never change
	// the noise a training step sees.
	Seed  uint64
	Draws uint64
	// BN is the BatchNorm the noise follows: the noise is on while BN is in
	// training mode, and the op is the identity in eval mode.
	BN *BNState
}

// NewNoiseState returns the noise following the BatchNorm bn; Seed is set by
// graph's Model.Init.
func NewNoiseState(a, b float32, bn *BNState) *NoiseState {
	return &NoiseState{A: a, B: b, BN: bn}
}

// NormNoiseOp adds a NoiseState's noise to x, (N, C) or (N, C, H, W).
type NormNoiseOp struct {
	opBase
	N, C, S int // S = H·W for 4-D input, 1 for 2-D
	State   *NoiseState
	// scale holds s_jc of the last forward pass (1 in eval mode), N×C: the
	// backward pass reads it. mu, sigma and pcg are scratch.
	scale     []float32
	mu, sigma []float32
	pcg       *rand.PCG
	rng       *rand.Rand
}

// NormNoise adds the noisy-BatchNorm noise of st to x's graph.
func NormNoise(x *gorgonia.Node, st *NoiseState) (*gorgonia.Node, error) {
	xs := x.Shape()
	if len(xs) != 2 && len(xs) != 4 {
		return nil, fmt.Errorf("norm noise: %s has shape %v, want (N, F) or (N, C, H, W)", x.Name(), xs)
	}
	if st.BN == nil {
		return nil, fmt.Errorf("norm noise: its state follows no BatchNorm")
	}
	n, c, s := xs[0], xs[1], 1
	if len(xs) == 4 {
		s = xs[2] * xs[3]
	}
	op := &NormNoiseOp{N: n, C: c, S: s, State: st, scale: make([]float32, n*c),
		mu: make([]float32, c), sigma: make([]float32, c), pcg: rand.NewPCG(0, 0)}
	op.rng = rand.New(op.pcg)
	op.opBase = opBase{name: "NormNoise", inDims: []int{len(xs)}, out: xs.Clone(), self: op}
	return apply(op, x)
}

func (op *NormNoiseOp) Exec(out []float32, in [][]float32) {
	st := op.State
	if !st.BN.Training {
		copy(out, in[0][:len(out)])
		for i := range op.scale {
			op.scale[i] = 1
		}
		return
	}
	op.pcg.Seed(st.Seed, st.Draws)
	st.Draws++
	kernels.NormNoiseForward(op.rng, in[0], op.N, op.C, op.S, st.A, st.B, NoiseJitter, out, op.scale, op.mu, op.sigma)
}

func (op *NormNoiseOp) Do(v ...gorgonia.Value) (gorgonia.Value, error) { return doWith(op, v) }
func (op *NormNoiseOp) DiffWRT(int) []bool                             { return []bool{true} }

func (op *NormNoiseOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	b := &NormNoiseGradOp{Fwd: op}
	d := len(op.out)
	b.opBase = opBase{name: "NormNoiseGrad", inDims: []int{d, d}, out: op.out.Clone(), self: b}
	// The output is an input only to order the ops: the gradient reads the
	// scales the forward pass drew.
	dx, err := apply(b, output, grad)
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{dx}, nil
}

// NormNoiseGradOp computes dx = s·dy from (y, dy), reading the scales s of
// its forward op's last pass.
type NormNoiseGradOp struct {
	opBase
	Fwd *NormNoiseOp
}

func (op *NormNoiseGradOp) Exec(out []float32, in [][]float32) {
	f := op.Fwd
	kernels.NormNoiseBackward(in[1], f.scale, f.N, f.C, f.S, out)
}
func (op *NormNoiseGradOp) Do(v ...gorgonia.Value) (gorgonia.Value, error) { return doWith(op, v) }
