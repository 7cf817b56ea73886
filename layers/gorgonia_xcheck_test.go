package layers

import (
	"io"
	"log"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
)

// This file runs normtap's norms and gorgonia v0.9.18's own on the same
// random inputs and compares what gorgonia computes soundly (see DESIGN.md
// for its BatchNorm's defects):
//
//   - gorgonia.BatchNorm, given explicit per-channel scale/bias of shape
//     (1, C) or (1, C, 1, 1) (its defaults are shaped like the whole batch),
//     after its machine's SetTraining(true) has reset the running statistics
//     to mean 0, variance 1 like ours: over three training steps the output
//     and the gradients wrt x, scale and bias (its training backward is
//     sound; scale/bias are differentiated by gorgonia's broadcast ops);
//     the running mean/variance after the three steps; then the eval-mode
//     output. Not its eval-mode gradient: that reads the running variance
//     as the mean.
//   - gorgonia.GroupNorm with one group against our LayerNorm on (N, F) and
//     (N, C, H, W) input: output, and gradients wrt x and the per-channel
//     scale/bias (ours are per feature; summed over H·W to compare). Its
//     backward logs whole tensors with the log package: silenced here.
//     Examples stay under 256 features: its float64 moment merge mixes up
//     its buffers beyond that (op_group_norm.go, addMomentsVecF64 called
//     with m1stk[0] as m2).
//
// Tolerances: |ours − theirs| ≤ 2e-6·(1 + |theirs|) for outputs and
// running statistics, ≤ 1e-5·(1 + |theirs|) for gradients; observed
// differences are below 5e-7 and 1.5e-6 (gorgonia accumulates in float32,
// its GroupNorm backward as Σx·dy − mean·Σdy).

// xcheckGraph is one side of a cross-check: a graph, its machine, the
// input node the steps feed, the output, and the gradients of Σ y·R.
type xcheckGraph struct {
	m     G.VM
	x, y  *G.Node
	grads G.Nodes
}

func newXcheckGraph(t *testing.T, g *G.ExprGraph, x, y *G.Node, r []float32, wrt ...*G.Node) *xcheckGraph {
	t.Helper()
	loss := mustNode(t)(weightedSum(y, r))
	grads, err := G.Grad(loss, wrt...)
	if err != nil {
		t.Fatalf("grad: %v", err)
	}
	m := G.NewTapeMachine(g)
	t.Cleanup(func() { m.Close() })
	return &xcheckGraph{m: m, x: x, y: y, grads: grads}
}

func (xg *xcheckGraph) step(t *testing.T, x []float32) {
	t.Helper()
	setValue(t, xg.x, x)
	run(t, xg.m)
}

func TestBatchNormMatchesGorgonia(t *testing.T) {
	const momentum, eps = 0.1, 1e-5
	for i, shape := range [][]int{{8, 6}, {4, 3, 5, 5}} {
		t.Run(shapeName(shape), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(i)+11, 2))
			c := shape[1]
			paramShape := []int{1, c} // gorgonia broadcasts scale/bias
			if len(shape) == 4 {
				paramShape = []int{1, c, 1, 1}
			}
			gamma, beta := randScale(rng, c), randNormal(rng, c, 0, 0.5)
			r := randNormal(rng, prod(shape), 0, 1)
			zeros := make([]float32, prod(shape))

			g1 := G.NewGraph()
			x1 := tensorNode(g1, "x", shape, zeros)
			ga1 := tensorNode(g1, "gamma", []int{1, c}, gamma)
			be1 := tensorNode(g1, "beta", []int{1, c}, beta)
			st := NewBNState(c, momentum, eps)
			ours := newXcheckGraph(t, g1, x1, mustNode(t)(BatchNorm(x1, ga1, be1, st)), r, x1, ga1, be1)

			g2 := G.NewGraph()
			x2 := tensorNode(g2, "x", shape, zeros)
			ga2 := tensorNode(g2, "scale", paramShape, gamma)
			be2 := tensorNode(g2, "bias", paramShape, beta)
			y2, _, _, theirOp, err := G.BatchNorm(x2, ga2, be2, momentum, eps)
			if err != nil {
				t.Fatal(err)
			}
			theirs := newXcheckGraph(t, g2, x2, y2, r, x2, ga2, be2)

			for s := range 3 {
				x := channelData(rng, shape)
				ours.step(t, x)
				theirs.step(t, x)
				expectClose(t, "step %d: output", valueOf(t, ours.y), valueOf(t, theirs.y), 2e-6, 2e-6, s+1)
				for k, name := range []string{"x", "gamma", "beta"} {
					expectClose(t, "step %d: d/d"+name, valueOf(t, ours.grads[k]), valueOf(t, theirs.grads[k]), 1e-5, 1e-5, s+1)
				}
			}
			runMean, runVar := theirOp.Stats()
			expectClose(t, "running mean", st.RunningMean, runMean.Data().([]float32), 2e-6, 2e-6)
			expectClose(t, "running variance", st.RunningVar, runVar.Data().([]float32), 2e-6, 2e-6)

			// Eval mode: gorgonia's SetTraining(false) keeps its statistics.
			if err := ours.y.Op().(*BatchNormOp).SetTraining(false); err != nil {
				t.Fatal(err)
			}
			if err := theirOp.SetTraining(false); err != nil {
				t.Fatal(err)
			}
			x := channelData(rng, shape)
			ours.step(t, x)
			theirs.step(t, x)
			expectClose(t, "eval: output", valueOf(t, ours.y), valueOf(t, theirs.y), 2e-6, 2e-6)
		})
	}
}

