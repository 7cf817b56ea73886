//go:build gpu

package cuda

import (
	"fmt"
	"math"

	"normtap/kernels"
)

// This file holds the typed launches, one per CPU kernel of package kernels
// (the optimizers included), with the same argument order and layouts; device
// Buffers stand for the slices. Each checks its sizes and returns an error
// rather than let a kernel read out of bounds, then queues its kernels on
// the stream and returns without waiting.

// sizes validates the dimensions and buffer lengths of one call.
type sizes struct {
	op  string
	err error
}

func (s *sizes) failf(format string, a ...any) {
	if s.err == nil {
		s.err = fmt.Errorf("cuda: %s: %s", s.op, fmt.Sprintf(format, a...))
	}
}

// dims requires every value to be at least 1 and their product to fit the
// kernels' 32-bit indexing.
func (s *sizes) dims(names string, vs ...int) {
	p := 1
	for _, v := range vs {
		if v < 1 {
			s.failf("%s = %v: each must be ≥ 1", names, vs)
			return
		}
		if p > maxElems/v {
			s.failf("%s = %v: more than %d elements", names, vs, maxElems)
			return
		}
		p *= v
	}
}

// need requires b to hold n floats.
func (s *sizes) need(name string, b Buffer, n int) {
	if b.n < n || b.ptr == 0 {
		s.failf("%s is %v, needs %d floats", name, b, n)
	}
}

// bufNeed is one buffer for needs: its name in errors, and the floats it
// must hold.
type bufNeed struct {
	name string
	buf  Buffer
	n    int
}

// needs is need for each of bs.
func (s *sizes) needs(bs []bufNeed) {
	for _, b := range bs {
		s.need(b.name, b.buf, b.n)
	}
}

// matrix requires b to hold a rows×cols row-major matrix with row stride ld.
func (s *sizes) matrix(name string, b Buffer, rows, cols, ld int) {
	if ld < max(1, cols) {
		s.failf("%s: leading dimension %d < %d columns", name, ld, cols)
		return
	}
	if rows == 0 || cols == 0 {
		return
	}
	if rows-1 > (maxElems-cols)/ld {
		s.failf("%s: %d×%d with stride %d is more than %d elements", name, rows, cols, ld, maxElems)
		return
	}
	s.need(name, b, (rows-1)*ld+cols)
}

// --- GEMM -----------------------------------------------------------------

// gemmKernels[tile][transA][transB]
var gemmKernels = map[int][2][2]kernel{
	128: {{kGemmNn128, kGemmNt128}, {kGemmTn128, kGemmTt128}},
	64:  {{kGemmNn64, kGemmNt64}, {kGemmTn64, kGemmTt64}},
	32:  {{kGemmNn32, kGemmNt32}, {kGemmTn32, kGemmTt32}},
}

// Gemm queues C = alpha·op(A)·op(B) + beta·C for row-major matrices, where
// op(X) is X or Xᵀ, op(A) is m×k, op(B) is k×n and C is m×n (as
// kernels.Gemm). beta = 0 means C is not read.
func (d *Device) Gemm(transA, transB bool, m, n, k int, alpha float32, a Buffer, lda int, b Buffer, ldb int, beta float32, c Buffer, ldc int) error {
	return d.GemmBias(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, Buffer{})
}

