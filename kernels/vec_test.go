package kernels

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestVecMatchesGo checks each element-wise loop as the kernels call it (the
// AVX2 version with its Go tail on amd64) against its portable Go version on
// random, non-zero inputs of every length up to 70 and a few long rows.
// Tolerance: 1e-6 relative to the largest magnitude (the loops differ only
// in summation order and FMA rounding); ReLU must match exactly.
func TestVecMatchesGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	f32 := func(n int, lo, hi float64) []float32 { return uniformIn(rng, n, lo, hi) }
	f64 := func(n int) []float64 {
		v := make([]float64, n)
		for i := range v {
			v[i] = rng.NormFloat64()
		}
		return v
	}
	lengths := []int{}
	for n := 0; n <= 70; n++ {
		lengths = append(lengths, n)
	}
	lengths = append(lengths, 1024, 1031, 4099)
	for _, n := range lengths {
		x, dy := f32(n, -3, 3), f32(n, -2, 2)
		mean, invstd, gamma, beta := f32(n, -1, 1), f32(n, 0.5, 2), f32(n, 0.5, 1.5), f32(n, -1, 1)
		sum, sumsq := f64(n), f64(n)

		d1, d2 := slices.Clone(dy), slices.Clone(dy)
		AddTo(d1, x)
		addToGo(d2, x)
		near32(t, "AddTo", n, d1, d2)

		s1, q1 := rowSumSq(x)
		s2, q2 := rowSumSqGo(x)
		near64(t, "rowSumSq", n, []float64{s1, q1}, []float64{s2, q2})

		a1, b1, a2, b2 := slices.Clone(sum), slices.Clone(sumsq), slices.Clone(sum), slices.Clone(sumsq)
		bnAccum(a1, b1, x)
		bnAccumGo(a2, b2, x)
		near64(t, "bnAccum", n, append(a1, b1...), append(a2, b2...))

		stride := n + 5
		rows := f32(3*stride+n, -3, 3)
		a1, b1, a2, b2 = slices.Clone(sum), slices.Clone(sumsq), slices.Clone(sum), slices.Clone(sumsq)
		bnAccum4(a1, b1, rows, stride, n)
		for r := range 4 {
			bnAccumGo(a2, b2, rows[r*stride:r*stride+n])
		}
		near64(t, "bnAccum4", n, append(a1, b1...), append(a2, b2...))
		drows := f32(3*stride+n, -2, 2)
		a1, b1, a2, b2 = slices.Clone(sum), slices.Clone(sumsq), slices.Clone(sum), slices.Clone(sumsq)
		bnBackAccum4(a1, b1, drows, rows, stride, mean, invstd, n)
		for r := range 4 {
			bnBackAccumGo(a2, b2, drows[r*stride:r*stride+n], rows[r*stride:r*stride+n], mean, invstd)
		}
		near64(t, "bnBackAccum4", n, append(a1, b1...), append(a2, b2...))

		y1, y2 := make([]float32, n), make([]float32, n)
		bnApply(y1, x, mean, invstd, gamma, beta, n%2 == 0)
		bnApplyGo(y2, x, mean, invstd, gamma, beta)
		near32(t, "bnApply", n, y1, y2)

		a1, b1, a2, b2 = slices.Clone(sum), slices.Clone(sumsq), slices.Clone(sum), slices.Clone(sumsq)
		bnBackAccum(a1, b1, dy, x, mean, invstd)
		bnBackAccumGo(a2, b2, dy, x, mean, invstd)
		near64(t, "bnBackAccum", n, append(a1, b1...), append(a2, b2...))

		bnBackDx(y1, dy, x, mean, invstd, gamma, sum, sumsq, 1.0/128, n%2 == 0)
		bnBackDxGo(y2, dy, x, mean, invstd, gamma, sum, sumsq, 1.0/128)
		near32(t, "bnBackDx", n, y1, y2)

		lnApply(y1, x, gamma, beta, 0.3, 1.7, n%2 == 0)
		lnApplyGo(y2, x, gamma, beta, 0.3, 1.7)
		near32(t, "lnApply", n, y1, y2)

		g1, e1, g2, e2 := slices.Clone(mean), slices.Clone(beta), slices.Clone(mean), slices.Clone(beta)
		sg1, sgx1 := lnBackAccum(g1, e1, dy, x, gamma, 0.3, 1.7)
		sg2, sgx2 := lnBackAccumGo(g2, e2, dy, x, gamma, 0.3, 1.7)
		near32(t, "lnBackAccum dγ dβ", n, append(g1, e1...), append(g2, e2...))
		near64(t, "lnBackAccum sums", n, []float64{sg1, sgx1}, []float64{sg2, sgx2})

		lnBackDx(y1, dy, x, gamma, 0.3, 1.7, 0.2, -0.4, n%2 == 0)
		lnBackDxGo(y2, dy, x, gamma, 0.3, 1.7, 0.2, -0.4)
		near32(t, "lnBackDx", n, y1, y2)

		rmsApply(y1, x, gamma, 0.7, n%2 == 0)
		rmsApplyGo(y2, x, gamma, 0.7)
		near32(t, "rmsApply", n, y1, y2)

		g1, g2 = slices.Clone(mean), slices.Clone(mean)
		q1s := rmsBackAccum(g1, dy, x, gamma, 0.7)
		q2s := rmsBackAccumGo(g2, dy, x, gamma, 0.7)
		near32(t, "rmsBackAccum dγ", n, g1, g2)
		near64(t, "rmsBackAccum sum", n, []float64{q1s}, []float64{q2s})

		rmsBackDx(y1, dy, x, gamma, 0.7, -0.3, n%2 == 0)
		rmsBackDxGo(y2, dy, x, gamma, 0.7, -0.3)
		near32(t, "rmsBackDx", n, y1, y2)

		scaleShift(y1, x, 1.3, -0.4, n%2 == 0)
		scaleShiftGo(y2, x, 1.3, -0.4)
		near32(t, "scaleShift", n, y1, y2)

		c1, d1s := chanBackSums(dy, x, 0.3, 1.7)
		c2, d2s := chanBackSumsGo(dy, x, 0.3, 1.7)
		near64(t, "chanBackSums", n, []float64{c1, d1s}, []float64{c2, d2s})

		chanBackDx(y1, dy, x, 0.3, 1.7, 0.9, 0.2, -0.4, n%2 == 0)
		chanBackDxGo(y2, dy, x, 0.3, 1.7, 0.9, 0.2, -0.4)
		near32(t, "chanBackDx", n, y1, y2)

		xs := slices.Clone(x)
		if n > 3 {
			xs[1], xs[2], xs[3] = float32(math.NaN()), float32(math.Copysign(0, -1)), 0
		}
		reluForward(y1, xs)
		reluForwardGo(y2, xs)
		same32(t, "reluForward", n, y1, y2)
		reluBackward(y1, xs, dy)
		reluBackwardGo(y2, xs, dy)
		same32(t, "reluBackward", n, y1, y2)
	}
}

