package layers

import "normtap/kernels"

// Binder is implemented by ops whose kernel an executor can prepare once on
// fixed buffers and split over a kernels.Workers pool. Bind returns the prepared
// call: it computes what Exec(out, in) computes, with the work divided
// into parts of fixed boundaries (so results do not depend on timing; they
// may differ from Exec's in float rounding where a sum is split), and
// allocates nothing. Bind itself may allocate scratch.
type Binder interface {
	Kernel
	Bind(w *kernels.Workers, out []float32, in [][]float32) func()
}

// vecAlign is the part boundary of element-wise splits: 16 float32s, one
// 64-byte cache line, so that no two parts write the same line.
const vecAlign = 16

// minParallel: element-wise work on fewer values runs in one part.
const minParallel = 1 << 14

// parallel runs fn over w unless the work is small.
func parallel(w *kernels.Workers, size int, fn func(part, parts int)) {
	if size < minParallel {
		fn(0, 1)
		return
	}
	w.Run(fn)
}

func (op *LinearOp) Bind(w *kernels.Workers, out []float32, in [][]float32) func() {
	x, wt, b := in[0], in[1], in[2]
	g := kernels.NewGemmPlan(false, false, op.N, op.Out, op.In, 1, x, op.In, wt, op.Out, 1, out, op.Out)
	return func() {
		kernels.CopyBias(out, b, op.N, op.Out)
		g.Run(w)
	}
}

func (op *LinearGradInputOp) Bind(w *kernels.Workers, out []float32, in [][]float32) func() {
	return runPlan(w, op.Plan(out, in, false))
}

func (op *LinearGradWeightOp) Bind(w *kernels.Workers, out []float32, in [][]float32) func() {
	return runPlan(w, op.Plan(out, in, false))
}

// PlanBinder is implemented by ops whose whole bound call is one GEMM, so
// that a machine can hold the plan itself: to run two independent ones at
// once (kernels.GemmPair: a layer's weight and input gradients), and to
// have one add into its output. A machine that keeps out zero between
// calls (the CPU machine clears a weight's gradient as the optimizer
// consumes it, while the values are in cache) binds gradients to
// accumulate: the GEMM then skips the BLAS's own pass that clears C
// before the product (OpenBLAS's sgemm_beta, a cache-missing pass over
// the whole gradient).
type PlanBinder interface {
	Binder
	// Plan is the op's product on these buffers, added to out when
	// accumulate is set.
	Plan(out []float32, in [][]float32, accumulate bool) *kernels.GemmPlan
}

// Plan is dx = dy·Wᵀ.
func (op *LinearGradInputOp) Plan(out []float32, in [][]float32, accumulate bool) *kernels.GemmPlan {
	return kernels.NewGemmPlan(false, true, op.N, op.In, op.Out, 1, in[0], op.Out, in[1], op.Out, betaOf(accumulate), out, op.In)
}

// Plan is dW = xᵀ·dy.
func (op *LinearGradWeightOp) Plan(out []float32, in [][]float32, accumulate bool) *kernels.GemmPlan {
	return kernels.NewGemmPlan(true, false, op.In, op.Out, op.N, 1, in[0], op.In, in[1], op.Out, betaOf(accumulate), out, op.Out)
}

func betaOf(accumulate bool) float32 {
	if accumulate {
		return 1
	}
	return 0
}

func runPlan(w *kernels.Workers, g *kernels.GemmPlan) func() { return func() { g.Run(w) } }

func (op *ColSumOp) Bind(w *kernels.Workers, out []float32, in [][]float32) func() {
	x := in[0]
	part := func(p, parts int) {
		lo, hi := kernels.Span(op.Cols, p, parts, vecAlign)
		kernels.ColSumSpan(out, x, op.Rows, op.Cols, lo, hi)
	}
	return func() { parallel(w, op.Rows*op.Cols, part) }
}

func (op *ActOp) Bind(w *kernels.Workers, out []float32, in [][]float32) func() {
	x := in[0]
	part := func(p, parts int) {
		lo, hi := kernels.Span(len(out), p, parts, vecAlign)
		kernels.ActForward(op.Act, x[lo:hi], out[lo:hi])
	}
	return func() { parallel(w, len(out), part) }
}

func (op *ActGradOp) Bind(w *kernels.Workers, out []float32, in [][]float32) func() {
	x, y, dy := in[0], in[1], in[2]
	part := func(p, parts int) {
		lo, hi := kernels.Span(len(out), p, parts, vecAlign)
		kernels.ActBackward(op.Act, x[lo:hi], y[lo:hi], dy[lo:hi], out[lo:hi])
	}
	return func() { parallel(w, len(out), part) }
}

