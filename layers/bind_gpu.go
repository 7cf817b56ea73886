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
	// the bias is added in the GEMM's epilogue: one launch (two with split-k)
	return func() error {
		return d.GemmBias(false, false, op.N, op.Out, op.In, 1, x, op.In, w, op.Out, 0, out, op.Out, b)
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

// The CNN's ops: a convolution keeps the batch's columns for its weight
// gradient, a max-pool the index of each maximum for its backward pass.
// Each convolution and each of its gradients is a fixed number of launches
// whatever the batch size (cuda.Conv3x3Forward and its backward twins: one
// im2col or col2im of the whole batch, one GEMM, one axis swap).

// convState is what a convolution shares with its gradient ops: the
// batch's columns (C·9, N·H·W) and a (K, N·H·W) temporary, the forward
// pass's GEMM output and then each gradient's swapped dy (the stream runs
// them one after another).
type convState struct{ cols, tmp cuda.Buffer }

func convStateOf(s *GPUState, op *Conv2dOp) (convState, error) {
	return sharedOf(s, op, func() (convState, error) {
		nc, nt := cuda.Conv3x3Sizes(op.N, op.C, op.H, op.Wd, op.K)
		b, err := s.allocAll(nc, nt)
		if err != nil {
			return convState{}, err
		}
		return convState{cols: b[0], tmp: b[1]}, nil
	})
}

func (op *Conv2dOp) BindGPU(s *GPUState, out cuda.Buffer, in []cuda.Buffer) (func() error, error) {
	d, x, w, b := s.Dev, in[0], in[1], in[2]
	st, err := convStateOf(s, op)
	if err != nil {
		return nil, err
	}
	return func() error {
		return d.Conv3x3Forward(x, w, b, op.N, op.C, op.H, op.Wd, op.K, st.cols, st.tmp, out)
	}, nil
}

func (op *Conv2dGradInputOp) BindGPU(s *GPUState, out cuda.Buffer, in []cuda.Buffer) (func() error, error) {
	f, d, dy, w := op.Fwd, s.Dev, in[0], in[1]
	st, err := convStateOf(s, f)
	if err != nil {
		return nil, err
	}
	nc, _ := cuda.Conv3x3Sizes(f.N, f.C, f.H, f.Wd, f.K)
	dcols, err := s.Alloc(nc)
	if err != nil {
		return nil, err
	}
	return func() error {
		return d.Conv3x3BackwardData(dy, w, f.N, f.C, f.H, f.Wd, f.K, st.tmp, dcols, out)
	}, nil
}

func (op *Conv2dGradWeightOp) BindGPU(s *GPUState, out cuda.Buffer, in []cuda.Buffer) (func() error, error) {
	f, d, dy := op.Fwd, s.Dev, in[1]
	st, err := boundOf[convState](s, f, "convolution")
	if err != nil {
		return nil, err
	}
	return func() error {
		return d.Conv3x3BackwardFilter(dy, st.cols, f.N, f.C, f.H, f.Wd, f.K, st.tmp, out)
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

// The loss keeps the softmax for its gradient, and accumulates the batch's
// loss sum and right answers into s.Metrics when the executor gave one.

func (op *SoftmaxCrossEntropyOp) BindGPU(s *GPUState, out cuda.Buffer, in []cuda.Buffer) (func() error, error) {
	d, logits, labels := s.Dev, in[0], in[1]
	probs, err := sharedOf(s, op, func() (cuda.Buffer, error) { return s.Alloc(op.N * op.K) })
	if err != nil {
		return nil, err
	}
	sums := s.Metrics
	return func() error { return d.SoftmaxCrossEntropyForward(logits, labels, op.N, op.K, probs, out, sums) }, nil
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
