//go:build openblas

package kernels

import (
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/netlib/blas/netlib"

	"normtap/kernels/internal/openblas"
)

// pureGoBLAS: the openblas build routes every Gemm through OpenBLAS (cgo;
// kernels/internal/openblas links it).
const pureGoBLAS = false

// init makes OpenBLAS the BLAS of blas32 and keeps each call on the calling
// thread: the executor splits GEMMs over its own Workers (GemmPlan), so
// OpenBLAS's own threads would only contend with them for the cores.
func init() {
	blas32.Use(netlib.Implementation{})
	openblas.SetThreads(1)
}

// gemmParts is a GemmPlan's split for openblas.GemmParts: the same parts
// as runPart computes, as offsets into a, b and c.
type gemmParts = openblas.PartsTable

func (g *GemmPlan) newParts(parts int) gemmParts {
	t := openblas.NewPartsTable(parts)
	for p := range parts {
		i0, i1, j0, j1 := g.partBounds(p, parts)
		aOff, bOff := i0*g.lda, j0
		if g.transA {
			aOff = i0
		}
		if g.transB {
			bOff = j0 * g.ldb
		}
		t.Set(p, i1-i0, j1-j0, aOff, bOff, i0*g.ldc+j0)
	}
	return t
}

// runParts runs the plan's parts on OpenBLAS's side of cgo (one cgo call;
// openblas.GemmParts says why) and reports true: the product is done.
func (g *GemmPlan) runParts(t gemmParts) bool {
	openblas.GemmParts(g.transA, g.transB, g.k, g.alpha, g.a, g.lda, g.b, g.ldb, g.beta, g.c, g.ldc, t)
	return true
}