// TestGroupRowsMatchGo checks the GroupNorm row routines, which loop over
// a row's groups themselves (AVX2 over each group's multiple of 8 and
// scalar over the rest on amd64), against their Go versions: group lengths
// 1 to 20 and around 32 and 64, 1 to 5 and 9 groups (gnStats finishes
// groups four at a time), random non-zero inputs;
// the row offset by one float so the groups start unaligned too.
// Tolerance as TestVecMatchesGo's (1e-6 relative to the largest
// magnitude: FMA rounding and the order of the float64 sums).
func TestGroupRowsMatchGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	f32 := func(n int, lo, hi float64) []float32 { return uniformIn(rng, n, lo, hi) }
	sizes := []int{}
	for cg := 1; cg <= 20; cg++ {
		sizes = append(sizes, cg)
	}
	sizes = append(sizes, 31, 32, 33, 63, 64, 67)
	for _, cg := range sizes {
		for _, groups := range []int{1, 2, 3, 4, 5, 9} {
			n := cg * groups
			id := 1000*cg + groups
			x := f32(n+1, -3, 3)[1:] // off the allocation's alignment
			for g := range groups {  // each group its own mean
				for j := range cg {
					x[g*cg+j] += float32(g) - 2
				}
			}
			dy, gamma, beta := f32(n, -2, 2), f32(n, 0.5, 1.5), f32(n, -1, 1)

			m1, i1, m2, i2 := make([]float32, groups), make([]float32, groups), make([]float32, groups), make([]float32, groups)
			gnStats(x, m1, i1, cg, 1e-5)
			gnStatsGo(x, m2, i2, cg, 1e-5)
			near32(t, "gnStats mean", id, m1, m2)
			near32(t, "gnStats invstd", id, i1, i2)
			if cg%16 == 0 { // summed as rowSumSq sums a row: bit-identical
				for g := range groups {
					mr, ir := rowMeanInvStd(x[g*cg:(g+1)*cg], 1e-5)
					same32(t, "gnStats vs rowMeanInvStd", id, []float32{m1[g], i1[g]}, []float32{mr, ir})
				}
			}
			// statistics over chunks of 3 groups (a group of S > 1 positions)
			if groups == 3 {
				c1, c2 := make([]float32, 2), make([]float32, 2)
				gnStats(x, c1[:1], c1[1:], n, 1e-5)
				gnStatsGo(x, c2[:1], c2[1:], n, 1e-5)
				near32(t, "gnStats one chunk", id, c1, c2)
			}

			y1, y2 := make([]float32, n), make([]float32, n)
			gnApply(y1, x, gamma, beta, m2, i2, cg, true)
			gnApplyGo(y2, x, gamma, beta, m2, i2, cg)
			near32(t, "gnApply", id, y1, y2)

			dg1, db1 := f32(n, -1, 1), f32(n, -1, 1)
			dg2, db2 := slices.Clone(dg1), slices.Clone(db1)
			gnBack(y1, dg1, db1, dy, x, gamma, m2, i2, cg, 1/float64(cg), true)
			gnBackGo(y2, dg2, db2, dy, x, gamma, m2, i2, cg, 1/float64(cg))
			near32(t, "gnBack dx", id, y1, y2)
			near32(t, "gnBack dγ", id, dg1, dg2)
			near32(t, "gnBack dβ", id, db1, db2)
		}
	}
}

