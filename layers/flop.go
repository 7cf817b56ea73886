package layers

import "fmt"

// GemmShape is one matrix product an op runs each time it executes:
// op(A) M×K times op(B) K×N, Count times (e.g. once per example).
type GemmShape struct {
	TransA, TransB bool
	M, N, K, Count int
}

// FLOP is the product's floating-point operations, a multiply and an add
// per term: 2·M·N·K·Count. It is the one FLOP formula: bench's roofline on
// the CPU and on the GPU sum it over a model's ops (Gemmer).
func (s GemmShape) FLOP() int64 { return 2 * int64(s.M) * int64(s.N) * int64(s.K) * int64(s.Count) }

func (s GemmShape) String() string {
	return fmt.Sprintf("%s%s %dx%dx%d", transName(s.TransA), transName(s.TransB), s.M, s.N, s.K)
}

// Gemmer is implemented by ops whose arithmetic is matrix products: the
// products one execution runs. Element-wise work (bias, norms,
// activations, pooling) is not counted; it is a few FLOP per value moved.
type Gemmer interface {
	Gemms() []GemmShape
}

func (op *LinearOp) Gemms() []GemmShape {
	return []GemmShape{{M: op.N, N: op.Out, K: op.In, Count: 1}}
}

func (op *LinearGradInputOp) Gemms() []GemmShape {
	return []GemmShape{{TransB: true, M: op.N, N: op.In, K: op.Out, Count: 1}}
}

func (op *LinearGradWeightOp) Gemms() []GemmShape {
	return []GemmShape{{TransA: true, M: op.In, N: op.Out, K: op.N, Count: 1}}
}

func (op *Conv2dOp) Gemms() []GemmShape {
	return []GemmShape{{M: op.K, N: op.H * op.Wd, K: op.C * 9, Count: op.N}}
}

func (op *Conv2dGradInputOp) Gemms() []GemmShape {
	f := op.Fwd
	return []GemmShape{{TransA: true, M: f.C * 9, N: f.H * f.Wd, K: f.K, Count: f.N}}
}

func (op *Conv2dGradWeightOp) Gemms() []GemmShape {
	f := op.Fwd
	return []GemmShape{{TransB: true, M: f.K, N: f.C * 9, K: f.H * f.Wd, Count: f.N}}
}
