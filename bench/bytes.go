package bench

import "fmt"

// NormBytes is the number of bytes a BatchNorm ("batch") or LayerNorm
// ("layer") kernel must move for its pass ("forward" or "backward") over an
// n×d input, each array read or written once, float32:
//
//	forward:  read x, write y                  2·n·d
//	          read γ, β                        2·d
//	          write statistics: batch mean, variance, 1/σ (3·d); layer mean, 1/σ (2·n)
//	backward: read x, dy, write dx             3·n·d
//	          read γ, write dγ, dβ              3·d
//	          read statistics: batch mean, 1/σ (2·d); layer mean, 1/σ (2·n)
//
// It is the only place these counts are written down: the GB/s that bench
// reports divide it by the measured time.
func NormBytes(kind, pass string, n, d int) (int64, error) {
	nd, nn, dd := int64(n)*int64(d), int64(n), int64(d)
	var values int64
	switch {
	case kind == "batch" && pass == "forward":
		values = 2*nd + 2*dd + 3*dd
	case kind == "layer" && pass == "forward":
		values = 2*nd + 2*dd + 2*nn
	case kind == "batch" && pass == "backward":
		values = 3*nd + 3*dd + 2*dd
	case kind == "layer" && pass == "backward":
		values = 3*nd + 3*dd + 2*nn
	default:
		return 0, fmt.Errorf("norm bytes: no kernel %q %q (want batch or layer, forward or backward)", kind, pass)
	}
	return 4 * values, nil
}
