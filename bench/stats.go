package bench

import (
	"math"
	"slices"
)

// percentile is the p-th percentile (0–100) of values with linear
// interpolation between closest ranks (numpy's default, as peer.py uses).
// values need not be sorted; it returns NaN for none.
func percentile(values []float64, p float64) float64 {
	if len(values) == 0 {
		return math.NaN()
	}
	s := slices.Clone(values)
	slices.Sort(s)
	k := float64(len(s)-1) * p / 100
	lo := int(math.Floor(k))
	hi := min(lo+1, len(s)-1)
	return s[lo] + (s[hi]-s[lo])*(k-float64(lo))
}

func median(values []float64) float64 { return percentile(values, 50) }
