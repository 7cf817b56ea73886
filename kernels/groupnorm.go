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
	m := cg * s // values per group
	nt := 4*n*c*s >= ntBytes
	for i := 0; i < n; i++ {
		for g := 0; g < groups; g++ {
			k := i*groups + g
			off := k * m
			xr, yr := x[off:off+m], y[off:off+m]
			mf, is := rowMeanInvStd(xr, eps)
			mean[k], invstd[k] = mf, is
			c0 := g * cg
			if s == 1 { // the group's channels are its features: a LayerNorm row
				lnApply(yr, xr, gamma[c0:c0+cg], beta[c0:c0+cg], mf, is, nt)
				continue
			}
			for j := 0; j < cg; j++ {
				sc := gamma[c0+j] * is
				sh := beta[c0+j] - mf*sc
				yp, xp := yr[j*s:(j+1)*s], xr[j*s:(j+1)*s]
				for p, v := range xp {
					yp[p] = v*sc + sh
				}
			}
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
	m := cg * s
	dgamma, dbeta = dgamma[:c], dbeta[:c]
	clear(dgamma)
	clear(dbeta)
	nt := 4*n*c*s >= ntBytes
	inv := 1 / float64(m)
	for i := 0; i < n; i++ {
		for g := 0; g < groups; g++ {
			k := i*groups + g
			off := k * m
			xr, gr, dr := x[off:off+m], dy[off:off+m], dx[off:off+m]
			mu, is := mean[k], invstd[k]
			c0 := g * cg
			if s == 1 {
				ga := gamma[c0 : c0+cg]
				sg, sgx := lnBackAccum(dgamma[c0:c0+cg], dbeta[c0:c0+cg], gr, xr, ga, mu, is)
				lnBackDx(dr, gr, xr, ga, mu, is, float32(sg*inv), float32(sgx*inv), nt)
				continue
			}
			var sg, sgx float64
			for j := 0; j < cg; j++ {
				var db, dg float64
				xp := xr[j*s : (j+1)*s]
				for p, d := range gr[j*s : (j+1)*s] {
					xh := (xp[p] - mu) * is
					db += float64(d)
					dg += float64(d * xh)
				}
				dbeta[c0+j] += float32(db)
				dgamma[c0+j] += float32(dg)
				ga := float64(gamma[c0+j])
				sg += ga * db
				sgx += ga * dg
			}
			a, q := float32(sg*inv), float32(sgx*inv)
			for j := 0; j < cg; j++ {
				ga := gamma[c0+j]
				xp, dp := xr[j*s:(j+1)*s], dr[j*s:(j+1)*s]
				for p, d := range gr[j*s : (j+1)*s] {
					xh := (xp[p] - mu) * is
					dp[p] = is * (d*ga - a - xh*q)
				}
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
	for i := 0; i < n; i++ {
		xr, yr := x[i*d:(i+1)*d], y[i*d:(i+1)*d]
		_, q := rowSumSq(xr)
		r := float32(1 / math.Sqrt(q/float64(d)+float64(eps)))
		invrms[i] = r
		yr = yr[:len(xr)]
		for j, v := range xr {
			yr[j] = gamma[j] * (v * r)
		}
	}
}

// RMSNormBackward computes dx and dγ of RMSNormForward given its invrms r.
// With x̂ = x·r and q = Σγ·dy·x̂/D per row: dx = r·(γ·dy − x̂·q); dγ = Σdy·x̂
// over rows (dgamma is overwritten).
func RMSNormBackward(x, dy, gamma, invrms []float32, n, d int, dx, dgamma []float32) {
	gamma, dgamma = gamma[:d], dgamma[:d]
	clear(dgamma)
	for i := 0; i < n; i++ {
		xr, gr, dr := x[i*d:(i+1)*d], dy[i*d:(i+1)*d], dx[i*d:(i+1)*d]
		r := invrms[i]
		var sgx float64
		for j, g := range gr {
			xh := xr[j] * r
			dgamma[j] += g * xh
			sgx += float64(g * gamma[j] * xh)
		}
		q := float32(sgx / float64(d))
		for j, g := range gr {
			dr[j] = r * (g*gamma[j] - xr[j]*r*q)
		}
	}
}
