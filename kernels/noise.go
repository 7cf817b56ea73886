package kernels

import "math/rand/v2"

// The noisy-BatchNorm noise (layers/noise.go describes it and owns its
// state): one step's draw applied to x, and its backward pass.

// NormNoiseForward draws one step's noise from rng and applies it to x,
// laid out (N, C, S): y = s·x + m with s, m per (example, channel) as
// layers/noise.go describes. It writes the scales s (N×C) into scale; mu and
// sigma (C each) receive the step's μ and σ. Draw order: the C means and C
// scales of the step, then for each example and channel the scale's jitter
// and the mean's jitter.
func NormNoiseForward(rng *rand.Rand, x []float32, n, c, s int, a, b, jitter float32, y, scale, mu, sigma []float32) {
	uniform := func(lo, hi float32) float32 { return lo + (hi-lo)*float32(rng.Float64()) }
	for k := range mu {
		mu[k] = uniform(-a, a)
	}
	for k := range sigma {
		sigma[k] = uniform(1, b)
	}
	for i := 0; i < n; i++ {
		for k := 0; k < c; k++ {
			sc := sigma[k] * (1 + jitter*uniform(-1, 1))
			m := mu[k] + jitter*uniform(-1, 1)
			scale[i*c+k] = sc
			base := (i*c + k) * s
			for p := base; p < base+s; p++ {
				y[p] = sc*x[p] + m
			}
		}
	}
}

// NormNoiseBackward writes dx = s·dy for dy laid out (N, C, S) and the
// scales s (N×C) of the forward pass.
func NormNoiseBackward(dy, scale []float32, n, c, s int, dx []float32) {
	for i := 0; i < n*c; i++ {
		sc := scale[i]
		for p := i * s; p < (i+1)*s; p++ {
			dx[p] = sc * dy[p]
		}
	}
}
