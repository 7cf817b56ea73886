package layers

import (
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"

	"normtap/kernels"
)

// GroupNorm's and RMSNorm's identities with the other norms, on the CPU
// kernels and on random inputs whose examples and channels each have their
// own mean and spread:
//   - GroupNorm with one group is LayerNorm over (C, H, W) whose γ, β repeat
//     each channel's value over H·W (its dγ, dβ summed over H·W);
//   - GroupNorm with one group per channel is InstanceNorm: BatchNorm in
//     training mode run on each example alone (dγ, dβ summed over examples);
//   - RMSNorm of rows with mean 0 is LayerNorm with β = 0.
//
// Tolerance |a − b| ≤ 1e-5·(1 + |b|) for outputs and gradients: the same
// arithmetic in a different order (observed ≤ 1e-6).

const identityTol = 1e-5

// exampleData is x of shape (N, C, …) with each example's and each
// channel's own mean and spread.
func exampleData(rng *rand.Rand, shape []int) []float32 {
	x := channelData(rng, shape)
	d := prod(shape[1:])
	for i := range shape[0] {
		shift, scale := float32(2*rng.NormFloat64()), float32(0.5+rng.Float64())
		for j := range d {
			x[i*d+j] = x[i*d+j]*scale + shift
		}
	}
	return x
}

func TestGroupNormOneGroupIsLayerNorm(t *testing.T) {
	for i, shape := range [][]int{{5, 12}, {4, 3, 5, 6}} {
		t.Run(shapeName(shape), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(i)+31, 1))
			n, c, s := shape[0], shape[1], prod(shape[2:])
			d := c * s
			x, dy := exampleData(rng, shape), randNormal(rng, n*d, 0, 1)
			gamma, beta := randScale(rng, c), randNormal(rng, c, 0, 0.5)
			gammaFull, betaFull := make([]float32, d), make([]float32, d)
			for j := range d {
				gammaFull[j], betaFull[j] = gamma[j/s], beta[j/s]
			}
			y, dx, mean, invstd := make([]float32, n*d), make([]float32, n*d), make([]float32, n), make([]float32, n)
			dg, db := make([]float32, c), make([]float32, c)
			kernels.GroupNormForward(x, gamma, beta, n, c, s, 1, 1e-5, y, mean, invstd)
			kernels.GroupNormBackward(x, dy, gamma, mean, invstd, n, c, s, 1, dx, dg, db)

			yl, dxl, meanl, invstdl := make([]float32, n*d), make([]float32, n*d), make([]float32, n), make([]float32, n)
			dgl, dbl := make([]float32, d), make([]float32, d)
			kernels.LayerNormForward(x, gammaFull, betaFull, n, d, 1e-5, yl, meanl, invstdl)
			kernels.LayerNormBackward(x, dy, gammaFull, meanl, invstdl, n, d, dxl, dgl, dbl)

			expectClose(t, "y", y, yl, identityTol, identityTol)
			expectClose(t, "mean", mean, meanl, identityTol, identityTol)
			expectClose(t, "invstd", invstd, invstdl, identityTol, identityTol)
			expectClose(t, "dx", dx, dxl, identityTol, identityTol)
			expectClose(t, "dgamma", dg, sumPerChannel(dgl, s), identityTol, identityTol)
			expectClose(t, "dbeta", db, sumPerChannel(dbl, s), identityTol, identityTol)
		})
	}
}

func sumPerChannel(v []float32, s int) []float32 {
	out := make([]float32, len(v)/s)
	for j, x := range v {
		out[j/s] += x
	}
	return out
}

func TestGroupNormOneGroupPerChannelIsInstanceNorm(t *testing.T) {
	for i, shape := range [][]int{{5, 6}, {4, 3, 5, 6}} {
		t.Run(shapeName(shape), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(i)+41, 1))
			n, c, s := shape[0], shape[1], prod(shape[2:])
			d := c * s
			x, dy := exampleData(rng, shape), randNormal(rng, n*d, 0, 1)
			gamma, beta := randScale(rng, c), randNormal(rng, c, 0, 0.5)
			y, dx, mean, invstd := make([]float32, n*d), make([]float32, n*d), make([]float32, n*c), make([]float32, n*c)
			dg, db := make([]float32, c), make([]float32, c)
			kernels.GroupNormForward(x, gamma, beta, n, c, s, c, 1e-5, y, mean, invstd)
			kernels.GroupNormBackward(x, dy, gamma, mean, invstd, n, c, s, c, dx, dg, db)

			yi, dxi := make([]float32, n*d), make([]float32, n*d)
			dgi, dbi := make([]float32, c), make([]float32, c)
			bm, bv, bis, acc := make([]float32, c), make([]float32, c), make([]float32, c), make([]float64, 2*c)
			dg1, db1 := make([]float32, c), make([]float32, c)
			for k := range n {
				xr, yr, gr, dr := x[k*d:(k+1)*d], yi[k*d:(k+1)*d], dy[k*d:(k+1)*d], dxi[k*d:(k+1)*d]
				kernels.BatchNormTrainForward(xr, gamma, beta, 1, c, s, 1e-5, yr, bm, bv, bis, acc)
				expectClose(t, "example %d: mean", mean[k*c:(k+1)*c], bm, identityTol, identityTol, k)
				kernels.BatchNormBackward(true, xr, gr, gamma, bm, bis, 1, c, s, dr, dg1, db1, acc)
				kernels.AddTo(dgi, dg1)
				kernels.AddTo(dbi, db1)
			}
			expectClose(t, "y", y, yi, identityTol, identityTol)
			expectClose(t, "dx", dx, dxi, identityTol, identityTol)
			expectClose(t, "dgamma", dg, dgi, identityTol, identityTol)
			expectClose(t, "dbeta", db, dbi, identityTol, identityTol)
		})
	}
}

