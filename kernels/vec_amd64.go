//go:build amd64 && !noasm

package kernels

import "golang.org/x/sys/cpu"

// useAVX2: the CPU runs the AVX2/FMA loops of vec_amd64.s.
var useAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

//go:noescape
func addToAVX(d, x *float32, n int)

//go:noescape
func rowSumSqAVX(x *float32, n int) (sum, sumsq float64)

//go:noescape
func bnAccumAVX(sum, sumsq *float64, x *float32, n int)

//go:noescape
func bnAccum4AVX(sum, sumsq *float64, x *float32, stride, n int)

//go:noescape
func bnBackAccum4AVX(sdy, sdyx *float64, dy, x *float32, stride int, mean, invstd *float32, n int)

//go:noescape
func bnApplyAVX(y, x, mean, invstd, gamma, beta *float32, n int, nt bool)

//go:noescape
func bnBackAccumAVX(sdy, sdyx *float64, dy, x, mean, invstd *float32, n int)

//go:noescape
func bnBackDxAVX(dx, dy, x, mean, invstd, gamma *float32, sdy, sdyx *float64, inv float32, n int, nt bool)

//go:noescape
func lnApplyAVX(y, x, gamma, beta *float32, m, is float32, n int, nt bool)

//go:noescape
func lnBackAccumAVX(dgamma, dbeta, dy, x, gamma *float32, m, is float32, n int) (sg, sgx float64)

//go:noescape
func lnBackDxAVX(dx, dy, x, gamma *float32, m, is, a, q float32, n int, nt bool)

//go:noescape
func rmsApplyAVX(y, x, gamma *float32, r float32, n int, nt bool)

//go:noescape
func rmsBackAccumAVX(dgamma, dy, x, gamma *float32, r float32, n int) (sgx float64)

//go:noescape
func rmsBackDxAVX(dx, dy, x, gamma *float32, r, q float32, n int, nt bool)

//go:noescape
func gnStatsAVX(x, mean, invstd *float32, m, count int, fm, eps float64)

//go:noescape
func gnApplyAVX(y, x, gamma, beta, mean, invstd *float32, cg, groups int, nt bool)

//go:noescape
func gnBackAVX(dx, dgamma, dbeta, dy, x, gamma, mean, invstd *float32, cg, groups int, inv float64, nt bool)

//go:noescape
func scaleShiftAVX(y, x *float32, sc, sh float32, n int, nt bool)

//go:noescape
func chanBackSumsAVX(dy, x *float32, m, is float32, n int) (sdy, sdyx float64)

//go:noescape
func chanBackDxAVX(dx, dy, x *float32, m, is, ga, a, q float32, n int, nt bool)

//go:noescape
func reluForwardAVX(y, x *float32, n int)

//go:noescape
func reluBackwardAVX(dx, y, dy *float32, n int)

// The wrappers check lengths (the asm reads n elements of every operand),
// run the AVX2 loop over the largest multiple of 8 (16) and the Go loop
// over the rest. nt asks for non-temporal stores of the output (bypassing
// the caches, as memmove does for large copies), for outputs too large to
// be read again from cache; it is ignored where the output is not 32-byte
// aligned.

// AddTo adds x to d element-wise: d[j] += x[j].
func AddTo(d, x []float32) {
	n := len(d)
	x = x[:n]
	k := n &^ 7
	if useAVX2 && k > 0 {
		addToAVX(&d[0], &x[0], k)
	} else {
		k = 0
	}
	addToGo(d[k:], x[k:])
}

func rowSumSq(x []float32) (float64, float64) {
	k := len(x) &^ 15
	var s, q float64
	if useAVX2 && k > 0 {
		s, q = rowSumSqAVX(&x[0], k)
	} else {
		k = 0
	}
	s2, q2 := rowSumSqGo(x[k:])
	return s + s2, q + q2
}

func bnAccum(sum, sumsq []float64, x []float32) {
	n := len(x)
	sum, sumsq = sum[:n], sumsq[:n]
	k := n &^ 7
	if useAVX2 && k > 0 {
		bnAccumAVX(&sum[0], &sumsq[0], &x[0], k)
	} else {
		k = 0
	}
	bnAccumGo(sum[k:], sumsq[k:], x[k:])
}

