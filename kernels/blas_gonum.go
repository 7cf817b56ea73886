//go:build !openblas

package kernels

// pureGoBLAS: Gemm is gonum's pure-Go BLAS (build with -tags openblas, as
// make does when libopenblas is installed, for OpenBLAS).
const pureGoBLAS = true

// gemmParts: the pure-Go build splits over Workers only (cSplit.run
// returns before it would use these).
type gemmParts []int

func newParts(p, q *GemmPlan, parts int) gemmParts { return nil }
func runTable(p, q *GemmPlan, t gemmParts)         {}
