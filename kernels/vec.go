package kernels

import (
	"math"
	"unsafe"
)

// The element-wise loops the norm and activation kernels spend their time
// in, one row (or row segment) at a time. Each has this portable Go
// version; vec_amd64.s has AVX2/FMA versions of the same arithmetic that
// vec_amd64.go picks when the CPU has them (compared with these in
// vec_test.go). The kernels pass nt (non-temporal stores) for outputs of
// at least ntBytes. Vectors named after per-column quantities (mean, invstd,
// gamma, beta, sums) are indexed like the row.

// ntBytes: outputs at least this large are written with non-temporal
// stores: they cannot stay in the caches for the next op anyway, and
// bypassing them saves reading each line before writing it.
const ntBytes = 8 << 20

// aligned32 reports whether v starts on a 32-byte boundary, as the
// non-temporal stores (VMOVNTPS) of the nt variants need.
func aligned32(v []float32) bool { return uintptr(unsafe.Pointer(&v[0]))%32 == 0 }

// addToGo: d[j] += x[j].
func addToGo(d, x []float32) {
	x = x[:len(d)]
	for j, v := range x {
		d[j] += v
	}
}

// rowSumSqGo returns Σx and Σx² accumulated in float64.
func rowSumSqGo(x []float32) (sum, sumsq float64) {
	var s0, s1, q0, q1 float64
	j := 0
	for ; j+1 < len(x); j += 2 {
		a, b := float64(x[j]), float64(x[j+1])
		s0 += a
		s1 += b
		q0 += a * a
		q1 += b * b
	}
	if j < len(x) {
		a := float64(x[j])
		s0 += a
		q0 += a * a
	}
	return s0 + s1, q0 + q1
}

// bnAccumGo: sum[j] += x[j]; sumsq[j] += x[j]² (float64).
func bnAccumGo(sum, sumsq []float64, x []float32) {
	sum, sumsq = sum[:len(x)], sumsq[:len(x)]
	for j, v := range x {
		f := float64(v)
		sum[j] += f
		sumsq[j] += f * f
	}
}

// bnApplyGo: y = γ·(x−mean)·invstd + β.
func bnApplyGo(y, x, mean, invstd, gamma, beta []float32) {
	y, mean, invstd, gamma, beta = y[:len(x)], mean[:len(x)], invstd[:len(x)], gamma[:len(x)], beta[:len(x)]
	for j, v := range x {
		y[j] = gamma[j]*(v-mean[j])*invstd[j] + beta[j]
	}
}

// bnBackAccumGo: sdy[j] += dy[j]; sdyx[j] += dy[j]·x̂[j] with
// x̂ = (x−mean)·invstd.
func bnBackAccumGo(sdy, sdyx []float64, dy, x, mean, invstd []float32) {
	n := len(dy)
	sdy, sdyx, x, mean, invstd = sdy[:n], sdyx[:n], x[:n], mean[:n], invstd[:n]
	for j, g := range dy {
		sdy[j] += float64(g)
		sdyx[j] += float64(g * (x[j] - mean[j]) * invstd[j])
	}
}

// bnBackDxGo: dx = γ·invstd·(dy − a − x̂·q) with a = Σdy·inv and
// q = Σdy·x̂·inv per column (inv = 1/count).
func bnBackDxGo(dx, dy, x, mean, invstd, gamma []float32, sdy, sdyx []float64, inv float32) {
	n := len(dy)
	dx, x, mean, invstd, gamma, sdy, sdyx = dx[:n], x[:n], mean[:n], invstd[:n], gamma[:n], sdy[:n], sdyx[:n]
	for j, g := range dy {
		is := invstd[j]
		a := float32(sdy[j]) * inv
		q := float32(sdyx[j]) * inv
		xh := (x[j] - mean[j]) * is
		dx[j] = gamma[j] * is * (g - a - xh*q)
	}
}

