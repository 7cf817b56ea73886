// Package layers holds normtap's operations as Gorgonia ops: Linear,
// BatchNorm, LayerNorm, the activations, softmax cross-entropy and the
// noisy-BatchNorm noise (noise.go).
//
// Each op computes its forward pass in one fused kernel, keeps what its
// backward pass needs (batch statistics, softmax probabilities), and
// differentiates symbolically (gorgonia.SDOp) into backward ops that are
// themselves normtap ops. The CPU kernels are plain functions on []float32
// in package kernels (no gorgonia there): the ops call them, and the tests
// here compare the ops with finite differences, gorgonia's own
// BatchNorm/GroupNorm and PyTorch golden values. An op binds itself to the
// CPU executor (Binder, bind.go) and, in the gpu build, to the GPU one.
//
// Layouts are row-major. A 2-D activation is (N, F); a 4-D one is
// (N, C, H, W), which the norm kernels see as (N, C, S) with S = H·W.
// Parameters are 2-D: W (in, out), b (1, out), BatchNorm γ/β (1, C),
// LayerNorm γ/β (1, D) where D is every feature of one example.
package layers
