//go:build gpu

package cuda

// Kernel checks: every kernel, forward and backward, against its CPU
// reference (package layers; the optimizers against the formulas of
// graph/optim.go, restated below because graph's GPU executor imports this
// package) on random non-zero inputs, at shapes that are and are not
// multiples of the tiles and vector widths, and through unaligned buffers
// that force the scalar paths.
//
// Error measure: relErr = max_i |got_i − want_i| / max_i |want_i|, and a
// check passes when relErr ≤ 1e-4. GEMM is checked element-wise against
// the forward error bound of a length-k float32 dot product instead:
// |got − want| ≤ 2·k·2⁻²⁴·(|α|·(|A||B|)ᵢⱼ + |β|·|C₀ᵢⱼ|), as both the GPU and
// the CPU sums may each err by up to k·2⁻²⁴ of Σ|a||b|.
//
// These run only where a GPU is: gorgonia.org/cu exits the process at init
// without one. Benchmarks at the end time the norm kernels and the copy.

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"sync"
	"testing"

	"normtap/kernels"
)

const tol = 1e-4

var (
	testDev     *Device
	testDevErr  error
	testDevOnce sync.Once
)

// dev returns the shared test device. Tests and subtests run on goroutines
// of their own, which the Device allows (each call binds its context).
func dev(tb testing.TB) *Device {
	tb.Helper()
	testDevOnce.Do(func() { testDev, testDevErr = Open(0) })
	if testDevErr != nil {
		tb.Fatalf("open device: %v", testDevErr)
	}
	// Checks wait for every kernel, so a failing one is named; benchmarks
	// do not (unless NORMTAP_CUDA_DEBUG=1 asks).
	_, isTest := tb.(*testing.T)
	testDev.Debug = isTest || os.Getenv("NORMTAP_CUDA_DEBUG") == "1"
	return testDev
}

func TestMain(m *testing.M) {
	code := m.Run()
	if testDev != nil {
		if err := testDev.Close(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}

// --- helpers -------------------------------------------------------------------

func randSlice(rng *rand.Rand, n int, lo, hi float32) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = lo + (hi-lo)*rng.Float32()
	}
	return s
}

// put uploads host into a fresh buffer; with offset > 0 the data starts
// offset floats into the allocation, which defeats 16-byte alignment.
func put(tb testing.TB, d *Device, host []float32, offset int) Buffer {
	tb.Helper()
	b, err := d.Alloc(len(host) + offset + 1)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { d.Free(b) })
	// Poison the whole allocation so reads past the data show up as NaNs.
	if err := d.Fill(b, float32(math.NaN())); err != nil {
		tb.Fatal(err)
	}
	v := b.Slice(offset, offset+len(host))
	if err := d.Upload(v, host); err != nil {
		tb.Fatal(err)
	}
	return v
}

// zeros allocates an output buffer of n floats filled with NaN, so that
// elements a kernel fails to write are caught.
func zeros(tb testing.TB, d *Device, n, offset int) Buffer {
	tb.Helper()
	nan := make([]float32, n)
	for i := range nan {
		nan[i] = float32(math.NaN())
	}
	return put(tb, d, nan, offset)
}

func get(tb testing.TB, d *Device, b Buffer) []float32 {
	tb.Helper()
	host := make([]float32, b.Len())
	if err := d.Download(host, b); err != nil {
		tb.Fatal(err)
	}
	return host
}

// relErr is max|got−want| / max|want| (max|got−want| when want is all 0);
// NaN or a length mismatch give +Inf.
func relErr(got, want []float32) float64 {
	if len(got) != len(want) {
		return math.Inf(1)
	}
	var maxDiff, maxRef float64
	for i := range want {
		g, w := float64(got[i]), float64(want[i])
		if math.IsNaN(g) || math.IsInf(g, 0) {
			return math.Inf(1)
		}
		maxDiff = max(maxDiff, math.Abs(g-w))
		maxRef = max(maxRef, math.Abs(w))
	}
	if maxRef == 0 {
		return maxDiff
	}
	return maxDiff / maxRef
}

func check(tb testing.TB, name string, got, want []float32) {
	tb.Helper()
	if e := relErr(got, want); !(e <= tol) {
		i := worst(got, want)
		tb.Errorf("%s: relative error %.3g > %g (worst at %d: got %g, want %g)", name, e, tol, i, got[i], want[i])
	}
}

func worst(got, want []float32) int {
	w, best := 0, -1.0
	for i := range min(len(got), len(want)) {
		d := math.Abs(float64(got[i]) - float64(want[i]))
		if math.IsNaN(d) {
			return i
		}
		if d > best {
			w, best = i, d
		}
	}
	return w
}

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

// --- GEMM ------------------------------------------------------------------------

func TestGemm(t *testing.T) {
	d := dev(t)
	shapes := []struct{ m, n, k int }{
		{1, 1, 1}, {7, 13, 5}, {64, 64, 64}, {128, 128, 8}, {129, 65, 33},
		{200, 300, 77}, {33, 257, 1000}, {128, 96, 784}, {300, 10, 128},
	}
	rng := rand.New(rand.NewPCG(1, 1))
	for _, plan := range []struct{ tile, splits int }{{128, 1}, {64, 1}, {32, 1}, {64, 3}, {32, 7}} {
		for _, sh := range shapes {
			for _, tr := range [][2]bool{{false, false}, {false, true}, {true, false}, {true, true}} {
				for _, beta := range []float32{0, 0.5} {
					ta, tb := tr[0], tr[1]
					name := fmt.Sprintf("tile%d/split%d/%dx%dx%d/ta=%v,tb=%v/beta=%g",
						plan.tile, plan.splits, sh.m, sh.n, sh.k, ta, tb, beta)
					t.Run(name, func(t *testing.T) {
						d.gemmTileFixed, d.gemmSplitFixed = plan.tile, plan.splits
						defer func() { d.gemmTileFixed, d.gemmSplitFixed = 0, 0 }()
						gemmCase(t, d, rng, ta, tb, sh.m, sh.n, sh.k, 1.5, beta)
					})
				}
			}
		}
	}
	// The device's own choice, splits included, at Linear's shapes.
	for _, sh := range []struct {
		ta, tb  bool
		m, n, k int
	}{{false, false, 128, 1024, 784}, {true, false, 784, 1024, 128}, {false, true, 128, 784, 1024},
		{false, false, 128, 10, 1024}, {false, false, 1000, 1000, 1000}} {
		t.Run(fmt.Sprintf("auto/%dx%dx%d/ta=%v,tb=%v", sh.m, sh.n, sh.k, sh.ta, sh.tb), func(t *testing.T) {
			gemmCase(t, d, rng, sh.ta, sh.tb, sh.m, sh.n, sh.k, 1, 0.5)
		})
	}
}

