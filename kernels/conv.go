package kernels

// The small CNN's kernels on (N, C, H, W) images, row-major: the 3×3
// same-padding convolution's unfolding (im2col) and its adjoint, the
// per-channel sum of a bias gradient, and the 2×2 max-pool.

// Im2Col3x3 unfolds one (C, H, W) image into a (C·9, H·W) matrix whose row
// c·9+ky·3+kx holds the input pixel at offset (ky−1, kx−1) of each output
// pixel, zero outside the image.
func Im2Col3x3(x []float32, c, h, w int, col []float32) { Im2Col3x3Ld(x, c, h, w, col, h*w) }

// Col2Im3x3 is Im2Col3x3's adjoint: it adds each column entry back onto the
// input pixel it came from. dx must be zeroed by the caller.
func Col2Im3x3(col []float32, c, h, w int, dx []float32) { Col2Im3x3Ld(col, c, h, w, dx, h*w) }

// ChannelSum writes dst[c] = Σ over N and S of x (N, C, S): a conv bias
// gradient.
func ChannelSum(dst, x []float32, n, c, s int) {
	for ch := 0; ch < c; ch++ {
		var sum float64
		for i := 0; i < n; i++ {
			for _, v := range x[(i*c+ch)*s : (i*c+ch+1)*s] {
				sum += float64(v)
			}
		}
		dst[ch] = float32(sum)
	}
}

// MaxPool2Forward writes the 2×2, stride-2 max-pool of planes (H, W) planes
// of x into y (planes, H/2, W/2; odd edges dropped, as PyTorch's default),
// and the flat index in x of each maximum into argmax.
func MaxPool2Forward(x []float32, planes, h, w int, y []float32, argmax []int32) {
	oh, ow := h/2, w/2
	k := 0
	for p := 0; p < planes; p++ {
		img := x[p*h*w : (p+1)*h*w]
		for oy := 0; oy < oh; oy++ {
			for ox := 0; ox < ow; ox++ {
				i0 := (2*oy)*w + 2*ox
				best := i0
				for _, i := range [3]int{i0 + 1, i0 + w, i0 + w + 1} {
					if img[i] > img[best] {
						best = i
					}
				}
				y[k] = img[best]
				argmax[k] = int32(p*h*w + best)
				k++
			}
		}
	}
}

// MaxPool2Backward writes dx = 0 except dx[argmax[k]] += dy[k]: each
// output's gradient routed to the input that was its maximum.
func MaxPool2Backward(dy []float32, argmax []int32, dx []float32) {
	clear(dx)
	for k, g := range dy {
		dx[argmax[k]] += g
	}
}