// BatchNorm splits by channel: each part computes its channels' statistics,
// output and gradients, so nothing is shared between parts.

func (op *BatchNormOp) Bind(w *kernels.Workers, out []float32, in [][]float32) func() {
	x, gamma, beta := in[0], in[1], in[2]
	st, sh := op.State, op.stash
	align := vecAlign
	if op.S > 1 {
		align = 1
	}
	train := func(p, parts int) {
		lo, hi := kernels.Span(op.C, p, parts, align)
		kernels.BatchNormTrainForwardSpan(x, gamma, beta, op.N, op.C, op.S, st.Eps, out, sh.mean, sh.variance, sh.invstd, sh.acc, lo, hi)
	}
	eval := func(p, parts int) {
		lo, hi := kernels.Span(op.C, p, parts, align)
		kernels.BatchNormEvalForwardSpan(x, gamma, beta, st.RunningMean, st.RunningVar, op.N, op.C, op.S, st.Eps, out, sh.invstd, lo, hi)
	}
	return func() {
		sh.train = st.Training
		if st.Training {
			parallel(w, len(out), train)
			kernels.BatchNormUpdateRunning(st.RunningMean, st.RunningVar, sh.mean, sh.variance, op.N*op.S, st.Momentum)
			return
		}
		copy(sh.mean, st.RunningMean)
		parallel(w, len(out), eval)
	}
}

func (op *BatchNormGradOp) Bind(w *kernels.Workers, out []float32, in [][]float32) func() {
	x, dy, gamma := in[0], in[1], in[2]
	f, sh := op.Fwd, op.Fwd.stash
	align := vecAlign
	if f.S > 1 {
		align = 1
	}
	part := func(p, parts int) {
		lo, hi := kernels.Span(f.C, p, parts, align)
		kernels.BatchNormBackwardSpan(sh.train, x, dy, gamma, sh.mean, sh.invstd, f.N, f.C, f.S, out, sh.dgamma, sh.dbeta, sh.acc, lo, hi)
	}
	return func() { parallel(w, len(out), part) }
}

// LayerNorm splits by example (row).

func (op *LayerNormOp) Bind(w *kernels.Workers, out []float32, in [][]float32) func() {
	x, gamma, beta := in[0], in[1], in[2]
	sh, d := op.stash, op.D
	part := func(p, parts int) {
		lo, hi := kernels.Span(op.N, p, parts, 1)
		kernels.LayerNormForward(x[lo*d:hi*d], gamma, beta, hi-lo, d, op.Eps, out[lo*d:hi*d], sh.mean[lo:hi], sh.invstd[lo:hi])
	}
	return func() { parallel(w, len(out), part) }
}

// LayerNormGradOp's parts each sum dγ and dβ over their rows into scratch
// of their own; the parts' sums are then added in part order.
func (op *LayerNormGradOp) Bind(w *kernels.Workers, out []float32, in [][]float32) func() {
	x, dy, gamma := in[0], in[1], in[2]
	f, sh, d := op.Fwd, op.Fwd.stash, op.Fwd.D
	parts := w.Parts()
	if f.N*d < minParallel {
		parts = 1
	}
	scratch := make([]float32, 2*d*parts)
	part := func(p, np int) {
		lo, hi := kernels.Span(f.N, p, np, 1)
		dg, db := scratch[2*p*d:(2*p+1)*d], scratch[(2*p+1)*d:(2*p+2)*d]
		kernels.LayerNormBackward(x[lo*d:hi*d], dy[lo*d:hi*d], gamma, sh.mean[lo:hi], sh.invstd[lo:hi], hi-lo, d, out[lo*d:hi*d], dg, db)
	}
	return func() {
		if parts == 1 {
			kernels.LayerNormBackward(x, dy, gamma, sh.mean, sh.invstd, f.N, d, out, sh.dgamma, sh.dbeta)
			return
		}
		w.Run(part)
		copy(sh.dgamma, scratch[:d])
		copy(sh.dbeta, scratch[d:2*d])
		for p := 1; p < parts; p++ {
			kernels.AddTo(sh.dgamma, scratch[2*p*d:(2*p+1)*d])
			kernels.AddTo(sh.dbeta, scratch[(2*p+1)*d:(2*p+2)*d])
		}
	}
}
