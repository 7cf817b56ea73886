//go:build gpu

package cuda

// This file launches the CNN's kernels (kernels/conv.cu): the batched
// convolution (Conv3x3Forward, Conv3x3BackwardData, Conv3x3BackwardFilter),
// whose launches do not grow with the batch, the channel bias and sum, and
// the max-pool.

// ChannelBiasAdd queues y[n, c, s] += b[c] over y (N, C, S).
func (d *Device) ChannelBiasAdd(y, b Buffer, n, c, s int) error {
	sz := sizes{op: "ChannelBiasAdd"}
	sz.dims("N, C, S", n, c, s)
	sz.need("y", y, n*c*s)
	sz.need("b", b, c)
	if sz.err != nil {
		return sz.err
	}
	var p args
	p.buf(y).buf(b).i32(n).i32(c).i32(s)
	return d.launch(kChannelBiasAdd, d.grid1D(n*c*s), d1(256), &p)
}

// ChannelSum queues dst[c] = Σ over N and S of x (N, C, S), as
// kernels.ChannelSum.
func (d *Device) ChannelSum(dst, x Buffer, n, c, s int) error {
	sz := sizes{op: "ChannelSum"}
	sz.dims("N, C, S", n, c, s)
	sz.need("x", x, n*c*s)
	sz.need("dst", dst, c)
	if sz.err != nil {
		return sz.err
	}
	var p args
	p.buf(dst).buf(x).i32(n).i32(c).i32(s)
	return d.launch(kChannelSum, d1(c), d1(256), &p)
}

// MaxPool2Forward queues the 2×2, stride-2 max-pool of planes (H, W) planes
// of x into y (planes, H/2, W/2), with the flat index in x of each maximum
// in idx (as float32), as kernels.MaxPool2Forward.
func (d *Device) MaxPool2Forward(x Buffer, planes, h, w int, y, idx Buffer) error {
	s := sizes{op: "MaxPool2Forward"}
	s.dims("planes, H, W", planes, h, w)
	out := planes * (h / 2) * (w / 2)
	s.need("x", x, planes*h*w)
	s.need("y", y, out)
	s.need("idx", idx, out)
	if planes*h*w >= 1<<24 {
		s.failf("%d inputs: indices are float32, exact below 2^24", planes*h*w)
	}
	if s.err != nil {
		return s.err
	}
	var p args
	p.buf(x).buf(y).buf(idx).i32(planes).i32(h).i32(w)
	return d.launch(kMaxpool2Forward, d.grid1D(out), d1(256), &p)
}

// MaxPool2Backward queues dx = 0 except dx[idx[k]] = dy[k] for the n
// outputs of a MaxPool2Forward; dx has the pooled input's size.
func (d *Device) MaxPool2Backward(dy, idx Buffer, n int, dx Buffer) error {
	s := sizes{op: "MaxPool2Backward"}
	s.dims("n", n)
	s.need("dy", dy, n)
	s.need("idx", idx, n)
	if s.err != nil {
		return s.err
	}
	if err := d.Zero(dx); err != nil {
		return err
	}
	var p args
	p.buf(dy).buf(idx).buf(dx).i32(n)
	return d.launch(kMaxpool2Backward, d.grid1D(n), d1(256), &p)
}

// --- batched convolution: launches independent of the batch size ---------

// Conv3x3Sizes returns the floats of the two temporaries a batched 3×3
// convolution of N (C, H, W) images into K channels needs: cols (C·9,
// N·H·W), kept from the forward pass for the filter gradient, and the
// (K, N, H·W) output or output gradient before or after swapping axes.
func Conv3x3Sizes(n, c, h, w, k int) (cols, swapped int) {
	return c * 9 * n * h * w, k * n * h * w
}

func conv3x3Sizes(op string, n, c, h, w, k int) sizes {
	s := sizes{op: op}
	s.dims("N, C·9, H, W", n, c*9, h, w)
	s.dims("N, K, H, W", n, k, h, w)
	return s
}