// GemmBias is Gemm with bias (n floats, or the zero Buffer for none) added
// to every row of C in the GEMM's own epilogue: C = α·op(A)·op(B) + β·C +
// 1·biasᵀ, one launch where Gemm then BiasAdd take two (a Linear layer's
// forward pass).
func (d *Device) GemmBias(transA, transB bool, m, n, k int, alpha float32, a Buffer, lda int, b Buffer, ldb int, beta float32, c Buffer, ldc int, bias Buffer) error {
	s := sizes{op: "Gemm"}
	if m < 0 || n < 0 || k < 0 {
		s.failf("m, n, k = %d, %d, %d: must be ≥ 0", m, n, k)
	}
	if transA {
		s.matrix("A", a, k, m, lda)
	} else {
		s.matrix("A", a, m, k, lda)
	}
	if transB {
		s.matrix("B", b, n, k, ldb)
	} else {
		s.matrix("B", b, k, n, ldb)
	}
	s.matrix("C", c, m, n, ldc)
	if !bias.IsZero() {
		s.need("bias", bias, n)
	}
	if s.err != nil {
		return s.err
	}
	if m == 0 || n == 0 {
		return nil
	}
	tile, splits, kChunk := d.gemmPlan(m, n, k)
	ta, tb := 0, 0
	if transA {
		ta = 1
	}
	if transB {
		tb = 1
	}
	threads := 256
	if tile == 32 {
		threads = 64
	}
	grid := dim3{ceilDiv(n, tile), ceilDiv(m, tile), splits}
	if grid.y > 65535 {
		return fmt.Errorf("cuda: Gemm: m = %d is more than %d rows", m, 65535*tile)
	}
	var partial Buffer
	if splits > 1 {
		var err error
		if partial, err = d.scratchFloats(splits * m * n); err != nil {
			return err
		}
	}
	var p args
	p.i32(m).i32(n).i32(k).f32(alpha).buf(a).i32(lda).buf(b).i32(ldb).f32(beta).buf(c).i32(ldc).i32(kChunk).buf(partial).buf(bias)
	if err := d.launch(gemmKernels[tile][ta][tb], grid, d1(threads), &p); err != nil || splits == 1 {
		return err
	}
	p = args{}
	p.buf(partial).i32(splits).i32(m).i32(n).f32(alpha).f32(beta).buf(c).i32(ldc).buf(bias)
	return d.launch(kGemmSplitkReduce, d.grid1D(m*n), d1(256), &p)
}

// gemmPlan picks the tile (128, 64 or 32) and how many ways to split k.
// The largest tile whose grid still has a block for every multiprocessor
// wins; when none has (a batch of 128 makes a 128×1024 product: 32 tiles
// of 64×64), k is split too, into chunks of at least 64, until there are
// about two blocks per multiprocessor.
func (d *Device) gemmPlan(m, n, k int) (tile, splits, kChunk int) {
	sms := d.info.SMs
	blocks := func(t int) int { return ceilDiv(m, t) * ceilDiv(n, t) }
	switch {
	case d.gemmTileFixed != 0:
		tile = d.gemmTileFixed
	case blocks(128) >= sms:
		tile = 128
	case blocks(64) >= sms || min(m, n) > 32:
		tile = 64
	default:
		tile = 32
	}
	splits = 1
	if d.gemmSplitFixed != 0 {
		splits = d.gemmSplitFixed
	} else if b := blocks(tile); b < sms {
		splits = min(ceilDiv(2*sms, b), k/64)
	}
	splits = clamp(splits, 1, max(1, maxElems/(m*n)))
	kChunk = max(8, ceilDiv(ceilDiv(k, splits), 8)*8) // a multiple of the k-step
	splits = max(1, ceilDiv(k, kChunk))
	return tile, splits, kChunk
}

// --- element-wise ------------------------------------------------------------

// BiasAdd queues adding the row vector b (cols) to every row of y
// (rows×cols), as kernels.BiasAdd.
func (d *Device) BiasAdd(y, b Buffer, rows, cols int) error {
	s := sizes{op: "BiasAdd"}
	s.dims("rows, cols", rows, cols)
	s.need("y", y, rows*cols)
	s.need("b", b, cols)
	if s.err != nil {
		return s.err
	}
	vec := cols%4 == 0 && aligned16(y, b)
	units := cols
	if vec {
		units = cols / 4
	}
	threads := clamp(ceilDiv(units, 32)*32, 32, 256)
	grid := d2(ceilDiv(units, threads), clamp(rows, 1, 65535))
	// enough blocks to fill the device, each thread looping over rows
	grid.y = min(grid.y, ceilDiv(8*d.info.SMs, grid.x))
	var p args
	p.buf(y).buf(b).i32(rows).i32(cols).flag(vec)
	return d.launch(kBiasAdd, grid, d1(threads), &p)
}

// ColSum queues dst[j] = Σ_i x[i,j] for x (rows×cols), as kernels.ColSum:
// the bias gradient.
func (d *Device) ColSum(dst, x Buffer, rows, cols int) error {
	s := sizes{op: "ColSum"}
	s.dims("rows, cols", rows, cols)
	s.need("x", x, rows*cols)
	s.need("dst", dst, cols)
	if s.err != nil {
		return s.err
	}
	var p args
	p.buf(dst).buf(x).i32(rows).i32(cols)
	return d.launch(kColSum, d1(ceilDiv(cols, 32)), d2(32, 8), &p)
}

