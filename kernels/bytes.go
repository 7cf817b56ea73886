package kernels

import "fmt"

// NormBytes is the number of bytes a BatchNorm ("batch") or LayerNorm
// ("layer") kernel must move for its pass ("forward" or "backward") over an
// n×d input (for BatchNorm over (N, C, S): n = N·S, d = C), each array read
// or written once, float32:
//
//	forward:  read x, write y                  2·n·d
//	          read γ, β                        2·d
//	          statistics: batch mean, variance, 1/σ out (3·d) — in eval
//	          mode running mean and variance in, 1/σ out, the same count;
//	          layer mean, 1/σ out (2·n)
//	backward: read x, dy, write dx             3·n·d
//	          read γ, write dγ, dβ              3·d
//	          read statistics: batch mean, 1/σ (2·d); layer mean, 1/σ (2·n)
//
// It is the one place these counts are written down: the CPU benchmarks
// (package bench) and the GPU ones (package cuda) divide it by their times.
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