// Conv3x3Forward queues y (N, K, H, W) = the 3×3 same-padding convolution
// of x (N, C, H, W) with weights w (K, C·9) plus bias (K), as
// layers.Conv2dOp, in three launches whatever N: one im2col of the whole
// batch into cols, one GEMM into tmp (K, N·H·W), one axis swap adding the
// bias into y. cols and tmp are sized by Conv3x3Sizes; cols is what
// Conv3x3BackwardFilter needs.
func (d *Device) Conv3x3Forward(x, w, bias Buffer, n, c, h, wd, k int, cols, tmp, y Buffer) error {
	ncols, nswap := Conv3x3Sizes(n, c, h, wd, k)
	s := conv3x3Sizes("Conv3x3Forward", n, c, h, wd, k)
	s.need("x", x, n*c*h*wd)
	s.need("w", w, k*c*9)
	s.need("bias", bias, k)
	s.need("cols", cols, ncols)
	s.need("tmp", tmp, nswap)
	s.need("y", y, nswap)
	if s.err != nil {
		return s.err
	}
	hw := h * wd
	var p args
	p.buf(x).buf(cols).i32(n).i32(c).i32(h).i32(wd)
	if err := d.launch(kIm2col3x3Batch, d.grid1D(ncols), d1(256), &p); err != nil {
		return err
	}
	if err := d.Gemm(false, false, k, n*hw, c*9, 1, w, c*9, cols, n*hw, 0, tmp, n*hw); err != nil {
		return err
	}
	return d.swap01(tmp, bias, y, k, n, hw)
}

// swap01 queues dst (B, A, S) = src (A, B, S) with the first two axes
// swapped, plus bias[a] unless bias is the zero Buffer.
func (d *Device) swap01(src, bias, dst Buffer, a, b, s int) error {
	var p args
	p.buf(src).buf(bias).buf(dst).i32(a).i32(b).i32(s)
	return d.launch(kSwap01F32, d.grid1D(a*b*s), d1(256), &p)
}

// Conv3x3BackwardData queues dx (N, C, H, W), the gradient of
// Conv3x3Forward's input given dy (N, K, H, W), as
// layers.Conv2dGradInputOp but overwriting dx: dy's axes swapped into dyT
// (K, N·H·W), one GEMM Wᵀ·dyT into dcols (C·9, N·H·W), one col2im of the
// batch. dyT and dcols are sized by Conv3x3Sizes (swapped, cols).
func (d *Device) Conv3x3BackwardData(dy, w Buffer, n, c, h, wd, k int, dyT, dcols, dx Buffer) error {
	ncols, nswap := Conv3x3Sizes(n, c, h, wd, k)
	s := conv3x3Sizes("Conv3x3BackwardData", n, c, h, wd, k)
	s.need("dy", dy, nswap)
	s.need("w", w, k*c*9)
	s.need("dyT", dyT, nswap)
	s.need("dcols", dcols, ncols)
	s.need("dx", dx, n*c*h*wd)
	if s.err != nil {
		return s.err
	}
	hw := h * wd
	if err := d.swap01(dy, Buffer{}, dyT, n, k, hw); err != nil {
		return err
	}
	if err := d.Gemm(true, false, c*9, n*hw, k, 1, w, c*9, dyT, n*hw, 0, dcols, n*hw); err != nil {
		return err
	}
	var p args
	p.buf(dcols).buf(dx).i32(n).i32(c).i32(h).i32(wd)
	return d.launch(kCol2im3x3Batch, d.grid1D(n*c*hw), d1(256), &p)
}

// Conv3x3BackwardFilter queues dw (K, C·9), the weight gradient of
// Conv3x3Forward given dy (N, K, H, W) and the forward pass's cols, as
// layers.Conv2dGradWeightOp: dy's axes swapped into dyT (K, N·H·W), then
// one GEMM dyT·colsᵀ over the whole batch.
func (d *Device) Conv3x3BackwardFilter(dy, cols Buffer, n, c, h, wd, k int, dyT, dw Buffer) error {
	ncols, nswap := Conv3x3Sizes(n, c, h, wd, k)
	s := conv3x3Sizes("Conv3x3BackwardFilter", n, c, h, wd, k)
	s.need("dy", dy, nswap)
	s.need("cols", cols, ncols)
	s.need("dyT", dyT, nswap)
	s.need("dw", dw, k*c*9)
	if s.err != nil {
		return s.err
	}
	hw := h * wd
	if err := d.swap01(dy, Buffer{}, dyT, n, k, hw); err != nil {
		return err
	}
	return d.Gemm(false, true, k, c*9, n*hw, 1, dyT, n*hw, cols, n*hw, 0, dw, c*9)
}