// ActForward queues y = act(x) over x.Len() floats, as kernels.ActForward.
// y may be x.
func (d *Device) ActForward(act kernels.Act, x, y Buffer) error {
	s := sizes{op: "ActForward " + act.String()}
	s.dims("len(x)", x.n)
	s.need("y", y, x.n)
	if act < kernels.Identity || act > kernels.Tanh {
		s.failf("unknown activation %d", int(act))
	}
	if s.err != nil {
		return s.err
	}
	vec := aligned16(x, y)
	var p args
	p.buf(x).buf(y).i32(x.n).i32(int(act)).flag(vec)
	return d.launch(kActForward, d.grid1D(vecUnits(x.n, vec)), d1(256), &p)
}

// ActBackward queues dx = dy·act'(x) over dy.Len() floats, given x, y =
// act(x) and dy, as kernels.ActBackward. dx may be dy.
func (d *Device) ActBackward(act kernels.Act, x, y, dy, dx Buffer) error {
	s := sizes{op: "ActBackward " + act.String()}
	n := dy.n
	s.dims("len(dy)", n)
	s.need("x", x, n)
	s.need("y", y, n)
	s.need("dx", dx, n)
	if act < kernels.Identity || act > kernels.Tanh {
		s.failf("unknown activation %d", int(act))
	}
	if s.err != nil {
		return s.err
	}
	vec := aligned16(x, y, dy, dx)
	var p args
	p.buf(x).buf(y).buf(dy).buf(dx).i32(n).i32(int(act)).flag(vec)
	return d.launch(kActBackward, d.grid1D(vecUnits(n, vec)), d1(256), &p)
}

// Add queues dst = a + b over dst.Len() floats (gradients of a value that
// feeds several ops). dst may be a or b.
func (d *Device) Add(dst, a, b Buffer) error {
	s := sizes{op: "Add"}
	n := dst.n
	s.dims("len(dst)", n)
	s.need("a", a, n)
	s.need("b", b, n)
	if s.err != nil {
		return s.err
	}
	vec := aligned16(dst, a, b)
	var p args
	p.buf(dst).buf(a).buf(b).i32(n).flag(vec)
	return d.launch(kAddF32, d.grid1D(vecUnits(n, vec)), d1(256), &p)
}

// GatherColumns queues dst[r·ncols+j] = src[r·width+cols[j]] for the first
// rows rows of src, as graph.CopyColumns: the column indices are held in
// cols as float32 (exact below 2²⁴).
func (d *Device) GatherColumns(dst, src, cols Buffer, rows, width int) error {
	s := sizes{op: "GatherColumns"}
	s.dims("rows, width, ncols", rows, width, cols.n)
	s.need("src", src, rows*width)
	s.need("dst", dst, rows*cols.n)
	if s.err != nil {
		return s.err
	}
	var p args
	p.buf(dst).buf(src).buf(cols).i32(rows).i32(width).i32(cols.n)
	return d.launch(kGatherCols, d.grid1D(rows*cols.n), d1(256), &p)
}

// CopyKernel queues a copy of src into the start of dst with normtap's own
// copy kernel (Copy uses the driver's memcpy); it is the identity
// activation, and a bandwidth reference for the bench.
func (d *Device) CopyKernel(dst, src Buffer) error {
	s := sizes{op: "CopyKernel"}
	s.dims("len(src)", src.n)
	s.need("dst", dst, src.n)
	if s.err != nil {
		return s.err
	}
	vec := aligned16(dst, src)
	var p args
	p.buf(dst).buf(src).i32(src.n).flag(vec)
	return d.launch(kCopyF32, d.grid1D(vecUnits(src.n, vec)), d1(256), &p)
}

func vecUnits(n int, vec bool) int {
	if vec {
		return max(1, n/4)
	}
	return n
}

// --- BatchNorm ---------------------------------------------------------------

// bnPlan is how a BatchNorm over (N, C, S) is cut into blocks: for S == 1
// (2d kernels) colBlocks × chunks blocks of 32·V channels × rowsPer rows;
// for S > 1 (4d kernels) C × chunks blocks of nPer samples.
type bnPlan struct {
	twoD      bool
	vec       bool
	colBlocks int
	chunks    int
	per       int // rowsPer (2d) or nPer (4d)
}

func (d *Device) planBN(n, c, s int, bufs ...Buffer) bnPlan {
	target := 4 * d.info.SMs // blocks for the partial sums
	if s == 1 {
		pl := bnPlan{twoD: true, vec: c%4 == 0 && aligned16(bufs...)}
		v := 1
		if pl.vec {
			v = 4
		}
		pl.colBlocks = ceilDiv(c, 32*v)
		pl.per = max(ceilDiv(n, ceilDiv(target, pl.colBlocks)), 32)
		pl.chunks = ceilDiv(n, pl.per)
		return pl
	}
	pl := bnPlan{vec: s%4 == 0 && aligned16(bufs...)}
	pl.per = max(ceilDiv(n, ceilDiv(target, c)), ceilDiv(2048, s))
	pl.chunks = ceilDiv(n, pl.per)
	return pl
}