// lnApplyGo: y = γ·((x−m)·is) + β for one row with scalar m, is.
func lnApplyGo(y, x, gamma, beta []float32, m, is float32) {
	y, gamma, beta = y[:len(x)], gamma[:len(x)], beta[:len(x)]
	for j, v := range x {
		y[j] = gamma[j]*((v-m)*is) + beta[j]
	}
}

// lnBackAccumGo adds dy to dβ and dy·x̂ to dγ, and returns Σγ·dy and
// Σγ·dy·x̂ over the row (float64), with x̂ = (x−m)·is.
func lnBackAccumGo(dgamma, dbeta, dy, x, gamma []float32, m, is float32) (sg, sgx float64) {
	n := len(dy)
	dgamma, dbeta, x, gamma = dgamma[:n], dbeta[:n], x[:n], gamma[:n]
	for j, g := range dy {
		xh := (x[j] - m) * is
		dbeta[j] += g
		dgamma[j] += g * xh
		gg := g * gamma[j]
		sg += float64(gg)
		sgx += float64(gg * xh)
	}
	return sg, sgx
}

// lnBackDxGo: dx = is·(dy·γ − a − x̂·q) with x̂ = (x−m)·is.
func lnBackDxGo(dx, dy, x, gamma []float32, m, is, a, q float32) {
	n := len(dy)
	dx, x, gamma = dx[:n], x[:n], gamma[:n]
	for j, g := range dy {
		xh := (x[j] - m) * is
		dx[j] = is * (g*gamma[j] - a - xh*q)
	}
}

// reluForwardGo: y = x where x > 0, else 0 (NaN gives 0).
func reluForwardGo(y, x []float32) {
	y = y[:len(x)]
	for i, v := range x {
		if v > 0 {
			y[i] = v
		} else {
			y[i] = 0
		}
	}
}

// reluBackwardGo: dx = dy where y > 0, else 0.
func reluBackwardGo(dx, y, dy []float32) {
	dx, y = dx[:len(dy)], y[:len(dy)]
	for i, g := range dy {
		if y[i] > 0 {
			dx[i] = g
		} else {
			dx[i] = 0
		}
	}
}

// rmsApplyGo: y = γ·(x·r) for one RMSNorm row with scalar r = 1/rms.
func rmsApplyGo(y, x, gamma []float32, r float32) {
	y, gamma = y[:len(x)], gamma[:len(x)]
	for j, v := range x {
		y[j] = gamma[j] * (v * r)
	}
}

// rmsBackAccumGo adds dy·x̂ to dγ and returns Σ(dy·γ)·x̂ over the row
// (float64), with x̂ = x·r.
func rmsBackAccumGo(dgamma, dy, x, gamma []float32, r float32) (sgx float64) {
	n := len(dy)
	dgamma, x, gamma = dgamma[:n], x[:n], gamma[:n]
	for j, g := range dy {
		xh := x[j] * r
		dgamma[j] += g * xh
		sgx += float64(g * gamma[j] * xh)
	}
	return sgx
}

// rmsBackDxGo: dx = r·(dy·γ − x̂·q) with x̂ = x·r.
func rmsBackDxGo(dx, dy, x, gamma []float32, r, q float32) {
	n := len(dy)
	dx, x, gamma = dx[:n], x[:n], gamma[:n]
	for j, g := range dy {
		dx[j] = r * (g*gamma[j] - x[j]*r*q)
	}
}

// meanInvStd is the mean and 1/√(variance+eps) of n values from their
// float64 sum and sum of squares: the biased variance, clamped at 0
// against rounding (a NaN stays NaN).
func meanInvStd(sum, sumsq float64, n int, eps float32) (mean, invstd float32) {
	m := sum / float64(n)
	v := sumsq/float64(n) - m*m
	if v < 0 {
		v = 0
	}
	return float32(m), float32(1 / math.Sqrt(v+float64(eps)))
}