func bnApply(y, x, mean, invstd, gamma, beta []float32, nt bool) {
	n := len(x)
	y, mean, invstd, gamma, beta = y[:n], mean[:n], invstd[:n], gamma[:n], beta[:n]
	k := n &^ 7
	if useAVX2 && k > 0 {
		bnApplyAVX(&y[0], &x[0], &mean[0], &invstd[0], &gamma[0], &beta[0], k, nt && aligned32(y))
	} else {
		k = 0
	}
	bnApplyGo(y[k:], x[k:], mean[k:], invstd[k:], gamma[k:], beta[k:])
}

func bnBackAccum(sdy, sdyx []float64, dy, x, mean, invstd []float32) {
	n := len(dy)
	sdy, sdyx, x, mean, invstd = sdy[:n], sdyx[:n], x[:n], mean[:n], invstd[:n]
	k := n &^ 7
	if useAVX2 && k > 0 {
		bnBackAccumAVX(&sdy[0], &sdyx[0], &dy[0], &x[0], &mean[0], &invstd[0], k)
	} else {
		k = 0
	}
	bnBackAccumGo(sdy[k:], sdyx[k:], dy[k:], x[k:], mean[k:], invstd[k:])
}

func bnBackDx(dx, dy, x, mean, invstd, gamma []float32, sdy, sdyx []float64, inv float32, nt bool) {
	n := len(dy)
	dx, x, mean, invstd, gamma, sdy, sdyx = dx[:n], x[:n], mean[:n], invstd[:n], gamma[:n], sdy[:n], sdyx[:n]
	k := n &^ 7
	if useAVX2 && k > 0 {
		bnBackDxAVX(&dx[0], &dy[0], &x[0], &mean[0], &invstd[0], &gamma[0], &sdy[0], &sdyx[0], inv, k, nt && aligned32(dx))
	} else {
		k = 0
	}
	bnBackDxGo(dx[k:], dy[k:], x[k:], mean[k:], invstd[k:], gamma[k:], sdy[k:], sdyx[k:], inv)
}

func lnApply(y, x, gamma, beta []float32, m, is float32, nt bool) {
	n := len(x)
	y, gamma, beta = y[:n], gamma[:n], beta[:n]
	k := n &^ 7
	if useAVX2 && k > 0 {
		lnApplyAVX(&y[0], &x[0], &gamma[0], &beta[0], m, is, k, nt && aligned32(y))
	} else {
		k = 0
	}
	lnApplyGo(y[k:], x[k:], gamma[k:], beta[k:], m, is)
}

func lnBackAccum(dgamma, dbeta, dy, x, gamma []float32, m, is float32) (float64, float64) {
	n := len(dy)
	dgamma, dbeta, x, gamma = dgamma[:n], dbeta[:n], x[:n], gamma[:n]
	k := n &^ 7
	var sg, sgx float64
	if useAVX2 && k > 0 {
		sg, sgx = lnBackAccumAVX(&dgamma[0], &dbeta[0], &dy[0], &x[0], &gamma[0], m, is, k)
	} else {
		k = 0
	}
	sg2, sgx2 := lnBackAccumGo(dgamma[k:], dbeta[k:], dy[k:], x[k:], gamma[k:], m, is)
	return sg + sg2, sgx + sgx2
}

func lnBackDx(dx, dy, x, gamma []float32, m, is, a, q float32, nt bool) {
	n := len(dy)
	dx, x, gamma = dx[:n], x[:n], gamma[:n]
	k := n &^ 7
	if useAVX2 && k > 0 {
		lnBackDxAVX(&dx[0], &dy[0], &x[0], &gamma[0], m, is, a, q, k, nt && aligned32(dx))
	} else {
		k = 0
	}
	lnBackDxGo(dx[k:], dy[k:], x[k:], gamma[k:], m, is, a, q)
}