func (d *Device) bnSizes(op string, n, c, s int) sizes {
	sz := sizes{op: op}
	sz.dims("N, C, S", n, c, s)
	if c > 65535 && s > 1 {
		sz.failf("C = %d: at most 65535 channels when S > 1", c)
	}
	return sz
}

// BatchNormTrainForward queues a BatchNorm over x laid out (N, C, S) with
// the batch statistics, as kernels.BatchNormTrainForward: it writes y, the
// batch mean, the biased batch variance and 1/√(σ²+ε). y must not alias x.
func (d *Device) BatchNormTrainForward(x, gamma, beta Buffer, n, c, s int, eps float32, y, mean, variance, invstd Buffer) error {
	sz := d.bnSizes("BatchNormTrainForward", n, c, s)
	sz.need("x", x, n*c*s)
	sz.need("y", y, n*c*s)
	sz.needs([]bufNeed{{"gamma", gamma, c}, {"beta", beta, c}, {"mean", mean, c}, {"variance", variance, c}, {"invstd", invstd, c}})
	if sz.err != nil {
		return sz.err
	}
	pl := d.planBN(n, c, s, x, y)
	scr, err := d.scratchFloats(2 * pl.chunks * c)
	if err != nil {
		return err
	}
	psum, psq := scr.Slice(0, pl.chunks*c), scr.Slice(pl.chunks*c, 2*pl.chunks*c)
	var p args
	if pl.twoD {
		p.buf(x).i32(n).i32(c).i32(pl.per).buf(psum).buf(psq).flag(pl.vec)
		err = d.launch(kBnStatsPartial2d, d2(pl.colBlocks, pl.chunks), d2(32, 8), &p)
	} else {
		p.buf(x).i32(n).i32(c).i32(s).i32(pl.per).buf(psum).buf(psq)
		err = d.launch(kBnStatsPartial4d, d2(c, pl.chunks), d1(256), &p)
	}
	if err != nil {
		return err
	}
	p = args{}
	p.buf(x).buf(psum).buf(psq).i32(pl.chunks).i32(c).i32(s).f32(float32(n * s)).f32(eps).buf(mean).buf(variance).buf(invstd)
	if err := d.launch(kBnStatsFinalize, d1(ceilDiv(c, 256)), d1(256), &p); err != nil {
		return err
	}
	return d.bnApply(pl, x, gamma, beta, mean, invstd, n, c, s, y)
}

// bnApply queues y = (x − mean)·γ·invstd + β.
func (d *Device) bnApply(pl bnPlan, x, gamma, beta, mean, invstd Buffer, n, c, s int, y Buffer) error {
	var p args
	if pl.twoD {
		p.buf(x).buf(gamma).buf(beta).buf(mean).buf(invstd).i32(n).i32(c).i32(pl.per).buf(y).flag(pl.vec)
		return d.launch(kBnApply2d, d2(pl.colBlocks, pl.chunks), d2(32, 8), &p)
	}
	p.buf(x).buf(gamma).buf(beta).buf(mean).buf(invstd).i32(n).i32(c).i32(s).buf(y).flag(pl.vec)
	return d.launch(kBnApply4d, d.grid1D(vecUnits(n*c*s, pl.vec)), d1(256), &p)
}

// BatchNormEvalForward queues a BatchNorm of x (N, C, S) with the running
// statistics, as kernels.BatchNormEvalForward; invstd receives
// 1/√(runVar+ε) for the backward pass.
func (d *Device) BatchNormEvalForward(x, gamma, beta, runMean, runVar Buffer, n, c, s int, eps float32, y, invstd Buffer) error {
	sz := d.bnSizes("BatchNormEvalForward", n, c, s)
	sz.need("x", x, n*c*s)
	sz.need("y", y, n*c*s)
	sz.needs([]bufNeed{{"gamma", gamma, c}, {"beta", beta, c}, {"runMean", runMean, c}, {"runVar", runVar, c}, {"invstd", invstd, c}})
	if sz.err != nil {
		return sz.err
	}
	var p args
	p.buf(runVar).i32(c).f32(eps).buf(invstd)
	if err := d.launch(kBnEvalInvstd, d1(ceilDiv(c, 256)), d1(256), &p); err != nil {
		return err
	}
	return d.bnApply(d.planBN(n, c, s, x, y), x, gamma, beta, runMean, invstd, n, c, s, y)
}