// gnStatsGo writes the mean and 1/√(σ²+ε) of each of the len(mean)
// consecutive chunks of m values of x (GroupNorm's groups of an example).
func gnStatsGo(x, mean, invstd []float32, m int, eps float32) {
	invstd = invstd[:len(mean)]
	_ = x[:len(mean)*m]
	for k := range mean {
		s, q := rowSumSqGo(x[k*m : (k+1)*m])
		mean[k], invstd[k] = meanInvStd(s, q, m, eps)
	}
}

// gnApplyGo is lnApplyGo on each group of cg features of one row
// (len(x) = cg·len(mean)) with that group's mean and invstd.
func gnApplyGo(y, x, gamma, beta, mean, invstd []float32, cg int) {
	invstd = invstd[:len(mean)]
	for g := range mean {
		lo, hi := g*cg, (g+1)*cg
		lnApplyGo(y[lo:hi], x[lo:hi], gamma[lo:hi], beta[lo:hi], mean[g], invstd[g])
	}
}

// gnBackGo is GroupNorm's backward pass over one row of groups of cg
// features (S = 1): per group, lnBackAccumGo (dγ, dβ and the sums Σγ·dy,
// Σγ·dy·x̂), then lnBackDxGo with a = Σγ·dy·inv, q = Σγ·dy·x̂·inv
// (inv = 1/cg).
func gnBackGo(dx, dgamma, dbeta, dy, x, gamma, mean, invstd []float32, cg int, inv float64) {
	invstd = invstd[:len(mean)]
	for g := range mean {
		lo, hi := g*cg, (g+1)*cg
		m, is := mean[g], invstd[g]
		sg, sgx := lnBackAccumGo(dgamma[lo:hi], dbeta[lo:hi], dy[lo:hi], x[lo:hi], gamma[lo:hi], m, is)
		lnBackDxGo(dx[lo:hi], dy[lo:hi], x[lo:hi], gamma[lo:hi], m, is, float32(sg*inv), float32(sgx*inv))
	}
}

// scaleShiftGo: y = x·sc + sh (a GroupNorm channel's S positions).
func scaleShiftGo(y, x []float32, sc, sh float32) {
	y = y[:len(x)]
	for j, v := range x {
		y[j] = v*sc + sh
	}
}

// chanBackSumsGo returns Σdy and Σdy·x̂ (float64) with x̂ = (x−m)·is.
func chanBackSumsGo(dy, x []float32, m, is float32) (sdy, sdyx float64) {
	x = x[:len(dy)]
	for j, g := range dy {
		xh := (x[j] - m) * is
		sdy += float64(g)
		sdyx += float64(g * xh)
	}
	return sdy, sdyx
}

// chanBackDxGo: dx = is·(dy·ga − a − x̂·q) with scalar ga (a channel's γ)
// and x̂ = (x−m)·is.
func chanBackDxGo(dx, dy, x []float32, m, is, ga, a, q float32) {
	n := len(dy)
	dx, x = dx[:n], x[:n]
	for j, g := range dy {
		xh := (x[j] - m) * is
		dx[j] = is * (g*ga - a - xh*q)
	}
}

// maxPool2RowGo writes one row of a 2×2 max-pool: y[o] is the first
// maximum in the order a, b, c, d = r0[2o], r0[2o+1], r1[2o], r1[2o+1] (as
// MaxPool2Forward: a later value wins only when strictly greater), idx[o]
// its index i0 + 2o + {0, 1, w, w+1}.
func maxPool2RowGo(r0, r1, y []float32, idx []int32, i0, w int32) {
	r0, r1, idx = r0[:2*len(y)], r1[:2*len(y)], idx[:len(y)]
	for ox := range y {
		a, b, c, d := r0[2*ox], r0[2*ox+1], r1[2*ox], r1[2*ox+1]
		best, at := a, int32(2*ox)
		if b > best {
			best, at = b, int32(2*ox+1)
		}
		if c > best {
			best, at = c, w+int32(2*ox)
		}
		if d > best {
			best, at = d, w+int32(2*ox+1)
		}
		y[ox], idx[ox] = best, i0+at
	}
}
