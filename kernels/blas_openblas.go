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

// gemmParts is a GemmPlan's (or a GemmPair's) split for
// openblas.GemmParts: the parts runPart computes, as offsets into a, b, c.
type gemmParts = openblas.Table

// newParts splits p over parts, or, with q, splits parts between p and q
// by their FLOP (each at least one) and each over its share.
func newParts(p, q *GemmPlan, parts int) gemmParts {
	t := openblas.NewTable(parts)
	p.setGroup(t, 0)
	np := parts
	if q != nil {
		q.setGroup(t, 1)
		fp, fq := float64(p.m*p.n*p.k), float64(q.m*q.n*q.k)
		np = min(max(int(float64(parts)*fp/(fp+fq)+0.5), 1), parts-1)
	}
	for i := range np {
		p.setPart(t, i, 0, i, np)
	}
	for i := np; i < parts; i++ {
		q.setPart(t, i, 1, i-np, parts-np)
	}
	return t
}

func (g *GemmPlan) setGroup(t gemmParts, group int) {
	t.SetGroup(group, g.transA, g.transB, g.k, g.lda, g.ldb, g.ldc, g.alpha, g.beta)
}

// setPart records the plan's part of parts as part i of t, in group.
func (g *GemmPlan) setPart(t gemmParts, i, group, part, parts int) {
	i0, i1, j0, j1 := g.partBounds(part, parts)
	aOff, bOff := i0*g.lda, j0
	if g.transA {
		aOff = i0
	}
	if g.transB {
		bOff = j0 * g.ldb
	}
	t.SetPart(i, group, i1-i0, j1-j0, aOff, bOff, i0*g.ldc+j0)
}

// runTable runs t's parts of p (and q) on OpenBLAS's side of cgo, one cgo
// call (openblas.GemmParts says why).
func runTable(p, q *GemmPlan, t gemmParts) {
	if q == nil {
		q = p
	}
	openblas.GemmParts(p.a, p.b, p.c, q.a, q.b, q.c, t)
}
