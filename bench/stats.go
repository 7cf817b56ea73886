package bench

import (
	"math"

	"normtap/plots"
)

// percentile is the p-th percentile (0–100) of values with linear
// interpolation between closest ranks (numpy's default, as peer.py uses):
// plots.Percentiles, NaN for no values.
func percentile(values []float64, p float64) float64 {
	q, err := plots.Percentiles(values, []float64{p})
	if err != nil {
		return math.NaN()
	}
	return q[0]
}

func median(values []float64) float64 { return percentile(values, 50) }