func near32(t *testing.T, what string, n int, got, want []float32) {
	t.Helper()
	scale := 0.0
	for _, v := range want {
		scale = math.Max(scale, math.Abs(float64(v)))
	}
	for i := range want {
		if d := math.Abs(float64(got[i] - want[i])); d > 1e-6*math.Max(scale, 1) {
			t.Fatalf("%s, n=%d: element %d is %g, Go gives %g", what, n, i, got[i], want[i])
		}
	}
}

func near64(t *testing.T, what string, n int, got, want []float64) {
	t.Helper()
	scale := 0.0
	for _, v := range want {
		scale = math.Max(scale, math.Abs(v))
	}
	for i := range want {
		if d := math.Abs(got[i] - want[i]); d > 1e-6*math.Max(scale, 1) {
			t.Fatalf("%s, n=%d: element %d is %g, Go gives %g", what, n, i, got[i], want[i])
		}
	}
}

func same32(t *testing.T, what string, n int, got, want []float32) {
	t.Helper()
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s, n=%d: element %d is %g, Go gives %g", what, n, i, got[i], want[i])
		}
	}
}

// TestNonTemporalStores runs the nt variants on 32-byte-aligned outputs
// (where they really use non-temporal stores) against the Go loops.
func TestNonTemporalStores(t *testing.T) {
	aligned := func(n int) []float32 {
		buf := make([]float32, n+8)
		for i := range 8 {
			if s := buf[i:]; aligned32(s) {
				return s[:n]
			}
		}
		t.Fatal("no 32-byte-aligned start in 8 floats")
		return nil
	}
	rng := rand.New(rand.NewPCG(9, 9))
	n := 1000
	v := func(lo, hi float64) []float32 {
		s := make([]float32, n)
		for i := range s {
			s[i] = float32(lo + (hi-lo)*rng.Float64())
		}
		return s
	}
	x, dy, mean, invstd, gamma, beta := v(-3, 3), v(-2, 2), v(-1, 1), v(0.5, 2), v(0.5, 1.5), v(-1, 1)
	sdy, sdyx := make([]float64, n), make([]float64, n)
	for i := range sdy {
		sdy[i], sdyx[i] = rng.NormFloat64(), rng.NormFloat64()
	}
	y1, y2 := aligned(n), make([]float32, n)
	bnApply(y1, x, mean, invstd, gamma, beta, true)
	bnApplyGo(y2, x, mean, invstd, gamma, beta)
	near32(t, "bnApply nt", n, y1, y2)
	bnBackDx(y1, dy, x, mean, invstd, gamma, sdy, sdyx, 1.0/64, true)
	bnBackDxGo(y2, dy, x, mean, invstd, gamma, sdy, sdyx, 1.0/64)
	near32(t, "bnBackDx nt", n, y1, y2)
	lnApply(y1, x, gamma, beta, 0.1, 1.3, true)
	lnApplyGo(y2, x, gamma, beta, 0.1, 1.3)
	near32(t, "lnApply nt", n, y1, y2)
	lnBackDx(y1, dy, x, gamma, 0.1, 1.3, 0.05, 0.2, true)
	lnBackDxGo(y2, dy, x, gamma, 0.1, 1.3, 0.05, 0.2)
	near32(t, "lnBackDx nt", n, y1, y2)
	rmsApply(y1, x, gamma, 0.8, true)
	rmsApplyGo(y2, x, gamma, 0.8)
	near32(t, "rmsApply nt", n, y1, y2)
	rmsBackDx(y1, dy, x, gamma, 0.8, 0.3, true)
	rmsBackDxGo(y2, dy, x, gamma, 0.8, 0.3)
	near32(t, "rmsBackDx nt", n, y1, y2)
	scaleShift(y1, x, 0.9, 0.1, true)
	scaleShiftGo(y2, x, 0.9, 0.1)
	near32(t, "scaleShift nt", n, y1, y2)
	chanBackDx(y1, dy, x, 0.1, 1.3, 1.1, 0.05, 0.2, true)
	chanBackDxGo(y2, dy, x, 0.1, 1.3, 1.1, 0.05, 0.2)
	near32(t, "chanBackDx nt", n, y1, y2)
	// 125 groups of 8: every group starts 32-byte aligned
	gm, gi := mean[:125], invstd[:125]
	gnApply(y1, x, gamma, beta, gm, gi, 8, true)
	gnApplyGo(y2, x, gamma, beta, gm, gi, 8)
	near32(t, "gnApply nt", n, y1, y2)
	dg1, db1, dg2, db2 := make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
	gnBack(y1, dg1, db1, dy, x, gamma, gm, gi, 8, 1.0/8, true)
	gnBackGo(y2, dg2, db2, dy, x, gamma, gm, gi, 8, 1.0/8)
	near32(t, "gnBack nt", n, y1, y2)
}

