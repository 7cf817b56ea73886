package kernels

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
)

// Gemm computes C = alpha·op(A)·op(B) + beta·C for row-major matrices,
// where op(X) is X or Xᵀ. op(A) is m×k, op(B) is k×n, C is m×n. Transposes
// are GEMM flags, never materialised. The implementation is whatever
// blas32 uses: gonum's pure-Go BLAS, or OpenBLAS in the openblas build.
func Gemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if pureGoBLAS && (m > pureGoTileRows || n > pureGoTileCols) {
		// gonum's Sgemm would split a large product over goroutines of its
		// own, allocating on every call; tiles keep it serial and
		// allocation-free, and the caller decides the parallelism.
		for i := 0; i < m; i += pureGoTileRows {
			for j := 0; j < n; j += pureGoTileCols {
				gemmTile(transA, transB, i, min(i+pureGoTileRows, m), j, min(j+pureGoTileCols, n), k, alpha, a, lda, b, ldb, beta, c, ldc)
			}
		}
		return
	}
	ta, tb := blas.NoTrans, blas.NoTrans
	if transA {
		ta = blas.Trans
	}
	if transB {
		tb = blas.Trans
	}
	blas32.Implementation().Sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// gemmTile computes rows [i0, i1) and columns [j0, j1) of Gemm's C.
func gemmTile(transA, transB bool, i0, i1, j0, j1, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if i0 >= i1 || j0 >= j1 {
		return
	}
	if transA { // A is k×m: rows of op(A) are columns of A
		a = a[i0:]
	} else {
		a = a[i0*lda:]
	}
	if transB { // B is n×k
		b = b[j0*ldb:]
	} else {
		b = b[j0:]
	}
	Gemm(transA, transB, i1-i0, j1-j0, k, alpha, a, lda, b, ldb, beta, c[i0*ldc+j0:], ldc)
}

// gemmSerialMACs: below this many multiply-adds a GEMM runs on one core;
// waking the pool would cost more than it saves.
const gemmSerialMACs = 1 << 20

// Tile sizes for the pure-Go BLAS: gonum's Sgemm runs a product of fewer
// than four 64×64 blocks serially, without goroutines or allocation, so the
// pool hands out tiles of 128×64.
const pureGoTileRows, pureGoTileCols = 128, 64

// GemmPlan is one Gemm on fixed buffers, prepared once and run every step
// over a Workers pool: in the openblas build C is split into column (or
// row) ranges, one per part (partBounds), each a single-threaded OpenBLAS
// call; in the pure-Go build into tiles (runPart). Either way the result
// does not depend on timing. Run allocates nothing.
type GemmPlan struct {
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
	a, b, c        []float32
	lda, ldb, ldc  int
	part           func(part, parts int)
	split          cSplit
}

// NewGemmPlan prepares C = alpha·op(A)·op(B) + beta·C (see Gemm).
func NewGemmPlan(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) *GemmPlan {
	g := &GemmPlan{transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, beta: beta, a: a, b: b, c: c, lda: lda, ldb: ldb, ldc: ldc}
	g.part = g.runPart
	return g
}

// Run computes the product, split over w (serially for a nil pool or a
// small product).
func (g *GemmPlan) Run(w *Workers) {
	switch {
	case w.Parts() > 1 && (pureGoBLAS || g.m*g.n*g.k >= gemmSerialMACs):
		if g.split.run(w, g, nil) {
			return
		}
		w.Run(g.part)
	case pureGoBLAS:
		g.runPart(0, 1)
	default:
		g.sub(0, g.m, 0, g.n)
	}
}

// runPart is part's share in the pure-Go build: the 128×64 tiles of C,
// dealt out round-robin (the openblas build splits C by partBounds on its
// C threads instead: cSplit).
func (g *GemmPlan) runPart(part, parts int) {
	tr, tc := (g.m+pureGoTileRows-1)/pureGoTileRows, (g.n+pureGoTileCols-1)/pureGoTileCols
	for t := part; t < tr*tc; t += parts {
		i, j := t/tc*pureGoTileRows, t%tc*pureGoTileCols
		g.sub(i, min(i+pureGoTileRows, g.m), j, min(j+pureGoTileCols, g.n))
	}
}

// partBounds is part's block of C, rows [i0, i1) and columns [j0, j1):
// C split along its longer side into ranges aligned to 16.
func (g *GemmPlan) partBounds(part, parts int) (i0, i1, j0, j1 int) {
	if g.n >= g.m {
		lo, hi := Span(g.n, part, parts, 16)
		return 0, g.m, lo, hi
	}
	lo, hi := Span(g.m, part, parts, 16)
	return lo, hi, 0, g.n
}

// sub computes rows [i0, i1) and columns [j0, j1) of C.
func (g *GemmPlan) sub(i0, i1, j0, j1 int) {
	gemmTile(g.transA, g.transB, i0, i1, j0, j1, g.k, g.alpha, g.a, g.lda, g.b, g.ldb, g.beta, g.c, g.ldc)
}

// GemmPair is two independent GemmPlans run at once, each on its share of
// the cores (in the openblas build: one cgo call, each product whole on
// one thread when there are two cores), instead of one after the other
// with each split over all of them: a GEMM whole on one core packs its
// operands once and runs at the single-core rate, where two halves each
// pack the shared operand. The backward pass's weight and input gradients
// of a layer are such a pair. Neither plan may write what the other reads.
type GemmPair struct {
	p, q  *GemmPlan
	split cSplit
}

// NewGemmPair pairs p and q.
func NewGemmPair(p, q *GemmPlan) *GemmPair { return &GemmPair{p: p, q: q} }

// Run computes both products: at once over w's parts where the BLAS
// allows, else p then q.
func (g *GemmPair) Run(w *Workers) {
	if w.Parts() > 1 && g.split.run(w, g.p, g.q) {
		return
	}
	g.p.Run(w)
	g.q.Run(w)
}

// cSplit is a GemmPlan's (or a GemmPair's) split for the openblas build's
// C helper threads, made for one part count on first use.
type cSplit struct {
	table gemmParts
	parts int
}

// run computes p (and q, unless nil) over w's parts on the C helper
// threads, the Go helpers parked meanwhile; false in the pure-Go build,
// which splits over w instead.
func (s *cSplit) run(w *Workers, p, q *GemmPlan) bool {
	if pureGoBLAS {
		return false
	}
	if s.parts != w.Parts() {
		s.table, s.parts = newParts(p, q, w.Parts()), w.Parts()
	}
	w.Park() // the cores are OpenBLAS's until it returns
	runTable(p, q, s.table)
	return true
}
