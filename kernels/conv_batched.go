package kernels

// The 3×3 convolution over a batch, a block of examples at a time: the
// columns of a block's examples sit side by side in one (C·9, nb·H·W)
// matrix, so that one GEMM per block computes the block's outputs (a GEMM
// per example is too small to run fast: at C = 1 its inner dimension is 9).
// The blocks are fixed by the shapes alone (ConvBlock), so a parallel
// split over blocks computes the forward pass exactly as a serial one.

// convBlockBytes bounds one block's scratch matrices (its output or
// column gradients, K or C·9 rows of nb·H·W floats) to stay in L2/L3.
const convBlockBytes = 1 << 20

// ConvBlock is the number of examples per block of a 3×3 convolution of
// n examples of c channels to k channels at hw pixels.
func ConvBlock(n, c, k, hw int) int {
	rows := max(9*c, k)
	return max(1, min(n, convBlockBytes/4/(rows*hw)))
}

// Im2Col3x3Ld is Im2Col3x3 with the matrix's rows ld apart (ld ≥ H·W):
// row r of the image's columns is col[r·ld : r·ld+H·W].
func Im2Col3x3Ld(x []float32, c, h, w int, col []float32, ld int) {
	hw := h * w
	for ch := 0; ch < c; ch++ {
		img := x[ch*hw : (ch+1)*hw]
		for ky := 0; ky < 3; ky++ {
			for kx := 0; kx < 3; kx++ {
				row := col[((ch*9)+ky*3+kx)*ld:][:hw]
				lo, hi := max(0, 1-kx), min(w, w+1-kx) // ox + kx − 1 in [0, w)
				for oy := 0; oy < h; oy++ {
					iy := oy + ky - 1
					dst := row[oy*w : (oy+1)*w]
					if iy < 0 || iy >= h {
						clear(dst)
						continue
					}
					src := img[iy*w : (iy+1)*w]
					clear(dst[:lo])
					copy(dst[lo:hi], src[lo+kx-1:hi+kx-1])
					clear(dst[hi:])
				}
			}
		}
	}
}

// Col2Im3x3Ld is Col2Im3x3 with the matrix's rows ld apart: it adds each
// column entry onto the pixel of dx it came from (dx zeroed by the caller).
func Col2Im3x3Ld(col []float32, c, h, w int, dx []float32, ld int) {
	hw := h * w
	for ch := 0; ch < c; ch++ {
		img := dx[ch*hw : (ch+1)*hw]
		for ky := 0; ky < 3; ky++ {
			for kx := 0; kx < 3; kx++ {
				row := col[((ch*9)+ky*3+kx)*ld:][:hw]
				lo, hi := max(0, 1-kx), min(w, w+1-kx)
				for oy := 0; oy < h; oy++ {
					iy := oy + ky - 1
					if iy < 0 || iy >= h {
						continue
					}
					AddTo(img[iy*w+lo+kx-1:iy*w+hi+kx-1], row[oy*w+lo:oy*w+hi])
				}
			}
		}
	}
}

// Conv3x3Shape is a 3×3 same-padding convolution of N examples (C, H, W)
// to K channels: x (N, C, H, W), W (K, C·9), b (K) → y (N, K, H, W).
type Conv3x3Shape struct{ N, C, H, W, K int }

// Block is the examples per block (ConvBlock), Blocks their number.
func (s Conv3x3Shape) Block() int  { return ConvBlock(s.N, s.C, s.K, s.H*s.W) }
func (s Conv3x3Shape) Blocks() int { b := s.Block(); return (s.N + b - 1) / b }

// ColsLen is the length of the columns of all examples; ScratchLen that
// of one worker's scratch for one block (the output, or the column
// gradients, of a block).
func (s Conv3x3Shape) ColsLen() int    { return s.N * 9 * s.C * s.H * s.W }
func (s Conv3x3Shape) ScratchLen() int { return s.Block() * s.H * s.W * max(9*s.C, s.K) }

// blockRange is block i's examples [n0, n1).
func (s Conv3x3Shape) blockRange(i int) (n0, n1 int) {
	b := s.Block()
	return i * b, min(s.N, (i+1)*b)
}