// BatchNormUpdateRunning queues folding a batch's statistics into the
// running ones, as kernels.BatchNormUpdateRunning: r ← (1−momentum)·r +
// momentum·batch, the variance made unbiased with count = N·S.
func (d *Device) BatchNormUpdateRunning(runMean, runVar, mean, variance Buffer, count int, momentum float32) error {
	sz := sizes{op: "BatchNormUpdateRunning"}
	c := mean.n
	sz.dims("len(mean), count", c, count)
	sz.need("runMean", runMean, c)
	sz.need("runVar", runVar, c)
	sz.need("variance", variance, c)
	if sz.err != nil {
		return sz.err
	}
	unbias := float32(1)
	if count > 1 {
		unbias = float32(count) / float32(count-1)
	}
	var p args
	p.buf(runMean).buf(runVar).buf(mean).buf(variance).i32(c).f32(momentum).f32(unbias)
	return d.launch(kBnRunningUpdate, d1(ceilDiv(c, 256)), d1(256), &p)
}

// BatchNormBackward queues dx, dγ and dβ of a BatchNorm over (N, C, S), as
// kernels.BatchNormBackward: train selects the batch statistics (the
// gradient flows through them) or the running ones (constants). dx must not
// alias x or dy.
func (d *Device) BatchNormBackward(train bool, x, dy, gamma, mean, invstd Buffer, n, c, s int, dx, dgamma, dbeta Buffer) error {
	sz := d.bnSizes("BatchNormBackward", n, c, s)
	sz.needs([]bufNeed{{"x", x, n * c * s}, {"dy", dy, n * c * s}, {"dx", dx, n * c * s}, {"gamma", gamma, c}, {"mean", mean, c}, {"invstd", invstd, c}, {"dgamma", dgamma, c}, {"dbeta", dbeta, c}})
	if sz.err != nil {
		return sz.err
	}
	pl := d.planBN(n, c, s, x, dy, dx)
	scr, err := d.scratchFloats(2 * pl.chunks * c)
	if err != nil {
		return err
	}
	pdy, pdyx := scr.Slice(0, pl.chunks*c), scr.Slice(pl.chunks*c, 2*pl.chunks*c)
	dxEval := dx
	if train {
		dxEval = Buffer{}
	}
	var p args
	if pl.twoD {
		p.buf(x).buf(dy).buf(gamma).buf(mean).buf(invstd).i32(n).i32(c).i32(pl.per).buf(pdy).buf(pdyx).buf(dxEval).flag(pl.vec)
		err = d.launch(kBnBwdPartial2d, d2(pl.colBlocks, pl.chunks), d2(32, 8), &p)
	} else {
		p.buf(x).buf(dy).buf(gamma).buf(mean).buf(invstd).i32(n).i32(c).i32(s).i32(pl.per).buf(pdy).buf(pdyx).buf(dxEval)
		err = d.launch(kBnBwdPartial4d, d2(c, pl.chunks), d1(256), &p)
	}
	if err != nil {
		return err
	}
	p = args{}
	p.buf(pdy).buf(pdyx).i32(pl.chunks).i32(c).buf(dgamma).buf(dbeta)
	if err := d.launch(kBnBwdFinalize, d1(ceilDiv(c, 256)), d1(256), &p); err != nil {
		return err
	}
	if !train {
		return nil
	}
	count := float32(n * s)
	p = args{}
	if pl.twoD {
		p.buf(x).buf(dy).buf(gamma).buf(mean).buf(invstd).buf(dgamma).buf(dbeta).i32(n).i32(c).i32(pl.per).f32(count).buf(dx).flag(pl.vec)
		return d.launch(kBnBwdDx2d, d2(pl.colBlocks, pl.chunks), d2(32, 8), &p)
	}
	p.buf(x).buf(dy).buf(gamma).buf(mean).buf(invstd).buf(dgamma).buf(dbeta).i32(n).i32(c).i32(s).f32(count).buf(dx)
	return d.launch(kBnBwdDx4d, d.grid1D(n*c*s), d1(256), &p)
}

// --- LayerNorm ---------------------------------------------------------------

