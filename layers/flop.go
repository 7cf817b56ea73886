package layers

import "normtap/kernels"

// Gemmer is implemented by ops whose arithmetic is matrix products: the
// products one execution runs (FLOP: kernels.GemmShape.FLOP). Element-wise work (bias, norms,
// activations, pooling) is not counted; it is a few FLOP per value moved.
type Gemmer interface {
	Gemms() []kernels.GemmShape
}

func (op *LinearOp) Gemms() []kernels.GemmShape {
	return []kernels.GemmShape{{M: op.N, N: op.Out, K: op.In, Count: 1}}
}

func (op *LinearGradInputOp) Gemms() []kernels.GemmShape {
	return []kernels.GemmShape{{TransB: true, M: op.N, N: op.In, K: op.Out, Count: 1}}
}

func (op *LinearGradWeightOp) Gemms() []kernels.GemmShape {
	return []kernels.GemmShape{{TransA: true, M: op.In, N: op.Out, K: op.N, Count: 1}}
}

func (op *Conv2dOp) Gemms() []kernels.GemmShape {
	return []kernels.GemmShape{{M: op.K, N: op.H * op.Wd, K: op.C * 9, Count: op.N}}
}

func (op *Conv2dGradInputOp) Gemms() []kernels.GemmShape {
	f := op.Fwd
	return []kernels.GemmShape{{TransA: true, M: f.C * 9, N: f.H * f.Wd, K: f.K, Count: f.N}}
}

func (op *Conv2dGradWeightOp) Gemms() []kernels.GemmShape {
	f := op.Fwd
	return []kernels.GemmShape{{TransB: true, M: f.K, N: f.C * 9, K: f.H * f.Wd, Count: f.N}}
}
