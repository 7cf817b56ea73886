//go:build gpu

package cuda

// This file launches GroupNorm's and RMSNorm's kernels
// (kernels/groupnorm.cu), with the argument order of their CPU references
// in package kernels: one block per row (an example's group, or an
// example), the block's threads picked for the row length.

// rowThreads is the block size for rows of m floats: enough threads that
// each has a few elements, at most 256.
func rowThreads(m int) int {
	switch {
	case m <= 128:
		return 32
	case m <= 512:
		return 64
	case m <= 2048:
		return 128
	}
	return 256
}

func gnSizes(op string, n, c, s, groups int) sizes {
	sz := sizes{op: op}
	sz.dims("N, C, S, groups", n, c, s, groups)
	if sz.err == nil && c%groups != 0 {
		sz.failf("%d groups do not divide %d channels", groups, c)
	}
	if sz.err == nil && n*groups > 1<<31-1 {
		sz.failf("N·groups = %d rows: more than one grid", n*groups)
	}
	return sz
}

// GroupNormForward queues a GroupNorm of x (N, C, S) with groups groups,
// as kernels.GroupNormForward: y, and each (example, group)'s mean and
// 1/√(σ²+ε) into mean, invstd (N·groups).
func (d *Device) GroupNormForward(x, gamma, beta Buffer, n, c, s, groups int, eps float32, y, mean, invstd Buffer) error {
	sz := gnSizes("GroupNormForward", n, c, s, groups)
	sz.need("x", x, n*c*s)
	sz.need("y", y, n*c*s)
	sz.need("gamma", gamma, c)
	sz.need("beta", beta, c)
	sz.need("mean", mean, n*groups)
	sz.need("invstd", invstd, n*groups)
	if sz.err != nil {
		return sz.err
	}
	var p args
	p.buf(x).buf(gamma).buf(beta).i32(n).i32(c).i32(s).i32(groups).f32(eps).buf(y).buf(mean).buf(invstd)
	return d.launch(kGnForward, d1(n*groups), d1(rowThreads(c/groups*s)), &p)
}

// GroupNormBackward queues dx, dγ and dβ of GroupNormForward, as
// kernels.GroupNormBackward. dx must not alias x or dy.
func (d *Device) GroupNormBackward(x, dy, gamma, mean, invstd Buffer, n, c, s, groups int, dx, dgamma, dbeta Buffer) error {
	sz := gnSizes("GroupNormBackward", n, c, s, groups)
	sz.needs([]bufNeed{{"x", x, n * c * s}, {"dy", dy, n * c * s}, {"dx", dx, n * c * s}, {"gamma", gamma, c}, {"mean", mean, n * groups}, {"invstd", invstd, n * groups}, {"dgamma", dgamma, c}, {"dbeta", dbeta, c}})
	if sz.err != nil {
		return sz.err
	}
	scr, err := d.scratchFloats(2 * n * c)
	if err != nil {
		return err
	}
	pg, pb := scr.Slice(0, n*c), scr.Slice(n*c, 2*n*c)
	var p args
	p.buf(x).buf(dy).buf(gamma).buf(mean).buf(invstd).i32(n).i32(c).i32(s).i32(groups).buf(dx).buf(pg).buf(pb)
	if err := d.launch(kGnBackward, d1(n*groups), d1(rowThreads(c/groups*s)), &p); err != nil {
		return err
	}
	p = args{}
	p.buf(pg).buf(pb).i32(n).i32(c).buf(dgamma).buf(dbeta)
	return d.launch(kNormRowsFinalize, d1(ceilDiv(c, 256)), d1(256), &p)
}

// RMSNormForward queues an RMSNorm of each row of x (N×D), as
// kernels.RMSNormForward: y = γ·x/√(mean(x²)+ε), and each row's
// 1/√(mean(x²)+ε) into invrms.
func (d *Device) RMSNormForward(x, gamma Buffer, n, dim int, eps float32, y, invrms Buffer) error {
	sz := sizes{op: "RMSNormForward"}
	sz.dims("N, D", n, dim)
	sz.need("x", x, n*dim)
	sz.need("y", y, n*dim)
	sz.need("gamma", gamma, dim)
	sz.need("invrms", invrms, n)
	if sz.err != nil {
		return sz.err
	}
	var p args
	p.buf(x).buf(gamma).i32(n).i32(dim).f32(eps).buf(y).buf(invrms)
	return d.launch(kRmsForward, d1(n), d1(rowThreads(dim)), &p)
}

// RMSNormBackward queues dx and dγ of RMSNormForward, as
// kernels.RMSNormBackward. dx must not alias x or dy.
func (d *Device) RMSNormBackward(x, dy, gamma, invrms Buffer, n, dim int, dx, dgamma Buffer) error {
	sz := sizes{op: "RMSNormBackward"}
	sz.dims("N, D", n, dim)
	sz.needs([]bufNeed{{"x", x, n * dim}, {"dy", dy, n * dim}, {"dx", dx, n * dim}, {"gamma", gamma, dim}, {"invrms", invrms, n}, {"dgamma", dgamma, dim}})
	if sz.err != nil {
		return sz.err
	}
	pg, err := d.scratchFloats(n * dim)
	if err != nil {
		return err
	}
	var p args
	p.buf(x).buf(dy).buf(gamma).buf(invrms).i32(n).i32(dim).buf(dx).buf(pg)
	if err := d.launch(kRmsBackward, d1(n), d1(rowThreads(dim)), &p); err != nil {
		return err
	}
	p = args{}
	p.buf(pg).buf(Buffer{}).i32(n).i32(dim).buf(dgamma).buf(Buffer{})
	return d.launch(kNormRowsFinalize, d1(ceilDiv(dim, 256)), d1(256), &p)
}
