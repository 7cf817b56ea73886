package kernels

import "math"

// GroupNorm and RMSNorm CPU kernels: plain functions on row-major []float32
// (no gorgonia), the reference the GPU kernels are checked against. Like
// LayerNorm's, examples are independent in the forward pass, so an executor
// runs disjoint example ranges concurrently by slicing x, y and the
// statistics; the backward passes' dγ (and dβ) sum over examples, so each
// range sums into its own scratch and the ranges are added in order.

// GroupNormForward normalizes x, laid out (N, C, S) (S = H·W after a
// convolution, 1 after a Linear), per example over each of groups groups
// of C/groups consecutive channels (and their S positions):
// y = γ_c·(x−μ)/√(σ²+ε) + β_c with per-channel γ, β and the biased
// variance σ². It writes y and each (example, group)'s mean and 1/√(σ²+ε)
// (N·groups each, example-major) for the backward pass. groups must divide
// c. groups = 1 is LayerNorm over (C, S) with per-channel γ, β; groups = c
// is InstanceNorm.
func GroupNormForward(x, gamma, beta []float32, n, c, s, groups int, eps float32, y, mean, invstd []float32) {
	cg := c / groups
	d := c * s // values per example
	gamma, beta = gamma[:c], beta[:c]
	nt := 4*n*d >= ntBytes
	for i := 0; i < n; i++ {
		xr, yr := x[i*d:(i+1)*d], y[i*d:(i+1)*d]
		mr, ir := mean[i*groups:(i+1)*groups], invstd[i*groups:(i+1)*groups]
		// all the example's group statistics in one pass over its values,
		// then one pass applying them (the example stays in cache between)
		gnStats(xr, mr, ir, cg*s, eps)
		if s == 1 { // the groups' channels are features: LayerNorm rows of cg
			gnApply(yr, xr, gamma, beta, mr, ir, cg, nt)
			continue
		}
		for j := 0; j < c; j++ { // a channel's S positions: y = x·sc + sh
			g := j / cg
			sc := gamma[j] * ir[g]
			sh := beta[j] - mr[g]*sc
			scaleShift(yr[j*s:(j+1)*s], xr[j*s:(j+1)*s], sc, sh, nt && s%8 == 0)
		}
	}
}

// GroupNormBackward computes dx, dγ and dβ of GroupNormForward given its
// mean and invstd. With x̂ = (x−μ)·invstd and, per (example, group) of M
// values, a = Σγ·dy/M and q = Σγ·dy·x̂/M: dx = invstd·(γ·dy − a − x̂·q);
// dβ_c = Σdy and dγ_c = Σdy·x̂ over examples and positions. dgamma and
// dbeta (C each) are overwritten.
func GroupNormBackward(x, dy, gamma, mean, invstd []float32, n, c, s, groups int, dx, dgamma, dbeta []float32) {
	cg := c / groups
	d := c * s
	gamma, dgamma, dbeta = gamma[:c], dgamma[:c], dbeta[:c]
	clear(dgamma)
	clear(dbeta)
	nt := 4*n*d >= ntBytes
	inv := 1 / float64(cg*s)
	for i := 0; i < n; i++ {
		xr, gr, dr := x[i*d:(i+1)*d], dy[i*d:(i+1)*d], dx[i*d:(i+1)*d]
		mr, ir := mean[i*groups:(i+1)*groups], invstd[i*groups:(i+1)*groups]
		if s == 1 { // every group's two passes in one call
			gnBack(dr, dgamma, dbeta, gr, xr, gamma, mr, ir, cg, inv, nt)
			continue
		}
		for g := 0; g < groups; g++ {
			mu, is := mr[g], ir[g]
			var sg, sgx float64
			for j := g * cg; j < (g+1)*cg; j++ {
				db, dg := chanBackSums(gr[j*s:(j+1)*s], xr[j*s:(j+1)*s], mu, is)
				dbeta[j] += float32(db)
				dgamma[j] += float32(dg)
				ga := float64(gamma[j])
				sg += ga * db
				sgx += ga * dg
			}
			a, q := float32(sg*inv), float32(sgx*inv)
			for j := g * cg; j < (g+1)*cg; j++ {
				chanBackDx(dr[j*s:(j+1)*s], gr[j*s:(j+1)*s], xr[j*s:(j+1)*s], mu, is, gamma[j], a, q, nt && s%8 == 0)
			}
		}
	}
}

// RMSNormForward normalizes each row of x (N×D; D = C·H·W for a 4-D input)
// by its root mean square, without re-centring (Zhang & Sennrich 2019):
// y = γ·x/√(mean(x²)+ε) with per-feature γ and no β. It writes y and each
// row's 1/√(mean(x²)+ε) for the backward pass.
func RMSNormForward(x, gamma []float32, n, d int, eps float32, y, invrms []float32) {
	gamma = gamma[:d]
	nt := 4*n*d >= ntBytes
	for i := 0; i < n; i++ {
		xr, yr := x[i*d:(i+1)*d], y[i*d:(i+1)*d]
		_, q := rowSumSq(xr)
		r := float32(1 / math.Sqrt(q/float64(d)+float64(eps)))
		invrms[i] = r
		rmsApply(yr, xr, gamma, r, nt)
	}
}

// RMSNormBackward computes dx and dγ of RMSNormForward given its invrms r.
// With x̂ = x·r and q = Σγ·dy·x̂/D per row: dx = r·(γ·dy − x̂·q); dγ = Σdy·x̂
// over rows (dgamma is overwritten).
func RMSNormBackward(x, dy, gamma, invrms []float32, n, d int, dx, dgamma []float32) {
	gamma, dgamma = gamma[:d], dgamma[:d]
	clear(dgamma)
	nt := 4*n*d >= ntBytes
	for i := 0; i < n; i++ {
		xr, gr, dr := x[i*d:(i+1)*d], dy[i*d:(i+1)*d], dx[i*d:(i+1)*d]
		r := invrms[i]
		sgx := rmsBackAccum(dgamma, gr, xr, gamma, r)
		q := float32(sgx / float64(d))
		rmsBackDx(dr, gr, xr, gamma, r, q, nt)
	}
}