func gemmCase(t *testing.T, d *Device, rng *rand.Rand, ta, tb bool, m, n, k int, alpha, beta float32) {
	// Stored shapes and leading dimensions, the latter padded by 3 so that
	// strides are exercised (and rows unaligned).
	ar, ac := m, k
	if ta {
		ar, ac = k, m
	}
	br, bc := k, n
	if tb {
		br, bc = n, k
	}
	lda, ldb, ldc := ac+3, bc+3, n+3
	a := randSlice(rng, ar*lda, -1, 1)
	b := randSlice(rng, br*ldb, -1, 1)
	c0 := randSlice(rng, m*ldc, -1, 1)
	want := append([]float32(nil), c0...)
	kernels.Gemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, want, ldc)

	ga, gb := put(t, d, a, 0), put(t, d, b, 0)
	var gc Buffer
	if beta == 0 {
		gc = zeros(t, d, len(c0), 0) // NaNs: β = 0 must not read C
	} else {
		gc = put(t, d, c0, 0)
	}
	must(t, d.Gemm(ta, tb, m, n, k, alpha, ga, lda, gb, ldb, beta, gc, ldc))
	got := get(t, d, gc)

	at := func(i, l int) float64 { // |op(A)[i,l]|
		if ta {
			return math.Abs(float64(a[l*lda+i]))
		}
		return math.Abs(float64(a[i*lda+l]))
	}
	bt := func(l, j int) float64 {
		if tb {
			return math.Abs(float64(b[j*ldb+l]))
		}
		return math.Abs(float64(b[l*ldb+j]))
	}
	u := math.Ldexp(1, -24)
	bad := 0
	for i := range m {
		for j := range n {
			var abs float64
			for l := range k {
				abs += at(i, l) * bt(l, j)
			}
			bound := 2*float64(k)*u*(math.Abs(float64(alpha))*abs+math.Abs(float64(beta)*float64(c0[i*ldc+j]))) + 1e-30
			g, w := float64(got[i*ldc+j]), float64(want[i*ldc+j])
			if !(math.Abs(g-w) <= bound) {
				if bad < 5 {
					t.Errorf("C[%d,%d] = %g, want %g (bound %.3g)", i, j, g, w, bound)
				}
				bad++
			}
		}
		// The padding columns of C stay as they were (NaN when β = 0).
		for j := n; j < ldc; j++ {
			g := got[i*ldc+j]
			if beta != 0 && g != c0[i*ldc+j] || beta == 0 && !math.IsNaN(float64(g)) {
				t.Fatalf("C[%d,%d] (padding) was written: %g", i, j, g)
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d elements out of bounds", bad, m*n)
	}
}

func TestGemmRejectsShortBuffers(t *testing.T) {
	d := dev(t)
	a, b, c := zeros(t, d, 6, 0), zeros(t, d, 6, 0), zeros(t, d, 3, 0) // C needs 4 (2×2)
	if err := d.Gemm(false, false, 2, 2, 3, 1, a, 3, b, 2, 0, c, 2); err == nil {
		t.Error("Gemm with a 3-float C for a 2×2 result: no error")
	}
	if err := d.Gemm(false, false, 2, 2, 3, 1, a, 2, b, 2, 0, c, 2); err == nil {
		t.Error("Gemm with lda 2 < k 3: no error")
	}
}

// --- element-wise --------------------------------------------------------------------

func TestBiasAddColSum(t *testing.T) {
	d := dev(t)
	rng := rand.New(rand.NewPCG(2, 2))
	for _, sh := range []struct{ rows, cols int }{{1, 1}, {3, 5}, {37, 100}, {128, 1024}, {1000, 10}, {70000, 4}} {
		for _, off := range []int{0, 1} {
			t.Run(fmt.Sprintf("%dx%d/offset%d", sh.rows, sh.cols, off), func(t *testing.T) {
				y := randSlice(rng, sh.rows*sh.cols, -1, 1)
				b := randSlice(rng, sh.cols, -1, 1)
				gy, gb := put(t, d, y, off), put(t, d, b, off)
				must(t, d.BiasAdd(gy, gb, sh.rows, sh.cols))
				kernels.BiasAdd(y, b, sh.rows, sh.cols)
				check(t, "BiasAdd", get(t, d, gy), y)

				dst := zeros(t, d, sh.cols, off)
				must(t, d.ColSum(dst, gy, sh.rows, sh.cols))
				want := make([]float32, sh.cols)
				kernels.ColSum(want, y, sh.rows, sh.cols)
				check(t, "ColSum", get(t, d, dst), want)
			})
		}
	}
}

func TestActivations(t *testing.T) {
	d := dev(t)
	rng := rand.New(rand.NewPCG(3, 3))
	for _, act := range []kernels.Act{kernels.Identity, kernels.ReLU, kernels.GELU, kernels.Sigmoid, kernels.Tanh} {
		for _, n := range []int{1, 5, 1000, 4099} {
			for _, off := range []int{0, 1} {
				t.Run(fmt.Sprintf("%v/n=%d/offset%d", act, n, off), func(t *testing.T) {
					x := randSlice(rng, n, -4, 4)
					dy := randSlice(rng, n, -1, 1)
					y := make([]float32, n)
					kernels.ActForward(act, x, y)
					dx := make([]float32, n)
					kernels.ActBackward(act, x, y, dy, dx)

					gx := put(t, d, x, off)
					gy := zeros(t, d, n, off)
					must(t, d.ActForward(act, gx, gy))
					check(t, "forward", get(t, d, gy), y)

					gyRef, gdy := put(t, d, y, off), put(t, d, dy, off)
					gdx := zeros(t, d, n, off)
					must(t, d.ActBackward(act, gx, gyRef, gdy, gdx))
					check(t, "backward", get(t, d, gdx), dx)
				})
			}
		}
	}
}

func TestAddCopyFill(t *testing.T) {
	d := dev(t)
	rng := rand.New(rand.NewPCG(4, 4))
	for _, n := range []int{1, 7, 4096, 100003} {
		for _, off := range []int{0, 3} {
			a, b := randSlice(rng, n, -1, 1), randSlice(rng, n, -1, 1)
			ga, gb := put(t, d, a, off), put(t, d, b, off)
			dst := zeros(t, d, n, off)
			must(t, d.Add(dst, ga, gb))
			want := make([]float32, n)
			for i := range want {
				want[i] = a[i] + b[i]
			}
			check(t, fmt.Sprintf("Add n=%d", n), get(t, d, dst), want)

			must(t, d.CopyKernel(dst, ga))
			check(t, fmt.Sprintf("CopyKernel n=%d", n), get(t, d, dst), a)
			must(t, d.Copy(dst, gb))
			check(t, fmt.Sprintf("Copy n=%d", n), get(t, d, dst), b)
			must(t, d.Fill(dst, 2.5))
			for i, v := range get(t, d, dst) {
				if v != 2.5 {
					t.Fatalf("Fill n=%d: [%d] = %g", n, i, v)
				}
			}
		}
	}
}

func TestPool(t *testing.T) {
	d := dev(t)
	a, err := d.Alloc(1000)
	must(t, err)
	must(t, d.Free(a))
	if err := d.Free(a); err == nil {
		t.Error("double Free: no error")
	}
	b, err := d.Alloc(1000)
	must(t, err)
	if b.ptr != a.ptr {
		t.Errorf("Alloc after Free of the same length: %v, want the pooled %v", b, a)
	}
	if err := d.Free(b.Slice(1, 10)); err == nil {
		t.Error("Free of a slice: no error")
	}
	if _, err := d.Alloc(0); err == nil {
		t.Error("Alloc(0): no error")
	}
	host := []float32{1, 2, 3}
	must(t, d.Upload(b, host))
	got := make([]float32, 3)
	must(t, d.Download(got, b))
	check(t, "round trip", got, host)
	if err := d.Upload(b.Slice(0, 2), host); err == nil {
		t.Error("Upload of 3 floats into 2: no error")
	}
	must(t, d.Free(b))
	must(t, d.Trim())
}

// --- BatchNorm ----------------------------------------------------------------------

type bnShape struct{ n, c, s int }

// N·S ≥ 3: with two elements per channel x̂ = ±1 whatever x is, dx is 0
// and a relative error means nothing.
var bnShapes = []bnShape{
	{3, 5, 1}, {33, 64, 1}, {100, 37, 1}, {128, 1024, 1}, {4000, 96, 1}, // 2d: vec, scalar, many chunks
	{8, 16, 49}, {4, 3, 784}, {5, 7, 13}, {64, 32, 196}, // 4d: scalar, vec, odd, CNN-sized
}

// bnInput makes x (N, C, S) with a different mean and scale per channel, so
// the statistics are not all ≈ 0 and 1.
func bnInput(rng *rand.Rand, sh bnShape) []float32 {
	x := make([]float32, sh.n*sh.c*sh.s)
	off, scale := randSlice(rng, sh.c, -2, 2), randSlice(rng, sh.c, 0.5, 3)
	for i := range sh.n {
		for j := range sh.c {
			for p := range sh.s {
				x[(i*sh.c+j)*sh.s+p] = off[j] + scale[j]*(2*rng.Float32()-1)
			}
		}
	}
	return x
}

func TestBatchNorm(t *testing.T) {
	d := dev(t)
	rng := rand.New(rand.NewPCG(5, 5))
	for _, sh := range bnShapes {
		for _, off := range []int{0, 1} {
			t.Run(fmt.Sprintf("%dx%dx%d/offset%d", sh.n, sh.c, sh.s, off), func(t *testing.T) {
				bnCase(t, d, rng, sh, off)
			})
		}
	}
}

func bnCase(t *testing.T, d *Device, rng *rand.Rand, sh bnShape, off int) {
	const eps, momentum = 1e-5, 0.1
	n, c, s := sh.n, sh.c, sh.s
	x, dy := bnInput(rng, sh), randSlice(rng, n*c*s, -1, 1)
	gamma, beta := randSlice(rng, c, 0.5, 1.5), randSlice(rng, c, -0.5, 0.5)
	runMean, runVar := randSlice(rng, c, -0.5, 0.5), randSlice(rng, c, 0.5, 2)

	gx, gdy := put(t, d, x, off), put(t, d, dy, off)
	gg, gbeta := put(t, d, gamma, off), put(t, d, beta, off)
	grm, grv := put(t, d, runMean, off), put(t, d, runVar, off)
	gy := zeros(t, d, n*c*s, off)
	gmean, gvar, ginv := zeros(t, d, c, off), zeros(t, d, c, off), zeros(t, d, c, off)

	// train forward
	y, mean, variance, invstd := make([]float32, n*c*s), make([]float32, c), make([]float32, c), make([]float32, c)
	kernels.BatchNormTrainForward(x, gamma, beta, n, c, s, eps, y, mean, variance, invstd, make([]float64, 2*c))
	must(t, d.BatchNormTrainForward(gx, gg, gbeta, n, c, s, eps, gy, gmean, gvar, ginv))
	check(t, "train y", get(t, d, gy), y)
	check(t, "mean", get(t, d, gmean), mean)
	check(t, "variance", get(t, d, gvar), variance)
	check(t, "invstd", get(t, d, ginv), invstd)

	// running statistics
	rm, rv := append([]float32(nil), runMean...), append([]float32(nil), runVar...)
	kernels.BatchNormUpdateRunning(rm, rv, mean, variance, n*s, momentum)
	grm2, grv2 := put(t, d, runMean, off), put(t, d, runVar, off)
	must(t, d.BatchNormUpdateRunning(grm2, grv2, gmean, gvar, n*s, momentum))
	check(t, "running mean", get(t, d, grm2), rm)
	check(t, "running var", get(t, d, grv2), rv)

	// train backward
	dx, dgamma, dbeta := make([]float32, n*c*s), make([]float32, c), make([]float32, c)
	kernels.BatchNormBackward(true, x, dy, gamma, mean, invstd, n, c, s, dx, dgamma, dbeta, make([]float64, 2*c))
	gdx, gdg, gdb := zeros(t, d, n*c*s, off), zeros(t, d, c, off), zeros(t, d, c, off)
	gmeanRef, ginvRef := put(t, d, mean, off), put(t, d, invstd, off)
	must(t, d.BatchNormBackward(true, gx, gdy, gg, gmeanRef, ginvRef, n, c, s, gdx, gdg, gdb))
	check(t, "train dx", get(t, d, gdx), dx)
	check(t, "train dgamma", get(t, d, gdg), dgamma)
	check(t, "train dbeta", get(t, d, gdb), dbeta)

	// eval forward and backward
	kernels.BatchNormEvalForward(x, gamma, beta, runMean, runVar, n, c, s, eps, y, invstd)
	must(t, d.BatchNormEvalForward(gx, gg, gbeta, grm, grv, n, c, s, eps, gy, ginv))
	check(t, "eval y", get(t, d, gy), y)
	check(t, "eval invstd", get(t, d, ginv), invstd)
	kernels.BatchNormBackward(false, x, dy, gamma, runMean, invstd, n, c, s, dx, dgamma, dbeta, make([]float64, 2*c))
	must(t, d.BatchNormBackward(false, gx, gdy, gg, grm, ginv, n, c, s, gdx, gdg, gdb))
	check(t, "eval dx", get(t, d, gdx), dx)
	check(t, "eval dgamma", get(t, d, gdg), dgamma)
	check(t, "eval dbeta", get(t, d, gdb), dbeta)
}

// --- LayerNorm ------------------------------------------------------------------------

func TestLayerNorm(t *testing.T) {
	d := dev(t)
	rng := rand.New(rand.NewPCG(6, 6))
	shapes := []struct{ n, d int }{
		{1, 4}, {3, 100}, {64, 128}, {10, 256}, {17, 512}, {300, 1000}, {9, 1024}, // warp per row
		{5, 2048}, {3, 4096}, {600, 1100}, // block per row
		{2, 5000}, {7, 99}, {4, 3}, // generic
		{5000, 64}, {1500, 2048}, {700, 4100}, // more rows than resident groups: persistent loop
	}
	for _, sh := range shapes {
		for _, off := range []int{0, 1} {
			if off == 1 && sh.n*sh.d > 1<<20 {
				continue
			}
			t.Run(fmt.Sprintf("%dx%d/offset%d", sh.n, sh.d, off), func(t *testing.T) {
				lnCase(t, d, rng, sh.n, sh.d, off)
			})
		}
	}
}

func lnCase(t *testing.T, d *Device, rng *rand.Rand, n, dim, off int) {
	const eps = 1e-5
	x := make([]float32, n*dim)
	for i := range n { // a different mean and scale per row
		o, sc := 4*rng.Float32()-2, 0.5+2*rng.Float32()
		for j := range dim {
			x[i*dim+j] = o + sc*(2*rng.Float32()-1)
		}
	}
	dy := randSlice(rng, n*dim, -1, 1)
	gamma, beta := randSlice(rng, dim, 0.5, 1.5), randSlice(rng, dim, -0.5, 0.5)

	y, mean, invstd := make([]float32, n*dim), make([]float32, n), make([]float32, n)
	kernels.LayerNormForward(x, gamma, beta, n, dim, eps, y, mean, invstd)
	gx, gdy, gg, gb := put(t, d, x, off), put(t, d, dy, off), put(t, d, gamma, off), put(t, d, beta, off)
	gy, gmean, ginv := zeros(t, d, n*dim, off), zeros(t, d, n, off), zeros(t, d, n, off)
	must(t, d.LayerNormForward(gx, gg, gb, n, dim, eps, gy, gmean, ginv))
	check(t, "y", get(t, d, gy), y)
	check(t, "mean", get(t, d, gmean), mean)
	check(t, "invstd", get(t, d, ginv), invstd)

	dx, dgamma, dbeta := make([]float32, n*dim), make([]float32, dim), make([]float32, dim)
	kernels.LayerNormBackward(x, dy, gamma, mean, invstd, n, dim, dx, dgamma, dbeta)
	gmeanRef, ginvRef := put(t, d, mean, off), put(t, d, invstd, off)
	gdx, gdg, gdb := zeros(t, d, n*dim, off), zeros(t, d, dim, off), zeros(t, d, dim, off)
	must(t, d.LayerNormBackward(gx, gdy, gg, gmeanRef, ginvRef, n, dim, gdx, gdg, gdb))
	check(t, "dx", get(t, d, gdx), dx)
	check(t, "dgamma", get(t, d, gdg), dgamma)
	check(t, "dbeta", get(t, d, gdb), dbeta)
}

// --- GroupNorm and RMSNorm ---------------------------------------------------------------

// rowData is x (N, D) with each row's own mean and spread.
func rowData(rng *rand.Rand, n, dim int) []float32 {
	x := make([]float32, n*dim)
	for i := range n {
		o, sc := 4*rng.Float32()-2, 0.5+2*rng.Float32()
		for j := range dim {
			x[i*dim+j] = o + sc*(2*rng.Float32()-1)
		}
	}
	return x
}

// TestGroupNorm: 2-D (S = 1) and 4-D shapes, groups from 1 (LayerNorm) to
// C (InstanceNorm), rows from 1 float to longer than a block's 256 threads
// can cover in one pass; tolerance tol (relative 1e-4, see check).
func TestGroupNorm(t *testing.T) {
	d := dev(t)
	rng := rand.New(rand.NewPCG(16, 6))
	const eps = 1e-5
	shapes := []struct{ n, c, s, g int }{
		{1, 4, 1, 2}, {128, 256, 1, 32}, {64, 100, 1, 4}, {16, 64, 1, 64}, {9, 1024, 1, 1}, // 2-D
		{4, 6, 25, 3}, {8, 16, 784, 16}, {3, 32, 196, 8}, {2, 8, 49, 1}, {5, 12, 9, 12}, // 4-D
	}
	for _, sh := range shapes {
		for _, off := range []int{0, 1} {
			t.Run(fmt.Sprintf("%dx%dx%d/G%d/offset%d", sh.n, sh.c, sh.s, sh.g, off), func(t *testing.T) {
				n, c, s, g := sh.n, sh.c, sh.s, sh.g
				x, dy := rowData(rng, n, c*s), randSlice(rng, n*c*s, -1, 1)
				gamma, beta := randSlice(rng, c, 0.5, 1.5), randSlice(rng, c, -0.5, 0.5)

				y, mean, invstd := make([]float32, n*c*s), make([]float32, n*g), make([]float32, n*g)
				kernels.GroupNormForward(x, gamma, beta, n, c, s, g, eps, y, mean, invstd)
				gx, gdy, gg, gb := put(t, d, x, off), put(t, d, dy, off), put(t, d, gamma, off), put(t, d, beta, off)
				gy, gmean, ginv := zeros(t, d, n*c*s, off), zeros(t, d, n*g, off), zeros(t, d, n*g, off)
				must(t, d.GroupNormForward(gx, gg, gb, n, c, s, g, eps, gy, gmean, ginv))
				check(t, "y", get(t, d, gy), y)
				check(t, "mean", get(t, d, gmean), mean)
				check(t, "invstd", get(t, d, ginv), invstd)

				dx, dgamma, dbeta := make([]float32, n*c*s), make([]float32, c), make([]float32, c)
				kernels.GroupNormBackward(x, dy, gamma, mean, invstd, n, c, s, g, dx, dgamma, dbeta)
				gmeanRef, ginvRef := put(t, d, mean, off), put(t, d, invstd, off)
				gdx, gdg, gdb := zeros(t, d, n*c*s, off), zeros(t, d, c, off), zeros(t, d, c, off)
				must(t, d.GroupNormBackward(gx, gdy, gg, gmeanRef, ginvRef, n, c, s, g, gdx, gdg, gdb))
				check(t, "dx", get(t, d, gdx), dx)
				check(t, "dgamma", get(t, d, gdg), dgamma)
				check(t, "dbeta", get(t, d, gdb), dbeta)
			})
		}
	}
	if err := d.GroupNormForward(Buffer{}, Buffer{}, Buffer{}, 2, 6, 1, 4, eps, Buffer{}, Buffer{}, Buffer{}); err == nil {
		t.Error("4 groups of 6 channels accepted")
	}
}

// TestRMSNorm: rows off-centre (so that a missing or extra mean shows),
// short to longer than 256 threads × a few; tolerance tol.
func TestRMSNorm(t *testing.T) {
	d := dev(t)
	rng := rand.New(rand.NewPCG(17, 6))
	const eps = 1e-5
	for _, sh := range []struct{ n, d int }{{1, 1}, {3, 100}, {128, 256}, {64, 1024}, {5, 3000}, {2, 12544}} {
		for _, off := range []int{0, 1} {
			t.Run(fmt.Sprintf("%dx%d/offset%d", sh.n, sh.d, off), func(t *testing.T) {
				n, dim := sh.n, sh.d
				x, dy := rowData(rng, n, dim), randSlice(rng, n*dim, -1, 1)
				gamma := randSlice(rng, dim, 0.5, 1.5)

				y, invrms := make([]float32, n*dim), make([]float32, n)
				kernels.RMSNormForward(x, gamma, n, dim, eps, y, invrms)
				gx, gdy, gg := put(t, d, x, off), put(t, d, dy, off), put(t, d, gamma, off)
				gy, ginv := zeros(t, d, n*dim, off), zeros(t, d, n, off)
				must(t, d.RMSNormForward(gx, gg, n, dim, eps, gy, ginv))
				check(t, "y", get(t, d, gy), y)
				check(t, "invrms", get(t, d, ginv), invrms)

				dx, dgamma := make([]float32, n*dim), make([]float32, dim)
				kernels.RMSNormBackward(x, dy, gamma, invrms, n, dim, dx, dgamma)
				ginvRef := put(t, d, invrms, off)
				gdx, gdg := zeros(t, d, n*dim, off), zeros(t, d, dim, off)
				must(t, d.RMSNormBackward(gx, gdy, gg, ginvRef, n, dim, gdx, gdg))
				check(t, "dx", get(t, d, gdx), dx)
				check(t, "dgamma", get(t, d, gdg), dgamma)
			})
		}
	}
}

// --- softmax cross-entropy -------------------------------------------------------------

func TestSoftmaxCrossEntropy(t *testing.T) {
	d := dev(t)
	rng := rand.New(rand.NewPCG(7, 7))
	for _, sh := range []struct{ n, k int }{{1, 2}, {128, 10}, {1000, 10}, {37, 100}, {5, 1000}, {3000, 1}} {
		t.Run(fmt.Sprintf("%dx%d", sh.n, sh.k), func(t *testing.T) {
			n, k := sh.n, sh.k
			logits := randSlice(rng, n*k, -5, 5)
			labels := make([]float32, n)
			for i := range labels {
				labels[i] = float32(rng.IntN(k))
			}
			probs := make([]float32, n*k)
			loss := kernels.SoftmaxCrossEntropyForward(logits, labels, n, k, probs)

			gl, glab := put(t, d, logits, 0), put(t, d, labels, 0)
			gp, gloss := zeros(t, d, n*k, 0), zeros(t, d, 1, 0)
			must(t, d.SoftmaxCrossEntropyForward(gl, glab, n, k, gp, gloss, Buffer{}))
			check(t, "probs", get(t, d, gp), probs)
			check(t, "loss", get(t, d, gloss), []float32{loss})

			for _, g := range []float32{1, 0.5} {
				dl := make([]float32, n*k)
				kernels.SoftmaxCrossEntropyBackward(probs, labels, n, k, g, dl)
				gdl := zeros(t, d, n*k, 0)
				must(t, d.SoftmaxCrossEntropyBackward(gp, glab, n, k, g, gdl))
				check(t, fmt.Sprintf("dlogits g=%g", g), get(t, d, gdl), dl)
			}

			// Metrics accumulate over calls: two calls give twice the sums.
			var correct int
			for i := range n {
				arg := 0
				for j := 1; j < k; j++ {
					if logits[i*k+j] > logits[i*k+arg] {
						arg = j
					}
				}
				if arg == int(labels[i]) {
					correct++
				}
			}
			sums := zeros(t, d, 2, 0)
			must(t, d.Zero(sums))
			must(t, d.SoftmaxCrossEntropyMetrics(gl, glab, n, k, sums))
			must(t, d.SoftmaxCrossEntropyMetrics(gl, glab, n, k, sums))
			got := get(t, d, sums)
			check(t, "Σloss", got[:1], []float32{2 * loss * float32(n)})
			if got[1] != float32(2*correct) {
				t.Errorf("correct: got %g, want %d", got[1], 2*correct)
			}
			// the forward pass accumulates the same sums when given them
			must(t, d.SoftmaxCrossEntropyForward(gl, glab, n, k, gp, gloss, sums))
			got = get(t, d, sums)
			check(t, "Σloss after forward", got[:1], []float32{3 * loss * float32(n)})
			check(t, "loss with sums", get(t, d, gloss), []float32{loss})
			if got[1] != float32(3*correct) {
				t.Errorf("correct after forward: got %g, want %d", got[1], 3*correct)
			}
		})
	}
	t.Run("ties", func(t *testing.T) {
		// Rows with equal maxima: the first is the prediction, in any lane.
		const n, k = 4, 40
		logits := make([]float32, n*k)
		logits[0*k+3], logits[0*k+7] = 2, 2   // label 3: correct
		logits[1*k+5], logits[1*k+37] = 1, 1  // label 5: correct (both in lane 5)
		logits[2*k+33], logits[2*k+34] = 3, 3 // label 33: correct (both in lane 1 and 2)
		// row 3 all zero, label 0: correct
		labels := []float32{3, 5, 33, 0}
		sums := zeros(t, d, 2, 0)
		must(t, d.Zero(sums))
		must(t, d.SoftmaxCrossEntropyMetrics(put(t, d, logits, 0), put(t, d, labels, 0), n, k, sums))
		if got := get(t, d, sums)[1]; got != 4 {
			t.Errorf("correct with ties: %g, want 4 (first argmax)", got)
		}
	})
	t.Run("bad label", func(t *testing.T) {
		gl, glab := put(t, d, []float32{1, 2, 3, 4}, 0), put(t, d, []float32{1, 2}, 0) // 2 is out of [0, 2)
		gp, gloss := zeros(t, d, 4, 0), zeros(t, d, 1, 0)
		must(t, d.SoftmaxCrossEntropyForward(gl, glab, 2, 2, gp, gloss, Buffer{}))
		if v := get(t, d, gloss)[0]; !math.IsNaN(float64(v)) {
			t.Errorf("loss with label 2 of 2 classes: %g, want NaN", v)
		}
	})
}

// --- optimizers ---------------------------------------------------------------------------

// TestOptimizers checks the GPU optimizer kernels against kernels.SGDUpdate,
// kernels.MomentumUpdate and kernels.AdamUpdate over three steps.
func TestOptimizers(t *testing.T) {
	d := dev(t)
	rng := rand.New(rand.NewPCG(8, 8))
	for _, n := range []int{1, 6, 1027, 784 * 1024} {
		for _, off := range []int{0, 1} {
			t.Run(fmt.Sprintf("n=%d/offset%d", n, off), func(t *testing.T) {
				w := randSlice(rng, n, -1, 1)
				ws, wm, wa := append([]float32(nil), w...), append([]float32(nil), w...), append([]float32(nil), w...)
				v, m, va := make([]float32, n), make([]float32, n), make([]float32, n)
				gws, gwm, gwa := put(t, d, w, off), put(t, d, w, off), put(t, d, w, off)
				gv, gm, gva := put(t, d, v, off), put(t, d, m, off), put(t, d, va, off)
				for step := int64(1); step <= 3; step++ {
					g := randSlice(rng, n, -1, 1)
					gg := put(t, d, g, off)
					kernels.SGDUpdate(ws, g, 0.1)
					kernels.MomentumUpdate(wm, g, v, 0.1, 0.9)
					kernels.AdamUpdate(wa, g, m, va, 1e-3, 0.9, 0.999, 1e-8, step)
					must(t, d.SGDUpdate(gws, gg, 0.1))
					must(t, d.MomentumUpdate(gwm, gg, gv, 0.1, 0.9))
					must(t, d.AdamUpdate(gwa, gg, gm, gva, 1e-3, 0.9, 0.999, 1e-8, step))
				}
				check(t, "sgd w", get(t, d, gws), ws)
				check(t, "momentum w", get(t, d, gwm), wm)
				check(t, "momentum v", get(t, d, gv), v)
				check(t, "adam w", get(t, d, gwa), wa)
				check(t, "adam m", get(t, d, gm), m)
				check(t, "adam v", get(t, d, gva), va)
			})
		}
	}
}

// --- benchmarks -------------------------------------------------------------------------------

// BenchmarkNorm times each norm kernel and reports its GB/s (NormBytes per
// iteration), next to the GB/s of a device-to-device copy of the same
// n×d floats measured in the same run.
func BenchmarkNorm(b *testing.B) {
	d := dev(b)
	for _, sh := range []struct{ n, d int }{{128, 1024}, {1024, 4096}, {16384, 1024}} {
		copyGBs, err := d.MemcpyBandwidth(sh.n*sh.d, 20)
		if err != nil {
			b.Fatal(err)
		}
		for _, k := range NormKernels {
			b.Run(fmt.Sprintf("%v/%dx%d", k, sh.n, sh.d), func(b *testing.B) {
				r, err := d.NormBandwidth(k, sh.n, sh.d, b.N)
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(r.GBPerSec, "GB/s")
				b.ReportMetric(copyGBs, "copy-GB/s")
				b.ReportMetric(100*r.GBPerSec/copyGBs, "%copy")
			})
		}
	}
}

func BenchmarkMemcpy(b *testing.B) {
	d := dev(b)
	for _, n := range []int{1 << 20, 16384 * 1024} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			gbs, err := d.MemcpyBandwidth(n, b.N)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(gbs, "GB/s")
		})
	}
}