// lnKernels[{G, K}] is the forward and backward kernel of each
// specialisation (LN_FORWARD / LN_BACKWARD in kernels/norm.cu).
var lnKernels = map[[2]int][2]kernel{
	{32, 1}: {kLnForward32_1, kLnBackward32_1}, {32, 2}: {kLnForward32_2, kLnBackward32_2},
	{32, 4}: {kLnForward32_4, kLnBackward32_4}, {32, 8}: {kLnForward32_8, kLnBackward32_8},
	{256, 2}: {kLnForward256_2, kLnBackward256_2}, {256, 4}: {kLnForward256_4, kLnBackward256_4},
}

// lnPlan picks the LayerNorm kernels for rows of d floats: a group of G
// threads per row holding K float4s each, or the generic kernels (G = 0).
type lnPlan struct {
	g, k      int
	fwd, bwd  kernel
	rowsBlock int // rows per 256-thread block
}

func planLN(d int, aligned bool) lnPlan {
	if d%4 != 0 || d > 4096 || !aligned {
		return lnPlan{fwd: kLnForwardGeneric, bwd: kLnBackwardGeneric, rowsBlock: 1}
	}
	d4 := d / 4
	pl := lnPlan{g: 256, k: 4}
	switch {
	case d4 <= 32:
		pl.g, pl.k = 32, 1
	case d4 <= 64:
		pl.g, pl.k = 32, 2
	case d4 <= 128:
		pl.g, pl.k = 32, 4
	case d4 <= 256:
		pl.g, pl.k = 32, 8
	case d4 <= 512:
		pl.g, pl.k = 256, 2
	}
	pl.fwd, pl.bwd = lnKernels[[2]int{pl.g, pl.k}][0], lnKernels[[2]int{pl.g, pl.k}][1]
	pl.rowsBlock = 256 / pl.g
	return pl
}

// LayerNormForward queues a LayerNorm of each row of x (N×D) over its D
// features, as kernels.LayerNormForward: y = γ·(x−μ)/√(σ²+ε) + β, and each
// row's mean and 1/√(σ²+ε).
func (d *Device) LayerNormForward(x, gamma, beta Buffer, n, dim int, eps float32, y, mean, invstd Buffer) error {
	sz := sizes{op: "LayerNormForward"}
	sz.dims("N, D", n, dim)
	sz.need("x", x, n*dim)
	sz.need("y", y, n*dim)
	sz.need("gamma", gamma, dim)
	sz.need("beta", beta, dim)
	sz.need("mean", mean, n)
	sz.need("invstd", invstd, n)
	if sz.err != nil {
		return sz.err
	}
	pl := planLN(dim, aligned16(x, gamma, beta, y))
	var p args
	if pl.g == 0 {
		p.buf(x).buf(gamma).buf(beta).i32(n).i32(dim).f32(eps).buf(y).buf(mean).buf(invstd)
	} else {
		p.buf(x).buf(gamma).buf(beta).i32(n).i32(dim / 4).f32(eps).buf(y).buf(mean).buf(invstd)
	}
	return d.launch(pl.fwd, d1(ceilDiv(n, pl.rowsBlock)), d1(256), &p)
}

// LayerNormBackward queues dx, dγ and dβ of LayerNormForward, as
// kernels.LayerNormBackward. dx must not alias x or dy.
func (d *Device) LayerNormBackward(x, dy, gamma, mean, invstd Buffer, n, dim int, dx, dgamma, dbeta Buffer) error {
	sz := sizes{op: "LayerNormBackward"}
	sz.dims("N, D", n, dim)
	sz.needs([]bufNeed{{"x", x, n * dim}, {"dy", dy, n * dim}, {"dx", dx, n * dim}, {"gamma", gamma, dim}, {"mean", mean, n}, {"invstd", invstd, n}, {"dgamma", dgamma, dim}, {"dbeta", dbeta, dim}})
	if sz.err != nil {
		return sz.err
	}
	pl := planLN(dim, aligned16(x, dy, gamma, dx))
	// Persistent blocks: as many as fit on the device at once, or fewer
	// when there are few rows.
	blocks := min(ceilDiv(n, pl.rowsBlock), d.info.SMs*d.occupancy(pl.bwd))
	scr, err := d.scratchFloats(2 * blocks * dim)
	if err != nil {
		return err
	}
	pg, pb := scr.Slice(0, blocks*dim), scr.Slice(blocks*dim, 2*blocks*dim)
	var p args
	d4 := dim / 4
	if pl.g == 0 {
		d4 = dim
	}
	p.buf(x).buf(dy).buf(gamma).buf(mean).buf(invstd).i32(n).i32(d4).buf(dx).buf(pg).buf(pb)
	if err := d.launch(pl.bwd, d1(blocks), d1(256), &p); err != nil {
		return err
	}
	p = args{}
	p.buf(pg).buf(pb).i32(blocks).i32(dim).buf(dgamma).buf(dbeta)
	return d.launch(kLnBwdFinalize, d1(ceilDiv(dim, 256)), d1(256), &p)
}