func TestRMSNormOfCentredRowsIsLayerNorm(t *testing.T) {
	rng := rand.New(rand.NewPCG(51, 1))
	n, d := 6, 40
	x := exampleData(rng, []int{n, d})
	for i := range n { // centre each row (in float64, then rounded)
		var m float64
		for _, v := range x[i*d : (i+1)*d] {
			m += float64(v)
		}
		m /= float64(d)
		for j := range d {
			x[i*d+j] = float32(float64(x[i*d+j]) - m)
		}
	}
	dy, gamma, zero := randNormal(rng, n*d, 0, 1), randScale(rng, d), make([]float32, d)
	y, dx, invrms, dg := make([]float32, n*d), make([]float32, n*d), make([]float32, n), make([]float32, d)
	kernels.RMSNormForward(x, gamma, n, d, 1e-5, y, invrms)
	kernels.RMSNormBackward(x, dy, gamma, invrms, n, d, dx, dg)
	yl, dxl, mean, invstd, dgl, dbl := make([]float32, n*d), make([]float32, n*d), make([]float32, n), make([]float32, n), make([]float32, d), make([]float32, d)
	kernels.LayerNormForward(x, gamma, zero, n, d, 1e-5, yl, mean, invstd)
	kernels.LayerNormBackward(x, dy, gamma, mean, invstd, n, d, dxl, dgl, dbl)
	expectClose(t, "y", y, yl, identityTol, identityTol)
	expectClose(t, "1/rms vs invstd", invrms, invstd, identityTol, identityTol)
	// LayerNorm's dx also subtracts invstd·mean(γ·dy) (the gradient through
	// the mean, which RMSNorm has not): add it back.
	for i := range n {
		var m float64
		for j := range d {
			m += float64(gamma[j] * dy[i*d+j])
		}
		m /= float64(d)
		for j := range d {
			dxl[i*d+j] += invstd[i] * float32(m)
		}
	}
	expectClose(t, "dx", dx, dxl, identityTol, identityTol)
	expectClose(t, "dgamma", dg, dgl, identityTol, identityTol)
}

// TestGroupNormMatchesGorgonia runs gorgonia v0.9.18's GroupNorm (see
// gorgonia_xcheck_test.go for its limits: under 256 features per example,
// logging silenced) beside ours on the same inputs.
func TestGroupNormMatchesGorgonia(t *testing.T) {
	prev := log.Writer()
	log.SetOutput(io.Discard)
	defer log.SetOutput(prev)
	for i, gc := range []struct {
		shape  []int
		groups int
	}{{[]int{6, 12}, 1}, {[]int{4, 4, 5, 5}, 1}, {[]int{6, 12}, 3}, {[]int{4, 4, 5, 5}, 2}} {
		t.Run(shapeName(gc.shape)+fmt.Sprintf("/G%d", gc.groups), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(i)+61, 2))
			shape, c := gc.shape, gc.shape[1]
			paramShape := []int{1, c}
			if len(shape) == 4 {
				paramShape = []int{1, c, 1, 1}
			}
			gamma, beta := randScale(rng, c), randNormal(rng, c, 0, 0.5)
			x, r := exampleData(rng, shape), randNormal(rng, prod(shape), 0, 1)

			g1 := G.NewGraph()
			x1 := tensorNode(g1, "x", shape, x)
			ga1 := tensorNode(g1, "gamma", []int{1, c}, gamma)
			be1 := tensorNode(g1, "beta", []int{1, c}, beta)
			ours := newXcheckGraph(t, g1, x1, mustNode(t)(GroupNorm(x1, ga1, be1, gc.groups, 1e-5)), r, x1, ga1, be1)

			g2 := G.NewGraph()
			x2 := tensorNode(g2, "x", shape, x)
			ga2 := tensorNode(g2, "scale", paramShape, gamma)
			be2 := tensorNode(g2, "bias", paramShape, beta)
			theirs := newXcheckGraph(t, g2, x2, mustNode(t)(G.GroupNorm(x2, ga2, be2, gc.groups, c, 1e-5)), r, x2, ga2, be2)

			ours.step(t, x)
			theirs.step(t, x)
			expectClose(t, "output", valueOf(t, ours.y), valueOf(t, theirs.y), 2e-6, 2e-6)
			for k, name := range []string{"x", "gamma", "beta"} {
				expectClose(t, "d/d"+name, valueOf(t, ours.grads[k]), valueOf(t, theirs.grads[k]), 1e-5, 1e-5)
			}
		})
	}
}
