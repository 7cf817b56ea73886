//go:build gpu

package layers

import "normtap/cuda"

// GroupNorm's and RMSNorm's GPU bindings (cuda/groupnorm.go): the
// statistics live in the stash the forward op shares with its backward op
// and the NormParamGradOps that hand out dγ (and dβ).

func (op *GroupNormOp) BindGPU(s *GPUState, out cuda.Buffer, in []cuda.Buffer) (func() error, error) {
	d, x, gamma, beta := s.Dev, in[0], in[1], in[2]
	sh, err := gpuStashOf(s, op, op.N*op.Groups, op.C)
	if err != nil {
		return nil, err
	}
	return func() error {
		return d.GroupNormForward(x, gamma, beta, op.N, op.C, op.S, op.Groups, op.Eps, out, sh.mean, sh.invstd)
	}, nil
}

func (op *GroupNormGradOp) BindGPU(s *GPUState, out cuda.Buffer, in []cuda.Buffer) (func() error, error) {
	f, d, x, dy, gamma := op.Fwd, s.Dev, in[0], in[1], in[2]
	sh, err := gpuStashOf(s, f, f.N*f.Groups, f.C)
	if err != nil {
		return nil, err
	}
	return func() error {
		return d.GroupNormBackward(x, dy, gamma, sh.mean, sh.invstd, f.N, f.C, f.S, f.Groups, out, sh.dgamma, sh.dbeta)
	}, nil
}

func (op *RMSNormOp) BindGPU(s *GPUState, out cuda.Buffer, in []cuda.Buffer) (func() error, error) {
	d, x, gamma := s.Dev, in[0], in[1]
	sh, err := gpuStashOf(s, op, op.N, op.D)
	if err != nil {
		return nil, err
	}
	return func() error { return d.RMSNormForward(x, gamma, op.N, op.D, op.Eps, out, sh.invstd) }, nil
}

func (op *RMSNormGradOp) BindGPU(s *GPUState, out cuda.Buffer, in []cuda.Buffer) (func() error, error) {
	f, d, x, dy, gamma := op.Fwd, s.Dev, in[0], in[1], in[2]
	sh, err := gpuStashOf(s, f, f.N, f.D)
	if err != nil {
		return nil, err
	}
	return func() error { return d.RMSNormBackward(x, dy, gamma, sh.invstd, f.N, f.D, out, sh.dgamma) }, nil
}