// TestMaxPool2RowMatchesGo: the vector max-pool row picks the same maximum
// and index as the Go loop, bit for bit, for every output count 0–70 and
// long rows, on values with many ties (post-ReLU zeros, repeated values),
// negative values and NaNs, where "first maximum, strictly greater wins"
// decides.
func TestMaxPool2RowMatchesGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	value := func() float32 {
		switch rng.IntN(8) {
		case 0, 1:
			return 0 // ReLU's zeros: ties
		case 2:
			return float32(rng.IntN(3)) // more ties
		case 3:
			return float32(math.NaN())
		default:
			return float32(rng.NormFloat64())
		}
	}
	for _, n := range append(seqInts(71), 512, 1031) {
		w := 2*n + rng.IntN(3) // a row may be longer than 2n (odd widths drop a column)
		r0, r1 := make([]float32, w), make([]float32, w)
		for i := range r0 {
			r0[i], r1[i] = value(), value()
		}
		i0 := int32(rng.IntN(1000))
		y1, y2 := make([]float32, n), make([]float32, n)
		a1, a2 := make([]int32, n), make([]int32, n)
		maxPool2Row(r0, r1, y1, a1, i0, int32(w))
		maxPool2RowGo(r0, r1, y2, a2, i0, int32(w))
		for o := range n {
			if math.Float32bits(y1[o]) != math.Float32bits(y2[o]) || a1[o] != a2[o] {
				t.Fatalf("%d outputs, output %d: %v at %d, Go %v at %d", n, o, y1[o], a1[o], y2[o], a2[o])
			}
		}
	}
}

func seqInts(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

// uniformIn is n values drawn uniformly from [lo, hi).
func uniformIn(rng *rand.Rand, n int, lo, hi float64) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(lo + (hi-lo)*rng.Float64())
	}
	return v
}
