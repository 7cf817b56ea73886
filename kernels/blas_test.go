package kernels

import (
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
