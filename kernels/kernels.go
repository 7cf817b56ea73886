package kernels

import (
	"fmt"
	"math"
)

// This file holds normtap's CPU kernels: plain functions on row-major
// []float32 that the ops call and that the GPU kernels are checked against.
// Statistics accumulate in float64 so that they match PyTorch to ~1e-6.

// BiasAdd adds the row vector b (cols) to every row of y (rows×cols).
func BiasAdd(y, b []float32, rows, cols int) {
	b = b[:cols]
	for i := 0; i < rows; i++ {
		r := y[i*cols : (i+1)*cols]
		for j, v := range b {
			r[j] += v
		}
	}
}

// CopyBias fills every row of y (rows×cols) with b: a GEMM with beta = 1
// then accumulates x·W onto it.
func CopyBias(y, b []float32, rows, cols int) {
	for i := 0; i < rows; i++ {
		copy(y[i*cols:(i+1)*cols], b[:cols])
	}
}

// ColSum writes dst[j] = Σ_i x[i,j] for x (rows×cols).
func ColSum(dst, x []float32, rows, cols int) {
	ColSumSpan(dst, x, rows, cols, 0, cols)
}

// ColSumSpan is ColSum for the columns [c0, c1) only: disjoint spans can
// run concurrently.
func ColSumSpan(dst, x []float32, rows, cols, c0, c1 int) {
	d := dst[c0:c1]
	clear(d)
	for i := 0; i < rows; i++ {
		AddTo(d, x[i*cols+c0:i*cols+c1])
	}
}

// BatchNormTrainForward normalizes x, laid out (N, C, S), per channel with
// the batch statistics: y = γ·(x−μ)/√(σ²+ε) + β with the biased variance σ².
// It writes y, the batch mean, the biased batch variance and 1/√(σ²+ε)
// (what backward needs). acc is scratch of at least 2·C float64s.
func BatchNormTrainForward(x, gamma, beta []float32, n, c, s int, eps float32, y, mean, variance, invstd []float32, acc []float64) {
	BatchNormTrainForwardSpan(x, gamma, beta, n, c, s, eps, y, mean, variance, invstd, acc, 0, c)
}

// BatchNormTrainForwardSpan is BatchNormTrainForward for the channels [c0, c1)
// only: it reads and writes nothing of the other channels, so disjoint
// ranges can run concurrently.
func BatchNormTrainForwardSpan(x, gamma, beta []float32, n, c, s int, eps float32, y, mean, variance, invstd []float32, acc []float64, c0, c1 int) {
	sum, sumsq := acc[c0:c1], acc[c+c0:c+c1]
	clear(sum)
	clear(sumsq)
	if s == 1 {
		i := 0
		for ; i+4 <= n; i += 4 {
			bnAccum4(sum, sumsq, x[i*c+c0:], c, c1-c0)
		}
		for ; i < n; i++ {
			bnAccum(sum, sumsq, x[i*c+c0:i*c+c1])
		}
	} else {
		for i := 0; i < n; i++ {
			for j := c0; j < c1; j++ {
				base := (i*c + j) * s
				a, q := rowSumSq(x[base : base+s])
				sum[j-c0] += a
				sumsq[j-c0] += q
			}
		}
	}
	count := float64(n * s)
	for j := c0; j < c1; j++ {
		m := sum[j-c0] / count
		v := sumsq[j-c0]/count - m*m
		if v < 0 {
			v = 0
		}
		mean[j] = float32(m)
		variance[j] = float32(v)
		invstd[j] = float32(1 / math.Sqrt(v+float64(eps)))
	}
	batchNormApply(x, gamma, beta, mean, invstd, n, c, s, y, c0, c1)
}

// batchNormApply writes y = γ·(x−mean)·invstd + β for the channels [c0, c1).
func batchNormApply(x, gamma, beta, mean, invstd []float32, n, c, s int, y []float32, c0, c1 int) {
	if s == 1 {
		nt := 4*n*c >= ntBytes
		for i := 0; i < n; i++ {
			r := i * c
			bnApply(y[r+c0:r+c1], x[r+c0:r+c1], mean[c0:c1], invstd[c0:c1], gamma[c0:c1], beta[c0:c1], nt)
		}
		return
	}
	for i := 0; i < n; i++ {
		for j := c0; j < c1; j++ {
			base := (i*c + j) * s
			sc := gamma[j] * invstd[j]
			sh := beta[j] - mean[j]*sc
			yr := y[base : base+s]
			for p, v := range x[base : base+s] {
				yr[p] = v*sc + sh
			}
		}
	}
}

