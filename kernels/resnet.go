package kernels

// The kernels the residual network adds: the 1×1 convolution and the
// global average pool.

// A 1×1 convolution mixes channels pixel by pixel: per example the (C, S)
// image, S = H·W pixels, is a matrix and y = W·x is one GEMM of the (K, C)
// weights with it, with no im2col (each column is already one pixel's
// channels).

// Conv1x1Forward computes y_i = W·x_i for each of n examples: x (n, c, s),
// w (k, c), y (n, k, s).
func Conv1x1Forward(x, w []float32, n, c, k, s int, y []float32) {
	for i := 0; i < n; i++ {
		Gemm(false, false, k, s, c, 1, w, c, x[i*c*s:(i+1)*c*s], s, 0, y[i*k*s:(i+1)*k*s], s)
	}
}

// Conv1x1BackwardInput computes dx_i = Wᵀ·dy_i.
func Conv1x1BackwardInput(dy, w []float32, n, c, k, s int, dx []float32) {
	for i := 0; i < n; i++ {
		Gemm(true, false, c, s, k, 1, w, c, dy[i*k*s:(i+1)*k*s], s, 0, dx[i*c*s:(i+1)*c*s], s)
	}
}

// Conv1x1BackwardWeight computes dW = Σ_i dy_i·x_iᵀ, the examples added in
// order.
func Conv1x1BackwardWeight(x, dy []float32, n, c, k, s int, dw []float32) {
	clear(dw)
	for i := 0; i < n; i++ {
		Gemm(false, true, k, c, s, 1, dy[i*k*s:(i+1)*k*s], s, x[i*c*s:(i+1)*c*s], s, 1, dw, c)
	}
}

// Global average pooling makes each channel's feature map its mean:
// (N, C, H, W) → (N, C) whatever the map's size.

// GlobalAvgPoolForward computes y[r] = mean(x[r·s : (r+1)·s]) for each of
// the rows = N·C maps of s pixels, summing in float64.
func GlobalAvgPoolForward(x []float32, rows, s int, y []float32) {
	inv := 1 / float64(s)
	for r := 0; r < rows; r++ {
		var sum float64
		for _, v := range x[r*s : (r+1)*s] {
			sum += float64(v)
		}
		y[r] = float32(sum * inv)
	}
}

// GlobalAvgPoolBackward spreads each dy[r]/s over its map: dx = dy/s.
func GlobalAvgPoolBackward(dy []float32, rows, s int, dx []float32) {
	inv := 1 / float32(s)
	for r := 0; r < rows; r++ {
		g := dy[r] * inv
		d := dx[r*s : (r+1)*s]
		for i := range d {
			d[i] = g
		}
	}
}
