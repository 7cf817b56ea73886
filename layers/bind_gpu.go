//go:build gpu

package layers

import (
	"fmt"

	"normtap/cuda"
)

// This file binds each op to the GPU executor (GPUBinder), as bind.go binds
// it to the CPU one: the same inputs in the same order, the launches of
// package cuda whose arguments follow package kernels' CPU references.

func (op *LinearOp) BindGPU(s *GPUState, out cuda.Buffer, in []cuda.Buffer) (func() error, error) {
	d, x, w, b := s.Dev, in[0], in[1], in[2]
	return func() error {
		if err := d.Gemm(false, false, op.N, op.Out, op.In, 1, x, op.In, w, op.Out, 0, out, op.Out); err != nil {
			return err
		}
		return d.BiasAdd(out, b, op.N, op.Out)
	}, nil
}

func (op *LinearGradInputOp) BindGPU(s *GPUState, out cuda.Buffer, in []cuda.Buffer) (func() error, error) {
	d, dy, w := s.Dev, in[0], in[1]
	return func() error {
		return d.Gemm(false, true, op.N, op.In, op.Out, 1, dy, op.Out, w, op.Out, 0, out, op.In)
	}, nil
}

func (op *LinearGradWeightOp) BindGPU(s *GPUState, out cuda.Buffer, in []cuda.Buffer) (func() error, error) {
	d, x, dy := s.Dev, in[0], in[1]
	return func() error {
		return d.Gemm(true, false, op.In, op.Out, op.N, 1, x, op.In, dy, op.Out, 0, out, op.Out)
	}, nil
}

func (op *ColSumOp) BindGPU(s *GPUState, out cuda.Buffer, in []cuda.Buffer) (func() error, error) {
	d, dy := s.Dev, in[0]
	return func() error { return d.ColSum(out, dy, op.Rows, op.Cols) }, nil
}

func (op *ActOp) BindGPU(s *GPUState, out cuda.Buffer, in []cuda.Buffer) (func() error, error) {
	d, x := s.Dev, in[0]
	return func() error { return d.ActForward(op.Act, x, out) }, nil
}

func (op *ActGradOp) BindGPU(s *GPUState, out cuda.Buffer, in []cuda.Buffer) (func() error, error) {
	d, x, y, dy := s.Dev, in[0], in[1], in[2]
	return func() error { return d.ActBackward(op.Act, x, y, dy, out) }, nil
}

// The CNN's ops: a convolution keeps each example's columns for its weight
// gradient, a max-pool the index of each maximum for its backward pass.

func (op *Conv2dOp) BindGPU(s *GPUState, out cuda.Buffer, in []cuda.Buffer) (func() error, error) {
	d, x, w, b := s.Dev, in[0], in[1], in[2]
	hw, ck := op.H*op.Wd, op.C*9
	cols, err := sharedOf(s, op, func() (cuda.Buffer, error) { return s.Alloc(op.N * ck * hw) })
	if err != nil {
		return nil, err
	}
	return func() error {
		for i := 0; i < op.N; i++ {
			ci := cols.Slice(i*ck*hw, (i+1)*ck*hw)
			if err := d.Im2Col3x3(x.Slice(i*op.C*hw, (i+1)*op.C*hw), op.C, op.H, op.Wd, ci); err != nil {
				return err
			}
			if err := d.Gemm(false, false, op.K, hw, ck, 1, w, ck, ci, hw, 0, out.Slice(i*op.K*hw, (i+1)*op.K*hw), hw); err != nil {
				return err
			}
		}
		return d.ChannelBiasAdd(out, b, op.N, op.K, hw)
	}, nil
}