// BatchNormUpdateRunning folds one batch's statistics into the running
// statistics with PyTorch's convention: r ← (1−momentum)·r + momentum·batch,
// using the unbiased variance σ²·count/(count−1) for the running variance.
func BatchNormUpdateRunning(runMean, runVar, mean, variance []float32, count int, momentum float32) {
	unbias := float32(1)
	if count > 1 {
		unbias = float32(count) / float32(count-1)
	}
	for j := range mean {
		runMean[j] = (1-momentum)*runMean[j] + momentum*mean[j]
		runVar[j] = (1-momentum)*runVar[j] + momentum*variance[j]*unbias
	}
}

// BatchNormEvalForward normalizes x (N, C, S) with the running statistics.
// invstd receives 1/√(runVar+ε) for the backward pass.
func BatchNormEvalForward(x, gamma, beta, runMean, runVar []float32, n, c, s int, eps float32, y, invstd []float32) {
	BatchNormEvalForwardSpan(x, gamma, beta, runMean, runVar, n, c, s, eps, y, invstd, 0, c)
}

// BatchNormEvalForwardSpan is BatchNormEvalForward for the channels [c0, c1).
func BatchNormEvalForwardSpan(x, gamma, beta, runMean, runVar []float32, n, c, s int, eps float32, y, invstd []float32, c0, c1 int) {
	for j := c0; j < c1; j++ {
		invstd[j] = float32(1 / math.Sqrt(float64(runVar[j])+float64(eps)))
	}
	batchNormApply(x, gamma, beta, runMean, invstd, n, c, s, y, c0, c1)
}

// BatchNormBackward computes dx, dγ and dβ of a BatchNorm over (N, C, S).
// In training mode (train=true) mean/invstd are the batch statistics and the
// gradient flows through them; in eval mode they are the running statistics,
// constants of the forward pass. acc is scratch of at least 2·C float64s.
func BatchNormBackward(train bool, x, dy, gamma, mean, invstd []float32, n, c, s int, dx, dgamma, dbeta []float32, acc []float64) {
	BatchNormBackwardSpan(train, x, dy, gamma, mean, invstd, n, c, s, dx, dgamma, dbeta, acc, 0, c)
}

// bnRowBackAccum returns Σdy and Σdy·(x−m)·is over one row, in float64
// with four independent sums (one chain of float64 adds would make the
// loop wait on each add's latency).
func bnRowBackAccum(dy, x []float32, m, is float32) (float64, float64) {
	x = x[:len(dy)]
	var a0, a1, a2, a3, q0, q1, q2, q3 float64
	i := 0
	for ; i+4 <= len(dy); i += 4 {
		g0, g1, g2, g3 := dy[i], dy[i+1], dy[i+2], dy[i+3]
		a0 += float64(g0)
		a1 += float64(g1)
		a2 += float64(g2)
		a3 += float64(g3)
		q0 += float64(g0 * (x[i] - m) * is)
		q1 += float64(g1 * (x[i+1] - m) * is)
		q2 += float64(g2 * (x[i+2] - m) * is)
		q3 += float64(g3 * (x[i+3] - m) * is)
	}
	for ; i < len(dy); i++ {
		a0 += float64(dy[i])
		q0 += float64(dy[i] * (x[i] - m) * is)
	}
	return (a0 + a1) + (a2 + a3), (q0 + q1) + (q2 + q3)
}