// Conv3x3Forward computes blocks [b0, b1) of y = conv(x, W) + b, writing
// each block's columns into cols (kept for the weight gradient); yt is
// scratch of ScratchLen.
func Conv3x3Forward(s Conv3x3Shape, x, w, bias, cols, yt, y []float32, b0, b1 int) {
	hw, ck := s.H*s.W, 9*s.C
	for blk := b0; blk < b1; blk++ {
		n0, n1 := s.blockRange(blk)
		ld := (n1 - n0) * hw
		bc := cols[n0*ck*hw : n1*ck*hw]
		for n := n0; n < n1; n++ {
			Im2Col3x3Ld(x[n*s.C*hw:(n+1)*s.C*hw], s.C, s.H, s.W, bc[(n-n0)*hw:], ld)
		}
		Gemm(false, false, s.K, ld, ck, 1, w, ck, bc, ld, 0, yt, ld)
		for n := n0; n < n1; n++ { // (K, nb·HW) → (nb, K, HW), adding the bias
			for k := 0; k < s.K; k++ {
				addBias(y[(n*s.K+k)*hw:(n*s.K+k+1)*hw], yt[k*ld+(n-n0)*hw:][:hw], bias[k])
			}
		}
	}
}

// gatherDy copies block [n0, n1) of dy (N, K, HW) into dyt (K, nb·HW).
func gatherDy(s Conv3x3Shape, dy, dyt []float32, n0, n1 int) {
	hw := s.H * s.W
	ld := (n1 - n0) * hw
	for n := n0; n < n1; n++ {
		for k := 0; k < s.K; k++ {
			copy(dyt[k*ld+(n-n0)*hw:][:hw], dy[(n*s.K+k)*hw:(n*s.K+k+1)*hw])
		}
	}
}

// Conv3x3GradWeight adds blocks [b0, b1)'s share of dW = Σ dy·colsᵀ to dw
// (K, C·9); dyt is scratch of ScratchLen.
func Conv3x3GradWeight(s Conv3x3Shape, dy, cols, dyt, dw []float32, b0, b1 int) {
	hw, ck := s.H*s.W, 9*s.C
	for blk := b0; blk < b1; blk++ {
		n0, n1 := s.blockRange(blk)
		ld := (n1 - n0) * hw
		gatherDy(s, dy, dyt, n0, n1)
		Gemm(false, true, s.K, ck, ld, 1, dyt, ld, cols[n0*ck*hw:n1*ck*hw], ld, 1, dw, ck)
	}
}

// Conv3x3GradInput writes blocks [b0, b1) of dx = col2im(Wᵀ·dy); dyt and
// dcols are scratch of ScratchLen each.
func Conv3x3GradInput(s Conv3x3Shape, dy, w, dyt, dcols, dx []float32, b0, b1 int) {
	hw, ck := s.H*s.W, 9*s.C
	for blk := b0; blk < b1; blk++ {
		n0, n1 := s.blockRange(blk)
		ld := (n1 - n0) * hw
		gatherDy(s, dy, dyt, n0, n1)
		Gemm(true, false, ck, ld, s.K, 1, w, ck, dyt, ld, 0, dcols, ld)
		clear(dx[n0*s.C*hw : n1*s.C*hw])
		for n := n0; n < n1; n++ {
			Col2Im3x3Ld(dcols[(n-n0)*hw:], s.C, s.H, s.W, dx[n*s.C*hw:(n+1)*s.C*hw], ld)
		}
	}
}

// addBias writes y = x + b.
func addBias(y, x []float32, b float32) {
	x = x[:len(y)]
	for i := range y {
		y[i] = x[i] + b
	}
}

// ChannelSumSpan is ChannelSum for channels [c0, c1) only.
func ChannelSumSpan(dst, x []float32, n, c, s, c0, c1 int) {
	for ch := c0; ch < c1; ch++ {
		var sum float64
		for i := 0; i < n; i++ {
			v, _ := rowSumSq(x[(i*c+ch)*s : (i*c+ch+1)*s])
			sum += v
		}
		dst[ch] = float32(sum)
	}
}

// MaxPool2ForwardPlanes is MaxPool2Forward for planes [p0, p1) only (the
// argmax indices stay flat indices into all of x).
func MaxPool2ForwardPlanes(x []float32, h, w int, y []float32, argmax []int32, p0, p1 int) {
	oh, ow := h/2, w/2
	for p := p0; p < p1; p++ {
		base := p * h * w
		k := p * oh * ow
		for oy := 0; oy < oh; oy++ {
			r0 := x[base+2*oy*w:][:2*ow]
			r1 := x[base+(2*oy+1)*w:][:2*ow]
			yo := y[k : k+ow]
			ao := argmax[k : k+ow]
			maxPool2Row(r0, r1, yo, ao, int32(base+2*oy*w), int32(w))
			k += ow
		}
	}
}

// MaxPool2BackwardPlanes is MaxPool2Backward for planes [p0, p1) of dx
// (H, W each): each of their outputs' gradient goes to its maximum.
func MaxPool2BackwardPlanes(dy []float32, argmax []int32, dx []float32, h, w, p0, p1 int) {
	oh, ow := h/2, w/2
	clear(dx[p0*h*w : p1*h*w])
	for k := p0 * oh * ow; k < p1*oh*ow; k++ {
		dx[argmax[k]] += dy[k]
	}
}
