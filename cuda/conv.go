//go:build gpu

package cuda

// This file launches the CNN's kernels (kernels/conv.cu). The convolution
// itself is Im2Col3x3 then Gemm per example, as layers.Conv2dOp does on the
// CPU.

// Im2Col3x3 queues the unfolding of one (C, H, W) image x into col
// (C·9, H·W), as kernels.Im2Col3x3.
func (d *Device) Im2Col3x3(x Buffer, c, h, w int, col Buffer) error {
	s := sizes{op: "Im2Col3x3"}
	s.dims("C, H, W", c, h, w)
	s.need("x", x, c*h*w)
	s.need("col", col, c*9*h*w)
	if s.err != nil {
		return s.err
	}
	var p args
	p.buf(x).buf(col).i32(c).i32(h).i32(w)
	return d.launch(kIm2col3x3, d.grid1D(c*9*h*w), d1(256), &p)
}

// Col2Im3x3 queues dx = the adjoint of Im2Col3x3 applied to col, for one
// image; unlike kernels.Col2Im3x3 it overwrites dx instead of adding to it.
func (d *Device) Col2Im3x3(col Buffer, c, h, w int, dx Buffer) error {
	s := sizes{op: "Col2Im3x3"}
	s.dims("C, H, W", c, h, w)
	s.need("col", col, c*9*h*w)
	s.need("dx", dx, c*h*w)
	if s.err != nil {
		return s.err
	}
	var p args
	p.buf(col).buf(dx).i32(c).i32(h).i32(w)
	return d.launch(kCol2im3x3, d.grid1D(c*h*w), d1(256), &p)
}

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
