package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"

	"normtap/kernels/internal/openblas"
)

// BLASKernel is the kernel OpenBLAS loaded ("Haswell", "SkylakeX", …), ""
// in the pure-Go build.
func BLASKernel() string { return openblas.Loaded() }

// BetterBLASKernel is the OPENBLAS_CORETYPE to run with when OpenBLAS,
// having loaded kernel loaded, fell below this CPU's instruction set (""
// to keep it); the decision is openblas.Choose's.
func BetterBLASKernel(loaded string) string {
	return openblas.Choose(loaded, openblas.HostFeatures())
}

// CPUInstructionSet names the highest x86 vector level this CPU and OS
// support, as far as the BLAS kernels care ("AVX2", "AVX-512", …).
func CPUInstructionSet() string { return openblas.HostFeatures().ISA().String() }

// gemmTolerance: a product of float32s may differ from another order of
// summation by this much relative to Σ|a||b| of its element; a wrong
// kernel is off by far more (garbage or a missing term).
const gemmTolerance = 2e-5

// GemmMismatch computes C = alpha·op(A)·op(B) + beta·C0 with Gemm and with
// gonum's pure-Go Sgemm on seeded random inputs in [-1, 1) and returns a
// description of the first element where they differ by more than
// gemmTolerance·(Σ|a||b| + |beta·c0|), or "" when they agree.
func GemmMismatch(transA, transB bool, m, n, k int, alpha, beta float32, seed uint64) string {
	g := newGemmCheck(transA, transB, m, n, k, alpha, beta, rand.New(rand.NewPCG(seed, uint64(m*n*k))))
	got := append([]float32(nil), g.c0...)
	Gemm(transA, transB, m, n, k, alpha, g.a, g.lda, g.b, g.ldb, beta, got, n)
	return g.mismatch(got)
}

// gemmCheck is one product C = alpha·op(A)·op(B) + beta·C0 on random
// inputs in [-1, 1), with gonum's answer and its error bound.
type gemmCheck struct {
	a, b, c0, want, bound []float32
	lda, ldb, n           int
	beta                  float32
}

func newGemmCheck(transA, transB bool, m, n, k int, alpha, beta float32, rng *rand.Rand) *gemmCheck {
	g := &gemmCheck{a: uniform(rng, m*k), b: uniform(rng, k*n), c0: uniform(rng, m*n), lda: k, ldb: n, n: n, beta: beta}
	if transA {
		g.lda = m
	}
	if transB {
		g.ldb = k
	}
	g.want = append([]float32(nil), g.c0...)
	pureGoGemm(transA, transB, m, n, k, alpha, g.a, g.lda, g.b, g.ldb, beta, g.want, n)
	g.bound = make([]float32, m*n)
	pureGoGemm(transA, transB, m, n, k, float32(math.Abs(float64(alpha))), absOf(g.a), g.lda, absOf(g.b), g.ldb, 0, g.bound, n)
	return g
}

// mismatch is firstMismatch of got (C computed from c0) against gonum's C.
func (g *gemmCheck) mismatch(got []float32) string {
	return firstMismatch(got, g.want, g.bound, g.c0, g.beta, g.n)
}

// uniform is n values drawn uniformly from [-1, 1).
func uniform(rng *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = 2*rng.Float32() - 1
	}
	return x
}

// absOf is |x| element-wise, in a new slice.
func absOf(x []float32) []float32 {
	y := make([]float32, len(x))
	for i, v := range x {
		y[i] = float32(math.Abs(float64(v)))
	}
	return y
}

// firstMismatch compares got with want element by element against
// gemmTolerance·(bound + |beta·c0|).
func firstMismatch(got, want, bound, c0 []float32, beta float32, n int) string {
	for i := range got {
		tol := gemmTolerance * (float64(bound[i]) + math.Abs(float64(beta*c0[i])))
		if d := math.Abs(float64(got[i] - want[i])); !(d <= tol) {
			return fmt.Sprintf("C[%d,%d] = %g, pure Go %g (|Δ| %.3g > %.3g)", i/n, i%n, got[i], want[i], d, tol)
		}
	}
	return ""
}

// pureGoGemm is Gemm in gonum's pure-Go BLAS, whatever blas32 uses.
func pureGoGemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	ta, tb := blas.NoTrans, blas.NoTrans
	if transA {
		ta = blas.Trans
	}
	if transB {
		tb = blas.Trans
	}
	gonum.Implementation{}.Sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// CheckBLAS compares Gemm with gonum's pure-Go Sgemm on small products of
// odd sizes, every transpose, with alpha ≠ 1 and beta ≠ 0: nil when they
// agree, else an error naming the case. normtap runs it once at start-up
// in a child process before it switches OpenBLAS to a kernel of its own
// choosing (a kernel may also crash on a CPU it does not suit).
func CheckBLAS() error {
	if pureGoBLAS {
		return nil
	}
	for _, s := range [][3]int{{37, 45, 67}, {128, 33, 200}, {5, 300, 129}} {
		for _, tr := range [][2]bool{{false, false}, {false, true}, {true, false}, {true, true}} {
			if msg := GemmMismatch(tr[0], tr[1], s[0], s[1], s[2], 1.5, 0.5, 1); msg != "" {
				return fmt.Errorf("OpenBLAS %s: %s×%s GEMM %d×%d×%d: %s", BLASKernel(), transName(tr[0]), transName(tr[1]), s[0], s[1], s[2], msg)
			}
		}
	}
	return nil
}

func transName(t bool) string {
	if t {
		return "T"
	}
	return "N"
}
