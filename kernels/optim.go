package kernels

import "math"

// The optimizer updates, element-wise over one parameter (or any span of
// it: spans are independent). Semantics follow PyTorch's SGD (with
// momentum: v ← μv + g; w ← w − lr·v) and Adam (bias-corrected, ε outside
// the square root). The GPU's optimizer kernels are checked against these.

// SGDUpdate: w ← w − lr·g.
func SGDUpdate(w, g []float32, lr float32) {
	g = g[:len(w)]
	for i := range w {
		w[i] -= lr * g[i]
	}
}

// MomentumUpdate: v ← μ·v + g; w ← w − lr·v.
func MomentumUpdate(w, g, v []float32, lr, mu float32) {
	g, v = g[:len(w)], v[:len(w)]
	for i := range w {
		v[i] = mu*v[i] + g[i]
		w[i] -= lr * v[i]
	}
}

// AdamUpdate is one Adam step number t (1-based):
// m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²;
// w ← w − lr·(m/(1−β₁ᵗ)) / (√(v/(1−β₂ᵗ)) + ε).
func AdamUpdate(w, g, m, v []float32, lr, beta1, beta2, eps float32, t int64) {
	bc1 := float32(1 - math.Pow(float64(beta1), float64(t)))
	bc2 := float32(1 - math.Pow(float64(beta2), float64(t)))
	step := lr / bc1
	isq := 1 / float32(math.Sqrt(float64(bc2)))
	adam(w, g, m, v, beta1, 1-beta1, beta2, 1-beta2, step, isq, eps)
}

// adamGo is AdamUpdate's loop; omb1 = 1−β₁, omb2 = 1−β₂. Every product is
// rounded to float32 on its own (the conversions forbid fused
// multiply-adds), so that the AVX version (adam_amd64.s) matches it bit
// for bit.
func adamGo(w, g, m, v []float32, b1, omb1, b2, omb2, step, isq, eps float32) {
	g, m, v = g[:len(w)], m[:len(w)], v[:len(w)]
	for i := range w {
		gi := g[i]
		mi := float32(b1*m[i]) + float32(omb1*gi)
		vi := float32(b2*v[i]) + float32(float32(omb2*gi)*gi)
		m[i], v[i] = mi, vi
		den := float32(float32(math.Sqrt(float64(vi)))*isq) + eps
		w[i] -= float32(step*mi) / den
	}
}