func TestLayerNormMatchesGorgoniaGroupNorm(t *testing.T) {
	const eps = 1e-5
	// Its backward op logs the upstream gradient on every run.
	prev := log.Writer()
	log.SetOutput(io.Discard)
	defer log.SetOutput(prev)
	for i, shape := range [][]int{{8, 6}, {4, 3, 5, 5}} {
		t.Run(shapeName(shape), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(i)+21, 2))
			n, c, s := shape[0], shape[1], prod(shape[2:])
			paramShape := []int{1, c}
			if len(shape) == 4 {
				paramShape = []int{1, c, 1, 1}
			}
			gamma, beta := randScale(rng, c), randNormal(rng, c, 0, 0.5)
			// Ours are per feature: each channel's value repeated over H·W.
			gammaFull, betaFull := make([]float32, c*s), make([]float32, c*s)
			for j := range c * s {
				gammaFull[j], betaFull[j] = gamma[j/s], beta[j/s]
			}
			x := make([]float32, 0, prod(shape))
			for range n {
				x = append(x, randNormal(rng, c*s, 2*rng.NormFloat64(), 0.5+2*rng.Float64())...)
			}
			r := randNormal(rng, prod(shape), 0, 1)

			g1 := G.NewGraph()
			x1 := tensorNode(g1, "x", shape, x)
			ga1 := tensorNode(g1, "gamma", []int{1, c * s}, gammaFull)
			be1 := tensorNode(g1, "beta", []int{1, c * s}, betaFull)
			ours := newXcheckGraph(t, g1, x1, mustNode(t)(LayerNorm(x1, ga1, be1, eps)), r, x1, ga1, be1)

			g2 := G.NewGraph()
			x2 := tensorNode(g2, "x", shape, x)
			ga2 := tensorNode(g2, "scale", paramShape, gamma)
			be2 := tensorNode(g2, "bias", paramShape, beta)
			y2 := mustNode(t)(G.GroupNorm(x2, ga2, be2, 1, c, eps))
			theirs := newXcheckGraph(t, g2, x2, y2, r, x2, ga2, be2)

			ours.step(t, x)
			theirs.step(t, x)
			expectClose(t, "output", valueOf(t, ours.y), valueOf(t, theirs.y), 2e-6, 2e-6)
			expectClose(t, "d/dx", valueOf(t, ours.grads[0]), valueOf(t, theirs.grads[0]), 1e-5, 1e-5)
			for k, name := range []string{"gamma", "beta"} {
				full := valueOf(t, ours.grads[k+1])
				perChannel := make([]float32, c)
				for j, v := range full {
					perChannel[j/s] += v
				}
				expectClose(t, "d/d"+name+" summed per channel", perChannel, valueOf(t, theirs.grads[k+1]), 1e-5, 1e-5)
			}
		})
	}
}
