//go:build gpu

package layers

import "normtap/cuda"

// The residual network's ops on the GPU executor. Both are matrix products,
// so they bind to the device's GEMM and need no kernel of their own: the
// 1×1 convolution is one GEMM per example, as on the CPU
// (kernels.Conv1x1Forward), and the global average pool multiplies by a
// vector of 1/S: y (N·C × 1) = x (N·C × S)·(1/S)·1, and its gradient
// dx (N·C × S) = dy (N·C × 1)·(1/S)·1ᵀ, a rank-one product. The residual
// sum is gorgonia's +, which the executor runs itself.

func (op *Conv1x1Op) BindGPU(s *GPUState, out cuda.Buffer, in []cuda.Buffer) (func() error, error) {
	d, x, w, sz := s.Dev, in[0], in[1], op.H*op.W
	return func() error {
		for i := 0; i < op.N; i++ {
			if err := d.Gemm(false, false, op.K, sz, op.C, 1, w, op.C, x.Slice(i*op.C*sz, (i+1)*op.C*sz), sz, 0, out.Slice(i*op.K*sz, (i+1)*op.K*sz), sz); err != nil {
				return err
			}
		}
		return nil
	}, nil
}

func (op *Conv1x1GradInputOp) BindGPU(s *GPUState, out cuda.Buffer, in []cuda.Buffer) (func() error, error) {
	f, d, dy, w := op.Fwd, s.Dev, in[0], in[1]
	sz := f.H * f.W
	return func() error {
		for i := 0; i < f.N; i++ {
			if err := d.Gemm(true, false, f.C, sz, f.K, 1, w, f.C, dy.Slice(i*f.K*sz, (i+1)*f.K*sz), sz, 0, out.Slice(i*f.C*sz, (i+1)*f.C*sz), sz); err != nil {
				return err
			}
		}
		return nil
	}, nil
}

// Conv1x1GradWeightOp adds the examples' products in example order, as the
// CPU's Bind does.
func (op *Conv1x1GradWeightOp) BindGPU(s *GPUState, out cuda.Buffer, in []cuda.Buffer) (func() error, error) {
	f, d, x, dy := op.Fwd, s.Dev, in[0], in[1]
	sz := f.H * f.W
	return func() error {
		for i := 0; i < f.N; i++ {
			beta := float32(1)
			if i == 0 {
				beta = 0
			}
			if err := d.Gemm(false, true, f.K, f.C, sz, 1, dy.Slice(i*f.K*sz, (i+1)*f.K*sz), sz, x.Slice(i*f.C*sz, (i+1)*f.C*sz), sz, beta, out, f.C); err != nil {
				return err
			}
		}
		return nil
	}, nil
}

// gpuOnes is a device vector of n ones, one per GPUState and length.
type gpuOnes int

func onesOf(s *GPUState, n int) (cuda.Buffer, error) {
	return sharedOf(s, gpuOnes(n), func() (cuda.Buffer, error) {
		b, err := s.Alloc(n)
		if err != nil {
			return b, err
		}
		ones := make([]float32, n)
		for i := range ones {
			ones[i] = 1
		}
		return b, s.Dev.Upload(b, ones)
	})
}

func (op *GlobalAvgPoolOp) BindGPU(s *GPUState, out cuda.Buffer, in []cuda.Buffer) (func() error, error) {
	d, x, rows, sz := s.Dev, in[0], op.N*op.C, op.H*op.W
	ones, err := onesOf(s, sz)
	if err != nil {
		return nil, err
	}
	inv := 1 / float32(sz)
	return func() error { return d.Gemm(false, false, rows, 1, sz, inv, x, sz, ones, 1, 0, out, 1) }, nil
}

func (op *GlobalAvgPoolGradOp) BindGPU(s *GPUState, out cuda.Buffer, in []cuda.Buffer) (func() error, error) {
	f, d, dy := op.Fwd, s.Dev, in[0]
	rows, sz := f.N*f.C, f.H*f.W
	ones, err := onesOf(s, sz)
	if err != nil {
		return nil, err
	}
	inv := 1 / float32(sz)
	return func() error { return d.Gemm(false, false, rows, sz, 1, inv, dy, 1, ones, sz, 0, out, sz) }, nil
}