// BenchmarkGemm reports GFLOP/s (2·m·n·k per call) for Linear's three
// products at the MLP's shapes.
func BenchmarkGemm(b *testing.B) {
	d := dev(b)
	for _, sh := range []struct {
		name    string
		ta, tb  bool
		m, n, k int
	}{
		{"fwd/128x1024x784", false, false, 128, 1024, 784},
		{"dW/784x1024x128", true, false, 784, 1024, 128},
		{"dx/128x784x1024", false, true, 128, 784, 1024},
		{"fwd/1024x4096x4096", false, false, 1024, 4096, 4096},
		{"dW/4096x4096x1024", true, false, 4096, 4096, 1024},
		{"dx/1024x4096x4096", false, true, 1024, 4096, 4096},
	} {
		b.Run(sh.name, func(b *testing.B) {
			ar, ac, br, bc := sh.m, sh.k, sh.k, sh.n
			if sh.ta {
				ar, ac = sh.k, sh.m
			}
			if sh.tb {
				br, bc = sh.n, sh.k
			}
			rng := rand.New(rand.NewPCG(9, 9))
			a, bb := put(b, d, randSlice(rng, ar*ac, -1, 1), 0), put(b, d, randSlice(rng, br*bc, -1, 1), 0)
			c := zeros(b, d, sh.m*sh.n, 0)
			per, err := d.Time(b.N, func() error {
				return d.Gemm(sh.ta, sh.tb, sh.m, sh.n, sh.k, 1, a, ac, bb, bc, 0, c, sh.n)
			})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(2*float64(sh.m)*float64(sh.n)*float64(sh.k)/per.Seconds()/1e9, "GFLOP/s")
		})
	}
}