// BatchNormBackwardSpan is BatchNormBackward for the channels [c0, c1).
func BatchNormBackwardSpan(train bool, x, dy, gamma, mean, invstd []float32, n, c, s int, dx, dgamma, dbeta []float32, acc []float64, c0, c1 int) {
	sdy, sdyx := acc[c0:c1], acc[c+c0:c+c1] // Σdy and Σdy·x̂ per channel
	clear(sdy)
	clear(sdyx)
	if s == 1 {
		i := 0
		for ; i+4 <= n; i += 4 {
			r := i * c
			bnBackAccum4(sdy, sdyx, dy[r+c0:], x[r+c0:], c, mean[c0:c1], invstd[c0:c1], c1-c0)
		}
		for ; i < n; i++ {
			r := i * c
			bnBackAccum(sdy, sdyx, dy[r+c0:r+c1], x[r+c0:r+c1], mean[c0:c1], invstd[c0:c1])
		}
	} else {
		for i := 0; i < n; i++ {
			for j := c0; j < c1; j++ {
				base := (i*c + j) * s
				a, q := bnRowBackAccum(dy[base:base+s], x[base:base+s], mean[j], invstd[j])
				sdy[j-c0] += a
				sdyx[j-c0] += q
			}
		}
	}
	for j := c0; j < c1; j++ {
		dbeta[j] = float32(sdy[j-c0])
		dgamma[j] = float32(sdyx[j-c0])
	}
	if !train {
		for i := 0; i < n; i++ {
			for j := c0; j < c1; j++ {
				base := (i*c + j) * s
				k := gamma[j] * invstd[j]
				dr := dx[base : base+s]
				for p, g := range dy[base : base+s] {
					dr[p] = g * k
				}
			}
		}
		return
	}
	// dx = γ·invstd/m · (m·dy − Σdy − x̂·Σdy·x̂), m = N·S
	count := float32(n * s)
	if s == 1 {
		inv := 1 / count
		nt := 4*n*c >= ntBytes
		for i := 0; i < n; i++ {
			r := i * c
			bnBackDx(dx[r+c0:r+c1], dy[r+c0:r+c1], x[r+c0:r+c1], mean[c0:c1], invstd[c0:c1], gamma[c0:c1], sdy, sdyx, inv, nt)
		}
		return
	}
	for i := 0; i < n; i++ {
		for j := c0; j < c1; j++ {
			base := (i*c + j) * s
			m, is := mean[j], invstd[j]
			k := gamma[j] * is
			a := float32(sdy[j-c0]) / count
			q := float32(sdyx[j-c0]) / count
			xr, dr := x[base:base+s], dx[base:base+s]
			for p, g := range dy[base : base+s] {
				xh := (xr[p] - m) * is
				dr[p] = k * (g - a - xh*q)
			}
		}
	}
}

// rowMeanInvStd is the mean of row and 1/√(variance+eps), the biased
// variance from one pass of float64 sums (clamped at 0 against rounding):
// the statistics of a LayerNorm row (GroupNorm's groups: gnStats).
func rowMeanInvStd(row []float32, eps float32) (mean, invstd float32) {
	a, q := rowSumSq(row)
	return meanInvStd(a, q, len(row), eps)
}

// LayerNormForward normalizes each row of x (N×D) over its D features:
// y = γ·(x−μ)/√(σ²+ε) + β with per-feature γ, β. It writes y and each row's
// mean and 1/√(σ²+ε) for the backward pass. Rows are independent: the
// executor runs disjoint row ranges concurrently.
func LayerNormForward(x, gamma, beta []float32, n, d int, eps float32, y, mean, invstd []float32) {
	gamma, beta = gamma[:d], beta[:d]
	nt := 4*n*d >= ntBytes
	for i := 0; i < n; i++ {
		xr, yr := x[i*d:(i+1)*d], y[i*d:(i+1)*d]
		mf, is := rowMeanInvStd(xr, eps)
		mean[i], invstd[i] = mf, is
		lnApply(yr, xr, gamma, beta, mf, is, nt)
	}
}

// LayerNormBackward computes dx, dγ and dβ of LayerNormForward.
func LayerNormBackward(x, dy, gamma, mean, invstd []float32, n, d int, dx, dgamma, dbeta []float32) {
	gamma, dgamma, dbeta = gamma[:d], dgamma[:d], dbeta[:d]
	clear(dgamma)
	clear(dbeta)
	nt := 4*n*d >= ntBytes
	for i := 0; i < n; i++ {
		xr, gr, dr := x[i*d:(i+1)*d], dy[i*d:(i+1)*d], dx[i*d:(i+1)*d]
		m, is := mean[i], invstd[i]
		// Σγ·dy and Σγ·dy·x̂ over the row; dβ += dy, dγ += dy·x̂
		sg, sgx := lnBackAccum(dgamma, dbeta, gr, xr, gamma, m, is)
		a := float32(sg / float64(d))
		q := float32(sgx / float64(d))
		lnBackDx(dr, gr, xr, gamma, m, is, a, q, nt)
	}
}

