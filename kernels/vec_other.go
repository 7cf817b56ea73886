//go:build !amd64 || noasm

package kernels

// AddTo adds x to d element-wise: d[j] += x[j].
func AddTo(d, x []float32) { addToGo(d, x) }

func rowSumSq(x []float32) (float64, float64)   { return rowSumSqGo(x) }
func bnAccum(sum, sumsq []float64, x []float32) { bnAccumGo(sum, sumsq, x) }
func bnApply(y, x, mean, invstd, gamma, beta []float32, nt bool) {
	bnApplyGo(y, x, mean, invstd, gamma, beta)
}
func bnBackAccum(sdy, sdyx []float64, dy, x, mean, invstd []float32) {
	bnBackAccumGo(sdy, sdyx, dy, x, mean, invstd)
}
func bnBackDx(dx, dy, x, mean, invstd, gamma []float32, sdy, sdyx []float64, inv float32, nt bool) {
	bnBackDxGo(dx, dy, x, mean, invstd, gamma, sdy, sdyx, inv)
}
func lnApply(y, x, gamma, beta []float32, m, is float32, nt bool) {
	lnApplyGo(y, x, gamma, beta, m, is)
}
func lnBackAccum(dgamma, dbeta, dy, x, gamma []float32, m, is float32) (float64, float64) {
	return lnBackAccumGo(dgamma, dbeta, dy, x, gamma, m, is)
}
func lnBackDx(dx, dy, x, gamma []float32, m, is, a, q float32, nt bool) {
	lnBackDxGo(dx, dy, x, gamma, m, is, a, q)
}
func rmsApply(y, x, gamma []float32, r float32, nt bool) { rmsApplyGo(y, x, gamma, r) }
func rmsBackAccum(dgamma, dy, x, gamma []float32, r float32) float64 {
	return rmsBackAccumGo(dgamma, dy, x, gamma, r)
}
func rmsBackDx(dx, dy, x, gamma []float32, r, q float32, nt bool) {
	rmsBackDxGo(dx, dy, x, gamma, r, q)
}
func gnStats(x, mean, invstd []float32, m int, eps float32) { gnStatsGo(x, mean, invstd, m, eps) }
func gnApply(y, x, gamma, beta, mean, invstd []float32, cg int, nt bool) {
	gnApplyGo(y, x, gamma, beta, mean, invstd, cg)
}
func gnBack(dx, dgamma, dbeta, dy, x, gamma, mean, invstd []float32, cg int, inv float64, nt bool) {
	gnBackGo(dx, dgamma, dbeta, dy, x, gamma, mean, invstd, cg, inv)
}
func scaleShift(y, x []float32, sc, sh float32, nt bool) { scaleShiftGo(y, x, sc, sh) }
func chanBackSums(dy, x []float32, m, is float32) (float64, float64) {
	return chanBackSumsGo(dy, x, m, is)
}
func chanBackDx(dx, dy, x []float32, m, is, ga, a, q float32, nt bool) {
	chanBackDxGo(dx, dy, x, m, is, ga, a, q)
}
func reluForward(y, x []float32)       { reluForwardGo(y, x) }
func reluBackward(dx, y, dy []float32) { reluBackwardGo(dx, y, dy) }

func bnAccum4(sum, sumsq []float64, x []float32, stride, n int) {
	for r := 0; r < 4; r++ {
		bnAccumGo(sum, sumsq, x[r*stride:r*stride+n])
	}
}

func bnBackAccum4(sdy, sdyx []float64, dy, x []float32, stride int, mean, invstd []float32, n int) {
	for r := 0; r < 4; r++ {
		bnBackAccumGo(sdy, sdyx, dy[r*stride:r*stride+n], x[r*stride:r*stride+n], mean, invstd)
	}
}

// cpuRelax is a spinning wait's pause (PAUSE on amd64; nothing here).
func cpuRelax() {}

func maxPool2Row(r0, r1, y []float32, idx []int32, i0, w int32) { maxPool2RowGo(r0, r1, y, idx, i0, w) }