// TestGatherColumns: the tap copy keeps exactly the asked-for columns of
// the first rows rows, in the asked-for order.
func TestGatherColumns(t *testing.T) {
	d := dev(t)
	rng := rand.New(rand.NewPCG(9, 9))
	for _, c := range []struct {
		rows, width int
		cols        []int
	}{{1, 1, []int{0}}, {7, 13, []int{12, 0, 5}}, {1000, 1024, []int{0}}, {300, 64, []int{3, 3, 63, 1}}} {
		src := randSlice(rng, (c.rows+2)*c.width, -1, 1)
		gs := put(t, d, src, 0)
		fc := make([]float32, len(c.cols))
		for j, k := range c.cols {
			fc[j] = float32(k)
		}
		gc := put(t, d, fc, 0)
		dst := zeros(t, d, c.rows*len(c.cols), 0)
		must(t, d.GatherColumns(dst, gs, gc, c.rows, c.width))
		want := make([]float32, 0, c.rows*len(c.cols))
		for r := 0; r < c.rows; r++ {
			for _, k := range c.cols {
				want = append(want, src[r*c.width+k])
			}
		}
		check(t, fmt.Sprintf("GatherColumns %dx%d %v", c.rows, c.width, c.cols), get(t, d, dst), want)
	}
}

