//go:build !openblas

package kernels

// pureGoBLAS: Gemm is gonum's pure-Go BLAS (build with -tags openblas, as
// make does when libopenblas is installed, for OpenBLAS).
const pureGoBLAS = true
