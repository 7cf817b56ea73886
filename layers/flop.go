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

// convGemms are a convolution's products, one per block of examples
// (kernels.Conv3x3Shape.Block): shape(columns) for a block of that many
// output pixels.
func convGemms(s kernels.Conv3x3Shape, shape func(cols int) kernels.GemmShape) []kernels.GemmShape {
	b, hw := s.Block(), s.H*s.W
	full := shape(b * hw)
	full.Count = s.N / b
	out := []kernels.GemmShape{full}
	if r := s.N % b; r > 0 {
		last := shape(r * hw)
		last.Count = 1
		out = append(out, last)
	}
	return out
}

func (op *Conv2dOp) Gemms() []kernels.GemmShape {
	s := op.shape()
	return convGemms(s, func(cols int) kernels.GemmShape { return kernels.GemmShape{M: s.K, N: cols, K: 9 * s.C} })
}

func (op *Conv2dGradInputOp) Gemms() []kernels.GemmShape {
	s := op.Fwd.shape()
	return convGemms(s, func(cols int) kernels.GemmShape {
		return kernels.GemmShape{TransA: true, M: 9 * s.C, N: cols, K: s.K}
	})
}

func (op *Conv2dGradWeightOp) Gemms() []kernels.GemmShape {
	s := op.Fwd.shape()
	return convGemms(s, func(cols int) kernels.GemmShape {
		return kernels.GemmShape{TransB: true, M: s.K, N: 9 * s.C, K: cols}
	})
}