// TestConvKernels checks the channel bias and its gradient against plain
// loops on random non-zero inputs (im2col and col2im are checked batched,
// against kernels.Im2Col3x3 and kernels.Col2Im3x3 per image, below).
func TestConvKernels(t *testing.T) {
	d := dev(t)
	rng := rand.New(rand.NewPCG(21, 22))
	n, c, s := 5, 7, 33
	y := randSlice(rng, n*c*s, -1, 1)
	b := randSlice(rng, c, -1, 1)
	want := append([]float32(nil), y...)
	sums := make([]float32, c)
	for i := range want {
		want[i] += b[(i/s)%c]
		sums[(i/s)%c] += y[i]
	}
	gy := put(t, d, y, 0)
	gs := zeros(t, d, c, 0)
	must(t, d.ChannelSum(gs, gy, n, c, s))
	check(t, "ChannelSum", get(t, d, gs), sums)
	must(t, d.ChannelBiasAdd(gy, put(t, d, b, 0), n, c, s))
	check(t, "ChannelBiasAdd", get(t, d, gy), want)
}

// TestMaxPool2 checks the max-pool and its backward pass against the CPU
// rule (first maximum of each 2×2 window in row-major order), odd edges
// dropped.
func TestMaxPool2(t *testing.T) {
	d := dev(t)
	rng := rand.New(rand.NewPCG(23, 24))
	for _, sh := range [][3]int{{6, 28, 28}, {4, 7, 9}} {
		planes, h, w := sh[0], sh[1], sh[2]
		oh, ow := h/2, w/2
		x := randSlice(rng, planes*h*w, -1, 1)
		y := make([]float32, planes*oh*ow)
		arg := make([]int, len(y))
		for p := 0; p < planes; p++ {
			for oy := 0; oy < oh; oy++ {
				for ox := 0; ox < ow; ox++ {
					i0 := p*h*w + 2*oy*w + 2*ox
					best := i0
					for _, i := range []int{i0 + 1, i0 + w, i0 + w + 1} {
						if x[i] > x[best] {
							best = i
						}
					}
					k := (p*oh+oy)*ow + ox
					y[k], arg[k] = x[best], best
				}
			}
		}
		gy, gidx := zeros(t, d, len(y), 0), zeros(t, d, len(y), 0)
		must(t, d.MaxPool2Forward(put(t, d, x, 0), planes, h, w, gy, gidx))
		check(t, fmt.Sprintf("MaxPool2Forward %v", sh), get(t, d, gy), y)
		dy := randSlice(rng, len(y), -1, 1)
		dx := make([]float32, len(x))
		for k, g := range dy {
			dx[arg[k]] += g
		}
		gdx := zeros(t, d, len(x), 0)
		must(t, d.MaxPool2Backward(put(t, d, dy, 0), gidx, len(y), gdx))
		check(t, fmt.Sprintf("MaxPool2Backward %v", sh), get(t, d, gdx), dx)
	}
}