// --- softmax cross-entropy ---------------------------------------------------

func xentSizes(op string, logits, labels Buffer, n, k int) sizes {
	sz := sizes{op: op}
	sz.dims("n, k", n, k)
	sz.need("logits", logits, n*k)
	sz.need("labels", labels, n)
	return sz
}

// xentRows queues xent_rows into scratch and returns (rowLoss, rowCorrect).
func (d *Device) xentRows(logits, labels Buffer, n, k int, probs Buffer) (Buffer, Buffer, error) {
	scr, err := d.scratchFloats(2 * n)
	if err != nil {
		return Buffer{}, Buffer{}, err
	}
	rowLoss, rowCorrect := scr.Slice(0, n), scr.Slice(n, 2*n)
	var p args
	p.buf(logits).buf(labels).i32(n).i32(k).buf(probs).buf(rowLoss).buf(rowCorrect)
	// one warp per row, 8 per block
	err = d.launch(kXentRows, d1(clamp(ceilDiv(n, 8), 1, 16*d.info.SMs)), d1(256), &p)
	return rowLoss, rowCorrect, err
}

// SoftmaxCrossEntropyForward queues the mean over n rows of −log
// softmax(logits)[label] into loss[0] and the probabilities (n×k) into
// probs, as kernels.SoftmaxCrossEntropyForward (which returns the loss).
// labels holds class indices as float32; a row whose label is not an
// integer in [0, k) makes the loss NaN. When sums is not the zero Buffer,
// the same pass also accumulates into it as SoftmaxCrossEntropyMetrics
// does (sums[0] += Σ loss_i, sums[1] += right answers), so a training step
// needs no second pass over the logits for its metrics.
func (d *Device) SoftmaxCrossEntropyForward(logits, labels Buffer, n, k int, probs, loss, sums Buffer) error {
	sz := xentSizes("SoftmaxCrossEntropyForward", logits, labels, n, k)
	sz.need("probs", probs, n*k)
	sz.need("loss", loss, 1)
	if !sums.IsZero() {
		sz.need("sums", sums, 2)
	}
	if sz.err != nil {
		return sz.err
	}
	rowLoss, rowCorrect, err := d.xentRows(logits, labels, n, k, probs)
	if err != nil {
		return err
	}
	var p args
	p.buf(rowLoss).buf(rowCorrect).i32(n).buf(loss).buf(sums)
	return d.launch(kXentReduce, d1(1), d1(1024), &p)
}

// SoftmaxCrossEntropyMetrics queues sums[0] += Σ_i loss_i and sums[1] +=
// the number of rows whose first argmax is the label: zero sums, call it
// once per batch, and Download the two floats once per epoch.
func (d *Device) SoftmaxCrossEntropyMetrics(logits, labels Buffer, n, k int, sums Buffer) error {
	sz := xentSizes("SoftmaxCrossEntropyMetrics", logits, labels, n, k)
	sz.need("sums", sums, 2)
	if sz.err != nil {
		return sz.err
	}
	rowLoss, rowCorrect, err := d.xentRows(logits, labels, n, k, Buffer{})
	if err != nil {
		return err
	}
	var p args
	p.buf(rowLoss).buf(rowCorrect).i32(n).buf(Buffer{}).buf(sums)
	return d.launch(kXentReduce, d1(1), d1(1024), &p)
}

// SoftmaxCrossEntropyBackward queues dlogits = g·(p − onehot(label))/n, as
// kernels.SoftmaxCrossEntropyBackward.
func (d *Device) SoftmaxCrossEntropyBackward(probs, labels Buffer, n, k int, g float32, dlogits Buffer) error {
	sz := sizes{op: "SoftmaxCrossEntropyBackward"}
	sz.dims("n, k", n, k)
	sz.need("probs", probs, n*k)
	sz.need("labels", labels, n)
	sz.need("dlogits", dlogits, n*k)
	if sz.err != nil {
		return sz.err
	}
	var p args
	p.buf(probs).buf(labels).i32(n).i32(k).f32(g / float32(n)).buf(dlogits)
	return d.launch(kXentBackward, d.grid1D(n*k), d1(256), &p)
}