// Act names an element-wise activation.
type Act int

// The activations normtap knows.
const (
	Identity Act = iota
	ReLU
	GELU
	Sigmoid
	Tanh
)

var actNames = [...]string{"identity", "relu", "gelu", "sigmoid", "tanh"}

func (a Act) String() string {
	if a < 0 || int(a) >= len(actNames) {
		return fmt.Sprintf("Act(%d)", int(a))
	}
	return actNames[a]
}

// ParseAct reads an activation name.
func ParseAct(s string) (Act, error) {
	for i, n := range actNames {
		if n == s && i != int(Identity) {
			return Act(i), nil
		}
	}
	return 0, fmt.Errorf("unknown activation %q (want relu, gelu, sigmoid or tanh)", s)
}

// ActForward writes y = act(x).
func ActForward(a Act, x, y []float32) {
	y = y[:len(x)]
	switch a {
	case Identity:
		copy(y, x)
	case ReLU:
		reluForward(y, x)
	case GELU: // exact: x·Φ(x), as PyTorch's default
		for i, v := range x {
			y[i] = float32(0.5 * float64(v) * (1 + math.Erf(float64(v)/math.Sqrt2)))
		}
	case Sigmoid:
		for i, v := range x {
			y[i] = sigmoid(v)
		}
	case Tanh:
		for i, v := range x {
			y[i] = float32(math.Tanh(float64(v)))
		}
	}
}

func sigmoid(v float32) float32 {
	if v >= 0 {
		return float32(1 / (1 + math.Exp(-float64(v))))
	}
	e := math.Exp(float64(v))
	return float32(e / (1 + e))
}

// ActBackward writes dx = dy·act'(x), given x, y = act(x) and dy.
func ActBackward(a Act, x, y, dy, dx []float32) {
	dx = dx[:len(dy)]
	switch a {
	case Identity:
		copy(dx, dy)
	case ReLU:
		reluBackward(dx, y[:len(dy)], dy)
	case GELU:
		const invSqrt2Pi = 0.3989422804014327
		for i, g := range dy {
			v := float64(x[i])
			cdf := 0.5 * (1 + math.Erf(v/math.Sqrt2))
			pdf := invSqrt2Pi * math.Exp(-0.5*v*v)
			dx[i] = g * float32(cdf+v*pdf)
		}
	case Sigmoid:
		for i, g := range dy {
			dx[i] = g * y[i] * (1 - y[i])
		}
	case Tanh:
		for i, g := range dy {
			dx[i] = g * (1 - y[i]*y[i])
		}
	}
}

// SoftmaxCrossEntropyForward returns the mean over n rows of
// −log softmax(logits)[label], computed stably (max subtracted), and writes
// the softmax probabilities (n×k) for the backward pass. labels holds class
// indices as float32.
func SoftmaxCrossEntropyForward(logits, labels []float32, n, k int, probs []float32) float32 {
	var total float64
	for i := 0; i < n; i++ {
		lr, pr := logits[i*k:(i+1)*k], probs[i*k:(i+1)*k]
		mx := lr[0]
		for _, v := range lr[1:] {
			if v > mx {
				mx = v
			}
		}
		var z float64
		for j, v := range lr {
			e := math.Exp(float64(v - mx))
			pr[j] = float32(e)
			z += e
		}
		inv := 1 / z
		for j := range pr {
			pr[j] = float32(float64(pr[j]) * inv)
		}
		lab := int(labels[i])
		total += math.Log(z) - float64(lr[lab]-mx)
	}
	return float32(total / float64(n))
}

// SoftmaxCrossEntropyBackward writes dlogits = g·(p − onehot(label))/n.
func SoftmaxCrossEntropyBackward(probs, labels []float32, n, k int, g float32, dlogits []float32) {
	s := g / float32(n)
	for i := 0; i < n; i++ {
		pr, dr := probs[i*k:(i+1)*k], dlogits[i*k:(i+1)*k]
		for j, p := range pr {
			dr[j] = p * s
		}
		dr[int(labels[i])] -= s
	}
}
