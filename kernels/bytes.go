package kernels

import "fmt"

// NormBytes is NormBytesGroups for the kernels without groups: BatchNorm
// ("batch"), LayerNorm ("layer") and RMSNorm ("rms"); GroupNorm ("group")
// needs its group count and is an error here.
func NormBytes(kind, pass string, n, d int) (int64, error) {
	return NormBytesGroups(kind, pass, n, d, 0)
}

// NormBytesGroups is the number of bytes a BatchNorm ("batch"), LayerNorm
// ("layer"), GroupNorm ("group", with groups groups) or RMSNorm ("rms")
// kernel must move for its pass ("forward" or "backward") over an n×d
// input (for BatchNorm over (N, C, S): n = N·S, d = C; for GroupNorm over
// (N, C, S): n = N, d = C·S, and γ, β count d/S values each, which the
// benchmarks' S = 1 makes d), each array read or written once, float32:
//
//	forward:  read x, write y                  2·n·d
//	          read γ, β                        2·d (rms: γ only, d)
//	          statistics: batch mean, variance, 1/σ out (3·d) — in eval
//	          mode running mean and variance in, 1/σ out, the same count;
//	          layer mean, 1/σ out (2·n); group mean, 1/σ out (2·n·groups);
//	          rms 1/rms out (n)
//	backward: read x, dy, write dx             3·n·d
//	          read γ, write dγ, dβ              3·d (rms: γ, dγ, 2·d)
//	          read statistics: batch mean, 1/σ (2·d); layer mean, 1/σ
//	          (2·n); group mean, 1/σ (2·n·groups); rms 1/rms (n)
//
// It is the one place these counts are written down: the CPU benchmarks
// (package bench) and the GPU ones (package cuda) divide it by their times.
func NormBytesGroups(kind, pass string, n, d, groups int) (int64, error) {
	nd, nn, dd, ng := int64(n)*int64(d), int64(n), int64(d), int64(n)*int64(groups)
	if kind == "group" && groups < 1 {
		return 0, fmt.Errorf("norm bytes: group needs its group count (NormBytesGroups), got %d", groups)
	}
	var values int64
	switch {
	case kind == "batch" && pass == "forward":
		values = 2*nd + 2*dd + 3*dd
	case kind == "layer" && pass == "forward":
		values = 2*nd + 2*dd + 2*nn
	case kind == "group" && pass == "forward":
		values = 2*nd + 2*dd + 2*ng
	case kind == "rms" && pass == "forward":
		values = 2*nd + dd + nn
	case kind == "batch" && pass == "backward":
		values = 3*nd + 3*dd + 2*dd
	case kind == "layer" && pass == "backward":
		values = 3*nd + 3*dd + 2*nn
	case kind == "group" && pass == "backward":
		values = 3*nd + 3*dd + 2*ng
	case kind == "rms" && pass == "backward":
		values = 3*nd + 2*dd + nn
	default:
		return 0, fmt.Errorf("norm bytes: no kernel %q %q (want batch, layer, group or rms, forward or backward)", kind, pass)
	}
	return 4 * values, nil
}