// --- optimizers ----------------------------------------------------------------

func optSizes(op string, w Buffer, others ...Buffer) sizes {
	sz := sizes{op: op}
	sz.dims("len(w)", w.n)
	for i, b := range others {
		sz.need([]string{"g", "slot 1", "slot 2"}[i], b, w.n)
	}
	return sz
}

// SGDUpdate queues w ← w − lr·g over w.Len() floats (graph.SGDUpdate).
func (d *Device) SGDUpdate(w, g Buffer, lr float32) error {
	sz := optSizes("SGDUpdate", w, g)
	if sz.err != nil {
		return sz.err
	}
	vec := aligned16(w, g)
	var p args
	p.buf(w).buf(g).i32(w.n).f32(lr).flag(vec)
	return d.launch(kSgdUpdate, d.grid1D(vecUnits(w.n, vec)), d1(256), &p)
}

// MomentumUpdate queues v ← μ·v + g; w ← w − lr·v (graph.MomentumUpdate).
func (d *Device) MomentumUpdate(w, g, v Buffer, lr, mu float32) error {
	sz := optSizes("MomentumUpdate", w, g, v)
	if sz.err != nil {
		return sz.err
	}
	vec := aligned16(w, g, v)
	var p args
	p.buf(w).buf(g).buf(v).i32(w.n).f32(lr).f32(mu).flag(vec)
	return d.launch(kMomentumUpdate, d.grid1D(vecUnits(w.n, vec)), d1(256), &p)
}

// AdamUpdate queues Adam step number t (1-based), as graph.AdamUpdate:
// m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²; w ← w − lr·m̂/(√v̂ + ε) with the
// bias corrections 1−β₁ᵗ, 1−β₂ᵗ computed here exactly as there.
func (d *Device) AdamUpdate(w, g, m, v Buffer, lr, beta1, beta2, eps float32, t int64) error {
	sz := optSizes("AdamUpdate", w, g, m, v)
	if t < 1 {
		sz.failf("step %d: want ≥ 1", t)
	}
	if sz.err != nil {
		return sz.err
	}
	bc1 := float32(1 - math.Pow(float64(beta1), float64(t)))
	bc2 := float32(1 - math.Pow(float64(beta2), float64(t)))
	step := lr / bc1
	isq := 1 / float32(math.Sqrt(float64(bc2)))
	vec := aligned16(w, g, m, v)
	var p args
	p.buf(w).buf(g).buf(m).buf(v).i32(w.n).f32(step).f32(beta1).f32(beta2).f32(eps).f32(isq).flag(vec).buf(Buffer{})
	return d.launch(kAdamUpdate, d.grid1D(vecUnits(w.n, vec)), d1(256), &p)
}

// AdamScalars is the length of the device buffer AdamStepOnDevice and
// AdamUpdateOnDevice share: [t, lr/(1−β₁ᵗ), 1/√(1−β₂ᵗ)].
const AdamScalars = 3

// AdamStepOnDevice queues advancing the step counter sc[0] (t, as a float:
// exact below 2²⁴ steps) and computing that step's bias corrections into
// sc[1:3], exactly as AdamUpdate does on the host. Set sc[0] to the number
// of steps taken so far (Upload) before the first call.
func (d *Device) AdamStepOnDevice(sc Buffer, lr, beta1, beta2 float32) error {
	sz := sizes{op: "AdamStepOnDevice"}
	sz.need("sc", sc, AdamScalars)
	if sz.err != nil {
		return sz.err
	}
	var p args
	p.buf(sc).f32(lr).f32(beta1).f32(beta2)
	return d.launch(kAdamStep, d1(1), d1(32), &p)
}

// AdamUpdateOnDevice is AdamUpdate with the step's scalars read from sc
// (AdamStepOnDevice's), so that no argument changes from step to step and
// the step can be captured once as a Graph.
func (d *Device) AdamUpdateOnDevice(w, g, m, v, sc Buffer, beta1, beta2, eps float32) error {
	sz := optSizes("AdamUpdateOnDevice", w, g, m, v)
	sz.need("sc", sc, AdamScalars)
	if sz.err != nil {
		return sz.err
	}
	vec := aligned16(w, g, m, v)
	var p args
	p.buf(w).buf(g).buf(m).buf(v).i32(w.n).f32(0).f32(beta1).f32(beta2).f32(eps).f32(0).flag(vec).buf(sc)
	return d.launch(kAdamUpdate, d.grid1D(vecUnits(w.n, vec)), d1(256), &p)
}