func rmsApply(y, x, gamma []float32, r float32, nt bool) {
	n := len(x)
	y, gamma = y[:n], gamma[:n]
	k := n &^ 7
	if useAVX2 && k > 0 {
		rmsApplyAVX(&y[0], &x[0], &gamma[0], r, k, nt && aligned32(y))
	} else {
		k = 0
	}
	rmsApplyGo(y[k:], x[k:], gamma[k:], r)
}

func rmsBackAccum(dgamma, dy, x, gamma []float32, r float32) float64 {
	n := len(dy)
	dgamma, x, gamma = dgamma[:n], x[:n], gamma[:n]
	k := n &^ 7
	var sgx float64
	if useAVX2 && k > 0 {
		sgx = rmsBackAccumAVX(&dgamma[0], &dy[0], &x[0], &gamma[0], r, k)
	} else {
		k = 0
	}
	return sgx + rmsBackAccumGo(dgamma[k:], dy[k:], x[k:], gamma[k:], r)
}

func rmsBackDx(dx, dy, x, gamma []float32, r, q float32, nt bool) {
	n := len(dy)
	dx, x, gamma = dx[:n], x[:n], gamma[:n]
	k := n &^ 7
	if useAVX2 && k > 0 {
		rmsBackDxAVX(&dx[0], &dy[0], &x[0], &gamma[0], r, q, k, nt && aligned32(dx))
	} else {
		k = 0
	}
	rmsBackDxGo(dx[k:], dy[k:], x[k:], gamma[k:], r, q)
}

// The GroupNorm row routines (gnStats, gnApply, gnBack) loop over all the
// groups of a row in one call and handle any group length themselves (an
// AVX2 loop over each group's multiple of 8, a scalar one over the rest),
// so that a group of 32 floats costs no call of its own; non-temporal
// stores only where every group starts 32-byte aligned.

func gnStats(x, mean, invstd []float32, m int, eps float32) {
	count := len(mean)
	invstd = invstd[:count]
	if count == 0 {
		return
	}
	_ = x[:count*m]
	if useAVX2 && m > 0 {
		gnStatsAVX(&x[0], &mean[0], &invstd[0], m, count, float64(m), float64(eps))
		return
	}
	gnStatsGo(x, mean, invstd, m, eps)
}

func gnApply(y, x, gamma, beta, mean, invstd []float32, cg int, nt bool) {
	groups := len(mean)
	n := cg * groups
	if n == 0 {
		return
	}
	x, y, gamma, beta, invstd = x[:n], y[:n], gamma[:n], beta[:n], invstd[:groups]
	if useAVX2 {
		gnApplyAVX(&y[0], &x[0], &gamma[0], &beta[0], &mean[0], &invstd[0], cg, groups, nt && cg%8 == 0 && aligned32(y))
		return
	}
	gnApplyGo(y, x, gamma, beta, mean, invstd, cg)
}

func gnBack(dx, dgamma, dbeta, dy, x, gamma, mean, invstd []float32, cg int, inv float64, nt bool) {
	groups := len(mean)
	n := cg * groups
	if n == 0 {
		return
	}
	dx, dgamma, dbeta, dy, x, gamma, invstd = dx[:n], dgamma[:n], dbeta[:n], dy[:n], x[:n], gamma[:n], invstd[:groups]
	if useAVX2 {
		gnBackAVX(&dx[0], &dgamma[0], &dbeta[0], &dy[0], &x[0], &gamma[0], &mean[0], &invstd[0], cg, groups, inv, nt && cg%8 == 0 && aligned32(dx))
		return
	}
	gnBackGo(dx, dgamma, dbeta, dy, x, gamma, mean, invstd, cg, inv)
}

func scaleShift(y, x []float32, sc, sh float32, nt bool) {
	n := len(x)
	y = y[:n]
	k := n &^ 7
	if useAVX2 && k > 0 {
		scaleShiftAVX(&y[0], &x[0], sc, sh, k, nt && aligned32(y))
	} else {
		k = 0
	}
	scaleShiftGo(y[k:], x[k:], sc, sh)
}

