package plots

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
)

// SilvermanRule states the bandwidth rule of SilvermanBandwidth for captions.
const SilvermanRule = "Gaussian KDE, Silverman bandwidth 0.9·min(sd, IQR/1.34)·n^(-1/5)"

// kernelReach is how many bandwidths away a sample still counts; the
// Gaussian's mass beyond 8 bandwidths is below 1e-15.
const kernelReach = 8

// SilvermanBandwidth returns Silverman's rule-of-thumb bandwidth for a
// Gaussian kernel, 0.9·min(sd, IQR/1.34)·n^(-1/5), where sd is the sample
// standard deviation. Like R's bw.nrd0 it stays positive on degenerate
// samples: when min(sd, IQR/1.34) is 0 it uses sd, then |x[0]|, then 1
// (so a constant sample gets a bandwidth proportional to its value, or to 1
// at 0, rather than 0 or NaN). It returns NaN for an empty sample.
func SilvermanBandwidth(x []float64) float64 {
	n := len(x)
	if n == 0 {
		return math.NaN()
	}
	_, sd := meanSD(x, 1)
	q, _ := Percentiles(x, []float64{25, 75})
	spread := math.Min(sd, (q[1]-q[0])/1.34)
	for _, fallback := range []float64{sd, math.Abs(x[0]), 1} {
		if spread > 0 {
			break
		}
		spread = fallback
	}
	return 0.9 * spread * math.Pow(float64(n), -0.2)
}

// KDE evaluates at each point of grid the Gaussian kernel density estimate
// of samples with the given bandwidth:
// f(x) = 1/(n·h) Σ φ((x − xᵢ)/h), φ the standard normal density.
// Samples farther than 8 bandwidths from a grid point are skipped.
func KDE(samples, grid []float64, bandwidth float64) ([]float64, error) {
	if len(samples) == 0 {
		return nil, errors.New("kde: no samples")
	}
	if !(bandwidth > 0) || math.IsInf(bandwidth, 0) {
		return nil, fmt.Errorf("kde: bandwidth %v, want a positive number", bandwidth)
	}
	sorted := slices.Clone(samples)
	slices.Sort(sorted)
	if !isFinite(sorted[0]) || !isFinite(sorted[len(sorted)-1]) {
		return nil, errors.New("kde: samples are not all finite")
	}
	norm := 1 / (float64(len(sorted)) * bandwidth * math.Sqrt(2*math.Pi))
	density := make([]float64, len(grid))
	for i, x := range grid {
		lo := sort.SearchFloat64s(sorted, x-kernelReach*bandwidth)
		var sum float64
		for _, s := range sorted[lo:] {
			u := (x - s) / bandwidth
			if u < -kernelReach {
				break
			}
			sum += math.Exp(-0.5 * u * u)
		}
		density[i] = sum * norm
	}
	return density, nil
}

// Grid returns n evenly spaced points from lo to hi inclusive.
func Grid(lo, hi float64, n int) []float64 {
	if n == 1 {
		return []float64{(lo + hi) / 2}
	}
	g := make([]float64, n)
	for i := range g {
		g[i] = lo + (hi-lo)*float64(i)/float64(n-1)
	}
	return g
}

// Percentiles returns the ps-th percentiles (0 ≤ p ≤ 100) of values with
// linear interpolation between order statistics, as numpy.percentile does
// by default: the p-th percentile of n sorted values is at position
// p/100·(n−1). values is not modified.
func Percentiles(values, ps []float64) ([]float64, error) {
	if len(values) == 0 {
		return nil, errors.New("percentiles: no values")
	}
	sorted := slices.Clone(values)
	slices.Sort(sorted)
	out := make([]float64, len(ps))
	last := len(sorted) - 1
	for i, p := range ps {
		if !(p >= 0 && p <= 100) {
			return nil, fmt.Errorf("percentiles: %v is outside [0, 100]", p)
		}
		pos := p / 100 * float64(last)
		lo := int(math.Floor(pos))
		if lo >= last {
			out[i] = sorted[last]
			continue
		}
		frac := pos - float64(lo)
		out[i] = sorted[lo] + frac*(sorted[lo+1]-sorted[lo])
	}
	return out, nil
}

// Wasserstein1 returns the exact Wasserstein-1 (earth mover's) distance
// between the empirical distributions of a and b, which may differ in
// size: ∫|F_a(x) − F_b(x)| dx = ∫₀¹|Q_a(u) − Q_b(u)| du, F the empirical
// CDFs and Q their quantile functions. The CDFs are step functions, so the
// integral is a finite sum over the merged sorted samples.
func Wasserstein1(a, b []float64) (float64, error) {
	if len(a) == 0 || len(b) == 0 {
		return 0, errors.New("wasserstein1: empty sample")
	}
	sa, sb := slices.Clone(a), slices.Clone(b)
	slices.Sort(sa)
	slices.Sort(sb)
	for _, s := range [][]float64{sa, sb} {
		if !isFinite(s[0]) || !isFinite(s[len(s)-1]) { // NaN sorts first
			return 0, errors.New("wasserstein1: samples are not all finite")
		}
	}
	na, nb := float64(len(sa)), float64(len(sb))
	var dist float64
	i, j := 0, 0 // samples of a and b that are ≤ the current point
	x := math.Min(sa[0], sb[0])
	for i < len(sa) || j < len(sb) {
		for i < len(sa) && sa[i] <= x {
			i++
		}
		for j < len(sb) && sb[j] <= x {
			j++
		}
		next := math.Inf(1)
		if i < len(sa) {
			next = sa[i]
		}
		if j < len(sb) {
			next = math.Min(next, sb[j])
		}
		if math.IsInf(next, 1) {
			break
		}
		dist += math.Abs(float64(i)/na-float64(j)/nb) * (next - x)
		x = next
	}
	return dist, nil
}

// MeanStd returns the mean and the population standard deviation (divided
// by n, numpy's default) of x; NaN for an empty x.
func MeanStd(x []float64) (mean, std float64) {
	return meanSD(x, 0)
}

// meanSD returns the mean and the standard deviation with ddof delta
// degrees of freedom (0: population, 1: sample; 0 for a single value).
func meanSD(x []float64, ddof int) (mean, sd float64) {
	n := len(x)
	if n == 0 {
		return math.NaN(), math.NaN()
	}
	for _, v := range x {
		mean += v
	}
	mean /= float64(n)
	if n <= ddof {
		return mean, 0
	}
	var ss float64
	for _, v := range x {
		ss += (v - mean) * (v - mean)
	}
	return mean, math.Sqrt(ss / float64(n-ddof))
}

func isFinite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
