//go:build !openblas

package layers

// pureGoBLAS: Gemm is gonum's pure-Go BLAS (build with -tags openblas, as
// make does when libopenblas is installed, for OpenBLAS).
const pureGoBLAS = true