func chanBackSums(dy, x []float32, m, is float32) (float64, float64) {
	n := len(dy)
	x = x[:n]
	k := n &^ 7
	var s, q float64
	if useAVX2 && k > 0 {
		s, q = chanBackSumsAVX(&dy[0], &x[0], m, is, k)
	} else {
		k = 0
	}
	s2, q2 := chanBackSumsGo(dy[k:], x[k:], m, is)
	return s + s2, q + q2
}

func chanBackDx(dx, dy, x []float32, m, is, ga, a, q float32, nt bool) {
	n := len(dy)
	dx, x = dx[:n], x[:n]
	k := n &^ 7
	if useAVX2 && k > 0 {
		chanBackDxAVX(&dx[0], &dy[0], &x[0], m, is, ga, a, q, k, nt && aligned32(dx))
	} else {
		k = 0
	}
	chanBackDxGo(dx[k:], dy[k:], x[k:], m, is, ga, a, q)
}

func reluForward(y, x []float32) {
	n := len(x)
	y = y[:n]
	k := n &^ 7
	if useAVX2 && k > 0 {
		reluForwardAVX(&y[0], &x[0], k)
	} else {
		k = 0
	}
	reluForwardGo(y[k:], x[k:])
}

func reluBackward(dx, y, dy []float32) {
	n := len(dy)
	dx, y = dx[:n], y[:n]
	k := n &^ 7
	if useAVX2 && k > 0 {
		reluBackwardAVX(&dx[0], &y[0], &dy[0], k)
	} else {
		k = 0
	}
	reluBackwardGo(dx[k:], y[k:], dy[k:])
}

// bnAccum4 is bnAccum of four rows of x, stride apart, each of n columns.
func bnAccum4(sum, sumsq []float64, x []float32, stride, n int) {
	if n == 0 {
		return
	}
	_ = x[3*stride+n-1]
	sum, sumsq = sum[:n], sumsq[:n]
	k := n &^ 7
	if useAVX2 && k > 0 {
		bnAccum4AVX(&sum[0], &sumsq[0], &x[0], stride, k)
	} else {
		k = 0
	}
	for r := 0; r < 4; r++ {
		bnAccumGo(sum[k:], sumsq[k:], x[r*stride+k:r*stride+n])
	}
}

// bnBackAccum4 is bnBackAccum of four rows of dy and x, stride apart.
func bnBackAccum4(sdy, sdyx []float64, dy, x []float32, stride int, mean, invstd []float32, n int) {
	if n == 0 {
		return
	}
	_, _ = dy[3*stride+n-1], x[3*stride+n-1]
	sdy, sdyx, mean, invstd = sdy[:n], sdyx[:n], mean[:n], invstd[:n]
	k := n &^ 7
	if useAVX2 && k > 0 {
		bnBackAccum4AVX(&sdy[0], &sdyx[0], &dy[0], &x[0], stride, &mean[0], &invstd[0], k)
	} else {
		k = 0
	}
	for r := 0; r < 4; r++ {
		bnBackAccumGo(sdy[k:], sdyx[k:], dy[r*stride+k:r*stride+n], x[r*stride+k:r*stride+n], mean[k:], invstd[k:])
	}
}

// cpuRelax is a few PAUSE instructions: a spinning wait's pause, which
// tells the core (and a hypervisor) that this thread is waiting.
//
//go:noescape
func cpuRelax()

//go:noescape
func maxPool2RowAVX(r0, r1, y *float32, idx *int32, n int, i0, w int32)

// maxPool2Row is maxPool2RowGo, with AVX2 on the largest multiple of 8
// outputs (the same comparisons, so the same maxima and indices).
func maxPool2Row(r0, r1, y []float32, idx []int32, i0, w int32) {
	n := len(y)
	r0, r1, idx = r0[:2*n], r1[:2*n], idx[:n]
	k := n &^ 7
	if useAVX2 && k > 0 {
		maxPool2RowAVX(&r0[0], &r1[0], &y[0], &idx[0], k, i0, w)
	} else {
		k = 0
	}
	maxPool2RowGo(r0[2*k:], r1[2*k:], y[k:], idx[k:], i0+int32(2*k), w)
}