func (op *Conv2dGradInputOp) BindGPU(s *GPUState, out cuda.Buffer, in []cuda.Buffer) (func() error, error) {
	f, d, dy, w := op.Fwd, s.Dev, in[0], in[1]
	hw, ck := f.H*f.Wd, f.C*9
	scratch, err := s.Alloc(ck * hw)
	if err != nil {
		return nil, err
	}
	return func() error {
		for i := 0; i < f.N; i++ {
			if err := d.Gemm(true, false, ck, hw, f.K, 1, w, ck, dy.Slice(i*f.K*hw, (i+1)*f.K*hw), hw, 0, scratch, hw); err != nil {
				return err
			}
			if err := d.Col2Im3x3(scratch, f.C, f.H, f.Wd, out.Slice(i*f.C*hw, (i+1)*f.C*hw)); err != nil {
				return err
			}
		}
		return nil
	}, nil
}

func (op *Conv2dGradWeightOp) BindGPU(s *GPUState, out cuda.Buffer, in []cuda.Buffer) (func() error, error) {
	f, d, dy := op.Fwd, s.Dev, in[1]
	hw, ck := f.H*f.Wd, f.C*9
	cols, err := boundOf[cuda.Buffer](s, f, "convolution")
	if err != nil {
		return nil, err
	}
	return func() error {
		for i := 0; i < f.N; i++ {
			beta := float32(1)
			if i == 0 {
				beta = 0
			}
			if err := d.Gemm(false, true, f.K, ck, hw, 1, dy.Slice(i*f.K*hw, (i+1)*f.K*hw), hw, cols.Slice(i*ck*hw, (i+1)*ck*hw), hw, beta, out, ck); err != nil {
				return err
			}
		}
		return nil
	}, nil
}

func (op *ChannelSumOp) BindGPU(s *GPUState, out cuda.Buffer, in []cuda.Buffer) (func() error, error) {
	d, dy := s.Dev, in[0]
	return func() error { return d.ChannelSum(out, dy, op.N, op.C, op.S) }, nil
}

func (op *MaxPool2Op) BindGPU(s *GPUState, out cuda.Buffer, in []cuda.Buffer) (func() error, error) {
	d, x := s.Dev, in[0]
	idx, err := sharedOf(s, op, func() (cuda.Buffer, error) { return s.Alloc(out.Len()) })
	if err != nil {
		return nil, err
	}
	return func() error { return d.MaxPool2Forward(x, op.N*op.C, op.H, op.W, out, idx) }, nil
}

func (op *MaxPool2GradOp) BindGPU(s *GPUState, out cuda.Buffer, in []cuda.Buffer) (func() error, error) {
	d, dy := s.Dev, in[1]
	idx, err := boundOf[cuda.Buffer](s, op.Fwd, "max-pool")
	if err != nil {
		return nil, err
	}
	return func() error { return d.MaxPool2Backward(dy, idx, dy.Len(), out) }, nil
}

// The norms: the forward op and its backward ops share a gpuNormStash.

// gpuNormStash is normStash on the device.
type gpuNormStash struct {
	mean, variance, invstd, dgamma, dbeta cuda.Buffer
	train                                 bool // the mode of the last forward pass
}

// gpuStashOf is the stash of the norm fwd, with stats statistics and width
// γ/β values.
func gpuStashOf(s *GPUState, fwd any, stats, width int) (*gpuNormStash, error) {
	return sharedOf(s, fwd, func() (*gpuNormStash, error) {
		b, err := s.allocAll(stats, stats, stats, width, width)
		if err != nil {
			return nil, err
		}
		return &gpuNormStash{mean: b[0], variance: b[1], invstd: b[2], dgamma: b[3], dbeta: b[4]}, nil
	})
}

