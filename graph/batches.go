package graph

import "math/rand/v2"

// RandomBatches returns n random batches for m, drawn from rng: pixels
// uniform in [0, 1), labels uniform over the classes; each batch is its
// inputs then its labels. Benchmarks cycle through such a pool: one batch
// repeated drives the loss to ~1e-4 and the gradients into subnormal
// floats, which the CPU handles many times slower.
func RandomBatches(m *Model, n int, rng *rand.Rand) (xs, ys [][]float32) {
	for range n {
		x := make([]float32, m.Batch*m.Spec.InFeatures())
		for i := range x {
			x[i] = rng.Float32()
		}
		y := make([]float32, m.Batch)
		for i := range y {
			y[i] = float32(rng.IntN(m.Spec.Classes))
		}
		xs, ys = append(xs, x), append(ys, y)
	}
	return xs, ys
}
