// Package kernels holds normtap's CPU kernels: plain functions on row-major
// []float32 buffers, with no gorgonia in sight. They are what the Gorgonia
// ops of package layers call, and the reference every GPU kernel (package
// cuda) is checked against.
//
//   - kernels.go: bias, column sums, BatchNorm, LayerNorm, the activations
//     (Act, with its parse/print) and softmax cross-entropy
//   - conv.go: the CNN's im2col/col2im, channel sums and 2×2 max-pool
//   - conv_batched.go: the 3×3 convolution a block of examples per GEMM
//     (forward, weight and input gradients), and the channel-sum and
//     max-pool kernels on spans of channels or planes, for parallel parts
//   - groupnorm.go: GroupNorm and RMSNorm (their row loops, like the other
//     norms', in vec*.go)
//   - noise.go: the noisy-BatchNorm noise
//   - optim.go: the optimizer updates (SGD, momentum, Adam)
//   - gemm.go, workers.go: the GEMM (gonum's BLAS, or OpenBLAS with build tag
//     openblas through internal/openblas) and the fork-join pool that splits
//     kernels over the cores with fixed boundaries (GemmPlan, Span)
//   - blas.go: which OpenBLAS kernel is loaded, which one fits this CPU
//     better (internal/openblas.Choose), and the check of a kernel against
//     gonum's pure-Go GEMM
//   - bytes.go, flop.go: the bytes each norm pass must move and the FLOP of
//     a GEMM, for the benchmarks
//   - vec*.go, adam_amd64.*: the inner loops, in portable Go and in AVX2/FMA
//     (AVX for Adam) assembly picked at run time from the CPU's features;
//     build tag noasm selects the Go loops everywhere, so both can be
//     tested and benchmarked on one machine
//
// Statistics accumulate in float64 so that they match PyTorch to ~1e-6.
// Kernels never allocate; the *Span variants compute a disjoint part of
// the output so that parts can run concurrently.
package kernels
