package plots

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"normtap/rundir"
)

func normalPDF(x, mu, sigma float64) float64 {
	z := (x - mu) / sigma
	return math.Exp(-0.5*z*z) / (sigma * math.Sqrt(2*math.Pi))
}

// trapezoid integrates y over the evenly spaced grid x.
func trapezoid(x, y []float64) float64 {
	var sum float64
	for i := 1; i < len(x); i++ {
		sum += (x[i] - x[i-1]) * (y[i] + y[i-1]) / 2
	}
	return sum
}

func TestKDEIntegratesToOne(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		name    string
		samples []float64
	}{
		{"normal", sampleN(rng, 500, func() float64 { return rng.NormFloat64() })},
		{"skewed relu", sampleN(rng, 1000, func() float64 { return math.Max(0, rng.NormFloat64()+0.3) })},
		{"bimodal", sampleN(rng, 300, func() float64 { return float64(rng.IntN(2))*6 + rng.NormFloat64() })},
		{"constant", []float64{2.5, 2.5, 2.5, 2.5}},
		{"one value", []float64{-4}},
	} {
		h := SilvermanBandwidth(tc.samples)
		if !(h > 0) || math.IsInf(h, 0) {
			t.Fatalf("%s: bandwidth %v, want a positive number", tc.name, h)
		}
		grid := Grid(slices.Min(tc.samples)-10*h, slices.Max(tc.samples)+10*h, 4001)
		density, err := KDE(tc.samples, grid, h)
		if err != nil {
			t.Fatal(err)
		}
		if integral := trapezoid(grid, density); math.Abs(integral-1) > 1e-3 {
			t.Errorf("%s: ∫KDE = %.6f, want 1 within 1e-3", tc.name, integral)
		}
	}
}

func sampleN(rng *rand.Rand, n int, draw func() float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = draw()
	}
	return out
}

// With n = 20000 from N(2, 0.5²), Silverman's h ≈ 0.05: the estimate's bias
// (it is the true density smoothed by N(0, h²)) is under 0.5% of the peak
// and its standard error under 0.015 at the peak, so 0.03 is a two-sigma
// bound with room.
func TestKDERecoversNormal(t *testing.T) {
	rng := rand.New(rand.NewPCG(20, 5))
	samples := sampleN(rng, 20000, func() float64 { return 2 + 0.5*rng.NormFloat64() })
	points := []float64{1, 1.5, 1.8, 2, 2.2, 2.5, 3}
	got, err := KDE(samples, points, SilvermanBandwidth(samples))
	if err != nil {
		t.Fatal(err)
	}
	const tolerance = 0.03
	for i, x := range points {
		want := normalPDF(x, 2, 0.5)
		if math.Abs(got[i]-want) > tolerance {
			t.Errorf("KDE(%v) = %.4f, want %.4f within %v", x, got[i], want, tolerance)
		}
	}
}

func TestKDERejects(t *testing.T) {
	if _, err := KDE(nil, []float64{0}, 1); err == nil {
		t.Error("no samples: want an error")
	}
	if _, err := KDE([]float64{1}, []float64{0}, 0); err == nil {
		t.Error("zero bandwidth: want an error")
	}
	if _, err := KDE([]float64{1, math.NaN()}, []float64{0}, 1); err == nil {
		t.Error("NaN sample: want an error")
	}
}

func TestSilvermanBandwidth(t *testing.T) {
	x := []float64{10, 1, 2, 3, 4, 5, 6, 7, 8, 9}
	// sd = sqrt(55/6) = 3.0277 < IQR/1.34 = (7.75-3.25)/1.34 = 3.358.
	want := 0.9 * math.Sqrt(55.0/6) * math.Pow(10, -0.2)
	if got := SilvermanBandwidth(x); math.Abs(got-want) > 1e-12 {
		t.Errorf("1..10: %v, want %v", got, want)
	}
	// A heavy tail makes sd large; the IQR term wins.
	y := []float64{0, 1, 2, 3, 4, 5, 6, 7, 8, 1000}
	q := (6.75 - 2.25) / 1.34
	if got, want := SilvermanBandwidth(y), 0.9*q*math.Pow(10, -0.2); math.Abs(got-want) > 1e-12 {
		t.Errorf("heavy tail: %v, want %v", got, want)
	}
	// Mostly zeros (a ReLU): IQR is 0, so sd is used.
	z := []float64{0, 0, 0, 0, 0, 0, 0, 0, 1, 3}
	_, sd := meanSD(z, 1)
	if got, want := SilvermanBandwidth(z), 0.9*sd*math.Pow(10, -0.2); math.Abs(got-want) > 1e-12 {
		t.Errorf("mostly zeros: %v, want %v", got, want)
	}
	// Constant samples: |x| then 1.
	if got, want := SilvermanBandwidth([]float64{3, 3, 3}), 0.9*3*math.Pow(3, -0.2); math.Abs(got-want) > 1e-12 {
		t.Errorf("constant 3: %v, want %v", got, want)
	}
	if got, want := SilvermanBandwidth([]float64{0, 0}), 0.9*math.Pow(2, -0.2); math.Abs(got-want) > 1e-12 {
		t.Errorf("constant 0: %v, want %v", got, want)
	}
}

// percentileBySort is the definition numpy's default ("linear") method
// documents: sort, take the virtual index (n-1)·p/100, interpolate.
func percentileBySort(values []float64, p float64) float64 {
	a := slices.Clone(values)
	slices.Sort(a)
	idx := float64(len(a)-1) * p / 100
	j := int(idx)
	g := idx - float64(j)
	if j+1 >= len(a) {
		return a[len(a)-1]
	}
	return (1-g)*a[j] + g*a[j+1]
}

func TestPercentilesMatchSortReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	ps := []float64{0, 7, 15, 16, 31, 50, 69, 84, 85, 93, 99.9, 100}
	for trial := range 200 {
		n := 1 + rng.IntN(60)
		values := sampleN(rng, n, func() float64 { return rng.NormFloat64() * 3 })
		if trial%3 == 0 { // ties
			for i := range values {
				values[i] = math.Round(values[i])
			}
		}
		orig := slices.Clone(values)
		got, err := Percentiles(values, ps)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(values, orig) {
			t.Fatal("Percentiles modified its input")
		}
		for k, p := range ps {
			if want := percentileBySort(values, p); math.Abs(got[k]-want) > 1e-12 {
				t.Fatalf("n=%d p=%v: %v, want %v", n, p, got[k], want)
			}
		}
	}
	// Values from numpy.percentile.
	for _, tc := range []struct {
		values []float64
		p      float64
		want   float64
	}{
		{[]float64{1, 2, 3, 4}, 15, 1.45},
		{[]float64{3, 1, 2}, 50, 2},
		{[]float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 85, 8.65},
		{[]float64{5}, 93, 5},
	} {
		got, _ := Percentiles(tc.values, []float64{tc.p})
		if math.Abs(got[0]-tc.want) > 1e-12 {
			t.Errorf("percentile(%v, %v) = %v, want %v", tc.values, tc.p, got[0], tc.want)
		}
	}
	if _, err := Percentiles(nil, []float64{50}); err == nil {
		t.Error("no values: want an error")
	}
	if _, err := Percentiles([]float64{1}, []float64{101}); err == nil {
		t.Error("p = 101: want an error")
	}
}

func TestWasserstein1(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	base := sampleN(rng, 777, func() float64 { return rng.ExpFloat64() })
	shifted := make([]float64, len(base))
	for i, v := range base {
		shifted[i] = v + 2.5
	}
	for _, tc := range []struct {
		name      string
		a, b      []float64
		want, tol float64
	}{
		{"shifted copy", base, shifted, 2.5, 1e-9},
		{"itself", base, base, 0, 0},
		{"point masses, sizes 3 and 7", []float64{0, 0, 0}, []float64{5, 5, 5, 5, 5, 5, 5}, 5, 1e-12},
		{"half the mass moves by 1", []float64{0, 1}, []float64{0, 0}, 0.5, 1e-12},
		{"sizes 2 and 3", []float64{0, 1}, []float64{0, 0, 1}, 1.0 / 6, 1e-12},
		{"uniform grid vs its shift by 0.1", []float64{0, 1, 2, 3}, []float64{0.1, 1.1, 2.1, 3.1}, 0.1, 1e-12},
		// Sampling error of W1 between two samples of 20000 is about 0.01.
		{"N(0,1) vs N(1,1)", sampleN(rng, 20000, rng.NormFloat64), sampleN(rng, 20000, func() float64 { return 1 + rng.NormFloat64() }), 1, 0.04},
	} {
		got, err := Wasserstein1(tc.a, tc.b)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(got-tc.want) > tc.tol {
			t.Errorf("%s: W1 = %v, want %v within %v", tc.name, got, tc.want, tc.tol)
		}
		if back, _ := Wasserstein1(tc.b, tc.a); math.Abs(back-got) > 1e-12 {
			t.Errorf("%s: not symmetric: %v vs %v", tc.name, got, back)
		}
	}
	if _, err := Wasserstein1(nil, []float64{1}); err == nil {
		t.Error("empty sample: want an error")
	}
	if _, err := Wasserstein1([]float64{math.NaN()}, []float64{1}); err == nil {
		t.Error("NaN: want an error")
	}
}

func TestMeanStd(t *testing.T) {
	mean, std := MeanStd([]float64{2, 4, 4, 4, 5, 5, 7, 9})
	if mean != 5 || std != 2 {
		t.Errorf("MeanStd = %v, %v; want 5, 2 (population std)", mean, std)
	}
}

// TestUnitOf: a node whose taps are all channel taps is drawn as channels;
// neuron taps, or a mix, as neurons.
func TestUnitOf(t *testing.T) {
	run := func(units ...rundir.TapUnit) *Run {
		ix := &rundir.Index{}
		for _, u := range units {
			ix.Entries = append(ix.Entries, rundir.TapEntry{Node: "c2.norm", Unit: u})
		}
		ix.Entries = append(ix.Entries, rundir.TapEntry{Node: "h1.act"})
		return &Run{Index: ix}
	}
	for _, tc := range []struct {
		runs []*Run
		want string
	}{
		{[]*Run{run(rundir.UnitChannel, rundir.UnitChannel)}, "channel"},
		{[]*Run{run(rundir.UnitChannel), run(rundir.UnitChannel)}, "channel"},
		{[]*Run{run(rundir.UnitChannel), run(0)}, "neuron"},
		{[]*Run{run(0)}, "neuron"},
		{[]*Run{{}}, "neuron"},
	} {
		if got := unitOf(tc.runs, "c2.norm"); got != tc.want {
			t.Errorf("%d runs: %q, want %q", len(tc.runs), got, tc.want)
		}
	}
	if got := unitOf([]*Run{run(rundir.UnitChannel)}, "h1.act"); got != "neuron" {
		t.Errorf("h1.act: %q", got)
	}
}