// TestKernelResources is the preflight of a GPU run: every kernel must be
// able to run with the largest block normtap launches it with on this
// device (registers permitting). It logs each kernel's registers, local
// memory (spills) and limits.
func TestKernelResources(t *testing.T) {
	d := dev(t)
	attrs, err := d.KernelResources()
	for _, a := range attrs {
		t.Logf("%-22s regs %3d  local %4d B  shared %5d B  max threads %4d  launched with ≤ %4d",
			a.Name, a.Registers, a.LocalBytes, a.SharedBytes, a.MaxThreads, a.LaunchThreads)
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(attrs) != int(numKernels) {
		t.Fatalf("%d kernels' attributes, want %d", len(attrs), numKernels)
	}
}

// TestH200Plans runs the GEMM, BatchNorm and LayerNorm plans an H200 (132
// multiprocessors) picks at the check's shapes: split-k for a batch of 128,
// many chunks of BatchNorm partial sums, hundreds of persistent LayerNorm
// blocks. The emulator's own 4 would not pick them.
func TestH200Plans(t *testing.T) {
	d := dev(t)
	sms := d.info.SMs
	d.info.SMs = 132
	defer func() { d.info.SMs = sms }()
	rng := rand.New(rand.NewPCG(12, 12))
	for _, sh := range []struct {
		ta, tb     bool
		m, n, k    int
		wantSplits bool
	}{{false, false, 128, 1024, 784, true}, {true, false, 768, 768, 32, false}, {false, true, 128, 200, 512, true},
		{false, false, 128, 10, 1024, true}, {false, false, 128, 256, 512, true}} {
		tile, splits, _ := d.gemmPlan(sh.m, sh.n, sh.k)
		if sh.wantSplits != (splits > 1) {
			t.Errorf("gemmPlan(%d, %d, %d) on 132 SMs = tile %d, %d splits; want split-k %v", sh.m, sh.n, sh.k, tile, splits, sh.wantSplits)
		}
		t.Run(fmt.Sprintf("gemm/%dx%dx%d/tile%d/split%d", sh.m, sh.n, sh.k, tile, splits), func(t *testing.T) {
			gemmCase(t, d, rng, sh.ta, sh.tb, sh.m, sh.n, sh.k, 1, 0.5)
		})
	}
	for _, sh := range []bnShape{{128, 1024, 1}, {128, 16, 196}, {1000, 10, 1}} {
		pl := d.planBN(sh.n, sh.c, sh.s)
		if pl.chunks < 2 {
			t.Errorf("planBN(%v) on 132 SMs: %d chunk(s), want several", sh, pl.chunks)
		}
		t.Run(fmt.Sprintf("bn/%dx%dx%d/chunks%d", sh.n, sh.c, sh.s, pl.chunks), func(t *testing.T) {
			bnCase(t, d, rng, sh, 0)
		})
	}
	for _, sh := range []struct{ n, d int }{{128, 1024}, {5000, 64}, {3000, 256}} {
		t.Run(fmt.Sprintf("ln/%dx%d", sh.n, sh.d), func(t *testing.T) {
			lnCase(t, d, rng, sh.n, sh.d, 0)
		})
	}
}

// TestConv3x3Batched checks the batched convolution, forward and both
// gradients, against the CPU's per-example im2col + GEMM (kernels package),
// and that its launches do not depend on the batch size.
func TestConv3x3Batched(t *testing.T) {
	d := dev(t)
	rng := rand.New(rand.NewPCG(31, 32))
	launches := map[int]int64{}
	for _, sh := range []struct{ n, c, h, w, k int }{{1, 1, 28, 28, 4}, {3, 2, 5, 7, 3}, {5, 4, 14, 14, 8}, {2, 3, 1, 1, 2}, {8, 4, 14, 14, 8}} {
		n, c, h, w, k := sh.n, sh.c, sh.h, sh.w, sh.k
		hw, ck := h*w, c*9
		t.Run(fmt.Sprintf("%dx%dx%dx%d->%d", n, c, h, w, k), func(t *testing.T) {
			x := randSlice(rng, n*c*hw, -1, 1)
			wt := randSlice(rng, k*ck, -1, 1)
			bias := randSlice(rng, k, -1, 1)
			dy := randSlice(rng, n*k*hw, -1, 1)
			// CPU: per example, as layers.Conv2dOp and its gradient ops
			y := make([]float32, n*k*hw)
			dx := make([]float32, n*c*hw)
			dw := make([]float32, k*ck)
			col, dcol := make([]float32, ck*hw), make([]float32, ck*hw)
			for i := range n {
				kernels.Im2Col3x3(x[i*c*hw:(i+1)*c*hw], c, h, w, col)
				yi := y[i*k*hw : (i+1)*k*hw]
				for j := range yi {
					yi[j] = bias[j/hw]
				}
				kernels.Gemm(false, false, k, hw, ck, 1, wt, ck, col, hw, 1, yi, hw)
				kernels.Gemm(false, true, k, ck, hw, 1, dy[i*k*hw:(i+1)*k*hw], hw, col, hw, 1, dw, ck)
				kernels.Gemm(true, false, ck, hw, k, 1, wt, ck, dy[i*k*hw:(i+1)*k*hw], hw, 0, dcol, hw)
				kernels.Col2Im3x3(dcol, c, h, w, dx[i*c*hw:(i+1)*c*hw])
			}
			ncols, nswap := Conv3x3Sizes(n, c, h, w, k)
			gx, gw, gb, gdy := put(t, d, x, 0), put(t, d, wt, 0), put(t, d, bias, 0), put(t, d, dy, 0)
			cols, tmp, gy := zeros(t, d, ncols, 0), zeros(t, d, nswap, 0), zeros(t, d, nswap, 0)
			dcols, gdx, gdw := zeros(t, d, ncols, 0), zeros(t, d, n*c*hw, 0), zeros(t, d, k*ck, 0)
			before := d.Launches()
			must(t, d.Conv3x3Forward(gx, gw, gb, n, c, h, w, k, cols, tmp, gy))
			must(t, d.Conv3x3BackwardData(gdy, gw, n, c, h, w, k, tmp, dcols, gdx))
			must(t, d.Conv3x3BackwardFilter(gdy, cols, n, c, h, w, k, tmp, gdw))
			launches[n] = d.Launches() - before
			check(t, "y", get(t, d, gy), y)
			check(t, "dx", get(t, d, gdx), dx)
			check(t, "dw", get(t, d, gdw), dw)
		})
	}
	// the same shape at batch 5 and 8: the same launches (GEMM plans aside,
	// which depend on N·H·W; here both take one tile plan)
	if launches[5] != launches[8] {
		t.Errorf("launches per conv step: %d at batch 5, %d at batch 8; want equal", launches[5], launches[8])
	}
	t.Logf("launches for forward + both gradients: %v (by batch size)", launches)
}

// TestTimeFlushesL2: Time writes twice the L2 size between runs, so that
// the timed kernels read device memory, not the previous run's cache.
func TestTimeFlushesL2(t *testing.T) {
	d := dev(t)
	x := put(t, d, []float32{1, 2, 3, 4}, 0)
	runs := 0
	if _, err := d.Time(3, func() error { runs++; return d.Fill(x, float32(runs)) }); err != nil {
		t.Fatal(err)
	}
	if runs != 4 {
		t.Errorf("launch ran %d times, want 4 (a warm-up and 3 timed)", runs)
	}
	if got, want := d.flush.Len()*4, 2*d.info.L2Bytes; got < want {
		t.Fatalf("flush buffer %d bytes, want ≥ %d (2 × L2)", got, want)
	}
	for i, v := range get(t, d, d.flush) {
		if v != 0 {
			t.Fatalf("flush buffer [%d] = %g: not written", i, v)
		}
	}
}

// TestCapture: work captured into a graph does not run while captured, and
// runs once per replay.
func TestCapture(t *testing.T) {
	d := dev(t)
	x := put(t, d, []float32{1, 2, 3, 4, 5}, 0)
	y := put(t, d, []float32{10, 20, 30, 40, 50}, 0)
	tmp := zeros(t, d, 5, 0)
	g, err := d.Capture(func() error {
		if err := d.Fill(tmp, 2); err != nil {
			return err
		}
		if err := d.Add(tmp, tmp, x); err != nil { // tmp = x + 2
			return err
		}
		return d.Add(y, y, tmp) // y += x + 2
	})
	must(t, err)
	defer g.Close()
	check(t, "y after capture", get(t, d, y), []float32{10, 20, 30, 40, 50})
	for range 3 {
		must(t, g.Launch())
	}
	check(t, "y after 3 replays", get(t, d, y), []float32{19, 32, 45, 58, 71})
	// host copies cannot be captured
	if _, err := d.Capture(func() error { return d.Upload(x, []float32{1, 1, 1, 1, 1}) }); err == nil {
		t.Error("an upload from pageable memory was captured without error")
	}
	check(t, "x after the refused capture", get(t, d, x), []float32{1, 2, 3, 4, 5})
}

// TestGemmBias: the bias added in the GEMM's epilogue, with and without
// split-k, against the CPU's GEMM then bias (relErr ≤ 1e-4).
func TestGemmBias(t *testing.T) {
	d := dev(t)
	rng := rand.New(rand.NewPCG(41, 42))
	for _, plan := range []struct{ tile, splits int }{{0, 0}, {128, 1}, {64, 3}, {32, 5}} {
		for _, sh := range []struct{ m, n, k int }{{7, 13, 5}, {128, 100, 200}, {33, 10, 300}} {
			for _, beta := range []float32{0, 0.5} {
				t.Run(fmt.Sprintf("tile%d/split%d/%dx%dx%d/beta=%g", plan.tile, plan.splits, sh.m, sh.n, sh.k, beta), func(t *testing.T) {
					d.gemmTileFixed, d.gemmSplitFixed = plan.tile, plan.splits
					defer func() { d.gemmTileFixed, d.gemmSplitFixed = 0, 0 }()
					m, n, k := sh.m, sh.n, sh.k
					a, b := randSlice(rng, m*k, -1, 1), randSlice(rng, k*n, -1, 1)
					c0, bias := randSlice(rng, m*n, -1, 1), randSlice(rng, n, -1, 1)
					want := append([]float32(nil), c0...)
					kernels.Gemm(false, false, m, n, k, 1.5, a, k, b, n, beta, want, n)
					for i := range want {
						want[i] += bias[i%n]
					}
					gc := put(t, d, c0, 0)
					must(t, d.GemmBias(false, false, m, n, k, 1.5, put(t, d, a, 0), k, put(t, d, b, 0), n, beta, gc, n, put(t, d, bias, 0)))
					check(t, "C", get(t, d, gc), want)
				})
			}
		}
	}
}

// TestAdamOnDevice: Adam with its step counter and bias corrections in
// device memory gives the CPU's AdamUpdate (steps 1 to 5, from step 0 and
// resumed from step 1000), and AdamStepOnDevice counts the steps.
func TestAdamOnDevice(t *testing.T) {
	d := dev(t)
	rng := rand.New(rand.NewPCG(51, 52))
	for _, start := range []int64{0, 1000} {
		for _, n := range []int{1, 37, 1024} {
			w, m, v := randSlice(rng, n, -1, 1), randSlice(rng, n, -0.1, 0.1), randSlice(rng, n, 0, 0.01)
			gw, gm, gv := put(t, d, w, 0), put(t, d, m, 0), put(t, d, v, 0)
			sc := put(t, d, []float32{float32(start), 0, 0}, 0)
			for step := start + 1; step <= start+5; step++ {
				g := randSlice(rng, n, -1, 1)
				kernels.AdamUpdate(w, g, m, v, 1e-3, 0.9, 0.999, 1e-8, step)
				must(t, d.AdamStepOnDevice(sc, 1e-3, 0.9, 0.999))
				must(t, d.AdamUpdateOnDevice(gw, put(t, d, g, 0), gm, gv, sc, 0.9, 0.999, 1e-8))
			}
			name := fmt.Sprintf("start %d, n %d", start, n)
			check(t, name+" w", get(t, d, gw), w)
			check(t, name+" m", get(t, d, gm), m)
			check(t, name+" v", get(t, d, gv), v)
			if got := get(t, d, sc)[0]; got != float32(start+5) {
				t.Errorf("%s: step counter %g, want %d", name, got, start+5)
			}
		}
	}
}

// TestUploadPinned: a copy from page-locked memory lands whole, and can be
// captured into a graph (unlike one from Go memory).
func TestUploadPinned(t *testing.T) {
	d := dev(t)
	p, err := d.AllocPinned(6)
	must(t, err)
	defer p.Free()
	copy(p.Floats(), []float32{1, 2, 3, 4, 5, 6})
	dst := zeros(t, d, 6, 0)
	must(t, d.UploadPinned(dst, p))
	check(t, "uploaded", get(t, d, dst), []float32{1, 2, 3, 4, 5, 6})
	if err := d.UploadPinned(zeros(t, d, 7, 0), p); err == nil {
		t.Error("7 floats uploaded from 6 of pinned memory without error")
	}
}
