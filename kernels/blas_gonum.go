//go:build !openblas

package kernels

// pureGoBLAS: Gemm is gonum's pure-Go BLAS (build with -tags openblas, as
// make does when libopenblas is installed, for OpenBLAS).
const pureGoBLAS = true

// gemmParts: the pure-Go build splits over Workers only.
type gemmParts []int

func (g *GemmPlan) newParts(parts int) gemmParts       { return nil }
func newPairParts(p, q *GemmPlan, parts int) gemmParts { return nil }
func runPair(p, q *GemmPlan, t gemmParts) bool         { return false }
func (g *GemmPlan) runParts(t gemmParts) bool          { return false } // not done: split over Workers
