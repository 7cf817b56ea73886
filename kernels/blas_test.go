package kernels

import (
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// trainingGemmShapes are the (m, n, k) of the products a training step of
// the benchmark models runs: the 784-1024-1024-10 MLP at batch 128 (forward
// N×In·In×Out, input gradient, weight gradient) and the CNN 16,32's
// products per block of examples (ConvBlock: 20 examples at 28×28, 9 at
// 14×14).
var trainingGemmShapes = [][3]int{
	{128, 1024, 784}, {128, 1024, 1024}, {128, 10, 1024}, // forward
	{128, 784, 1024}, {128, 1024, 10}, // input gradients
	{784, 1024, 128}, {1024, 10, 128}, // weight gradients
	{16, 15680, 9}, {16, 9, 15680}, // CNN conv1: forward, weight gradient
	{32, 1764, 144}, {144, 1764, 32}, {32, 144, 1764}, // conv2: forward, input and weight gradients
}

// TestGemmChosenKernel: the OpenBLAS kernel normtap runs with (the one it
// would switch to on this CPU, else OpenBLAS's own or the user's) computes
// every training shape, in every transpose variant, as gonum's pure-Go
// GEMM does.
func TestGemmChosenKernel(t *testing.T) {
	if pureGoBLAS {
		t.Skip("pure-Go build: there is no OpenBLAS kernel to check")
	}
	loaded := BLASKernel()
	if hook := os.Getenv("NORMTAP_TEST_OPENBLAS_LOADED"); hook != "" && os.Getenv("OPENBLAS_CORETYPE") == "" {
		loaded = hook // pretend OpenBLAS chose this one, to test the child path on any CPU
	}
	better := BetterBLASKernel(loaded)
	if better == "" || os.Getenv("OPENBLAS_CORETYPE") != "" {
		t.Logf("OpenBLAS kernel %s on a CPU with %s", loaded, CPUInstructionSet())
		for _, s := range trainingGemmShapes {
			for _, tr := range [][2]bool{{false, false}, {false, true}, {true, false}, {true, true}} {
				if msg := GemmMismatch(tr[0], tr[1], s[0], s[1], s[2], 1, 0, 7); msg != "" {
					t.Errorf("%s×%s %d×%d×%d: %s", transName(tr[0]), transName(tr[1]), s[0], s[1], s[2], msg)
				}
			}
		}
		return
	}
	// OpenBLAS chose a kernel below this CPU: run this test again in a
	// process where OpenBLAS initialises with the one normtap would choose.
	cmd := exec.Command(os.Args[0], "-test.run=^TestGemmChosenKernel$", "-test.v")
	cmd.Env = append(os.Environ(), "OPENBLAS_CORETYPE="+better)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("with OPENBLAS_CORETYPE=%s (OpenBLAS chose %s): %v\n%s", better, loaded, err, out)
	}
	if !strings.Contains(string(out), "OpenBLAS kernel "+better) {
		t.Fatalf("the child did not run OpenBLAS %s:\n%s", better, out)
	}
}

// TestCheckBLAS: the start-up check passes on the kernel this process
// loaded, and its comparison catches one wrong element.
func TestCheckBLAS(t *testing.T) {
	if err := CheckBLAS(); err != nil {
		t.Fatal(err)
	}
	got := []float32{1, 2, 3.0001}
	want := []float32{1, 2, 3}
	bound := []float32{1, 2, 3}
	if firstMismatch(want, want, bound, want, 0, 3) != "" {
		t.Error("equal results reported as different")
	}
	if firstMismatch(got, want, bound, want, 0, 3) == "" {
		t.Error("an element off by 3e-5 relative went unnoticed")
	}
}

// TestGemmPlanParts: a GemmPlan split into 2 to 5 parts (openblas:
// openblas.GemmParts' C helper threads; pure Go: the Workers pool) equals
// gonum's pure-Go Sgemm on every transpose, sizes that split unevenly,
// alpha ≠ 1 and beta ≠ 0; and two plans run at once from two goroutines
// (one of them then runs its parts on its own thread) both stay right.
func TestGemmPlanParts(t *testing.T) {
	type shape struct{ m, n, k int }
	for _, s := range []shape{{129, 1030, 70}, {1037, 131, 90}, {128, 1024, 784}} {
		for _, tr := range [][2]bool{{false, false}, {false, true}, {true, false}, {true, true}} {
			for _, parts := range []int{2, 3, 5} {
				p := newPlanCase(tr[0], tr[1], s.m, s.n, s.k, uint64(parts))
				w := NewWorkers(parts)
				p.plan.Run(w)
				w.Close()
				if msg := p.check(); msg != "" {
					t.Fatalf("%s×%s %d×%d×%d in %d parts: %s", transName(tr[0]), transName(tr[1]), s.m, s.n, s.k, parts, msg)
				}
			}
		}
	}
	done := make(chan string, 2)
	for g := range 2 {
		go func() {
			w := NewWorkers(2)
			defer w.Close()
			for i := range 20 {
				p := newPlanCase(i%2 == 0, g == 0, 300, 700, 100, uint64(10*g+i))
				p.plan.Run(w)
				if msg := p.check(); msg != "" {
					done <- msg
					return
				}
			}
			done <- ""
		}()
	}
	for range 2 {
		if msg := <-done; msg != "" {
			t.Fatal("concurrent plans:", msg)
		}
	}
}

type planCase struct {
	*gemmCheck
	plan *GemmPlan
	got  []float32
}

// newPlanCase prepares C = 1.5·op(A)·op(B) + 0.5·C0 on random inputs as a
// GemmPlan, with gonum's answer.
func newPlanCase(transA, transB bool, m, n, k int, seed uint64) *planCase {
	g := newGemmCheck(transA, transB, m, n, k, 1.5, 0.5, rand.New(rand.NewPCG(seed, 3)))
	p := &planCase{gemmCheck: g, got: append([]float32(nil), g.c0...)}
	p.plan = NewGemmPlan(transA, transB, m, n, k, 1.5, g.a, g.lda, g.b, g.ldb, 0.5, p.got, n)
	return p
}

func (p *planCase) check() string { return p.mismatch(p.got) }

// TestGemmPair: two independent products run as a GemmPair over 1 to 3
// parts (in the openblas build, at once on the C helper threads) both
// equal gonum's.
func TestGemmPair(t *testing.T) {
	for _, parts := range []int{1, 2, 3} {
		p := newPlanCase(true, false, 300, 260, 128, uint64(parts))   // a weight gradient's shape
		q := newPlanCase(false, true, 128, 300, 260, uint64(parts)+7) // an input gradient's
		w := NewWorkers(parts)
		NewGemmPair(p.plan, q.plan).Run(w)
		w.Close()
		for i, c := range []*planCase{p, q} {
			if msg := c.check(); msg != "" {
				t.Fatalf("%d parts: product %d: %s", parts, i, msg)
			}
		}
	}
}