func (op *BatchNormOp) BindGPU(s *GPUState, out cuda.Buffer, in []cuda.Buffer) (func() error, error) {
	d, x, gamma, beta, st := s.Dev, in[0], in[1], in[2], op.State
	sh, err := gpuStashOf(s, op, op.C, op.C)
	if err != nil {
		return nil, err
	}
	runMean, err := s.Mirror(st.RunningMean)
	if err != nil {
		return nil, err
	}
	runVar, err := s.Mirror(st.RunningVar)
	if err != nil {
		return nil, err
	}
	return func() error {
		sh.train = st.Training
		if st.Training {
			if err := d.BatchNormTrainForward(x, gamma, beta, op.N, op.C, op.S, st.Eps, out, sh.mean, sh.variance, sh.invstd); err != nil {
				return err
			}
			return d.BatchNormUpdateRunning(runMean, runVar, sh.mean, sh.variance, op.N*op.S, st.Momentum)
		}
		if err := d.Copy(sh.mean, runMean); err != nil {
			return err
		}
		return d.BatchNormEvalForward(x, gamma, beta, runMean, runVar, op.N, op.C, op.S, st.Eps, out, sh.invstd)
	}, nil
}

func (op *BatchNormGradOp) BindGPU(s *GPUState, out cuda.Buffer, in []cuda.Buffer) (func() error, error) {
	f, d, x, dy, gamma := op.Fwd, s.Dev, in[0], in[1], in[2]
	sh, err := gpuStashOf(s, f, f.C, f.C)
	if err != nil {
		return nil, err
	}
	return func() error {
		return d.BatchNormBackward(sh.train, x, dy, gamma, sh.mean, sh.invstd, f.N, f.C, f.S, out, sh.dgamma, sh.dbeta)
	}, nil
}

func (op *LayerNormOp) BindGPU(s *GPUState, out cuda.Buffer, in []cuda.Buffer) (func() error, error) {
	d, x, gamma, beta := s.Dev, in[0], in[1], in[2]
	sh, err := gpuStashOf(s, op, op.N, op.D)
	if err != nil {
		return nil, err
	}
	return func() error {
		return d.LayerNormForward(x, gamma, beta, op.N, op.D, op.Eps, out, sh.mean, sh.invstd)
	}, nil
}

func (op *LayerNormGradOp) BindGPU(s *GPUState, out cuda.Buffer, in []cuda.Buffer) (func() error, error) {
	f, d, x, dy, gamma := op.Fwd, s.Dev, in[0], in[1], in[2]
	sh, err := gpuStashOf(s, f, f.N, f.D)
	if err != nil {
		return nil, err
	}
	return func() error {
		return d.LayerNormBackward(x, dy, gamma, sh.mean, sh.invstd, f.N, f.D, out, sh.dgamma, sh.dbeta)
	}, nil
}

func (op *NormParamGradOp) BindGPU(s *GPUState, out cuda.Buffer, in []cuda.Buffer) (func() error, error) {
	sh, err := boundOf[*gpuNormStash](s, op.Fwd, "norm's backward")
	if err != nil {
		return nil, err
	}
	d, src := s.Dev, sh.dgamma
	if op.Beta {
		src = sh.dbeta
	}
	return func() error { return d.Copy(out, src) }, nil
}

// The loss keeps the softmax for its gradient.

func (op *SoftmaxCrossEntropyOp) BindGPU(s *GPUState, out cuda.Buffer, in []cuda.Buffer) (func() error, error) {
	d, logits, labels := s.Dev, in[0], in[1]
	probs, err := sharedOf(s, op, func() (cuda.Buffer, error) { return s.Alloc(op.N * op.K) })
	if err != nil {
		return nil, err
	}
	return func() error { return d.SoftmaxCrossEntropyForward(logits, labels, op.N, op.K, probs, out) }, nil
}

func (op *SoftmaxCrossEntropyGradOp) BindGPU(s *GPUState, out cuda.Buffer, in []cuda.Buffer) (func() error, error) {
	f, d, labels := op.Fwd, s.Dev, in[1]
	g, ok := s.ConstantOf(in[2])
	if !ok {
		return nil, fmt.Errorf("the loss gradient must start from a constant seed")
	}
	probs, err := boundOf[cuda.Buffer](s, f, "loss")
	if err != nil {
		return nil, err
	}
	return func() error { return d.SoftmaxCrossEntropyBackward(probs, labels, f.N, f.K, g, out) }, nil
}
