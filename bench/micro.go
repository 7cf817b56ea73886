package bench

import (
	"context"
	"math/rand/v2"
	"time"

	"normtap/graph"
	"normtap/kernels"
)

// Shape is an n×d input of a norm kernel (examples × features).
type Shape struct{ N, D int }

// DefaultMicroShapes are the shapes the issue asks for: a training batch and
// a large evaluation batch of 1024 features.
var DefaultMicroShapes = []Shape{{128, 1024}, {4096, 1024}}

// Micro is one norm kernel's measurement, single-threaded.
type Micro struct {
	Kind         string  `json:"kind"`             // batch, layer, group or rms
	Groups       int     `json:"groups,omitempty"` // group: GroupNorm's groups
	Pass         string  `json:"pass"`             // forward or backward
	N            int     `json:"n"`
	D            int     `json:"d"`
	BytesPerIter int64   `json:"bytes_per_iter"` // NormBytes
	NsPerIter    float64 `json:"ns_per_iter_median"`
	GBPerSec     float64 `json:"gb_per_sec"` // BytesPerIter / NsPerIter
	// CopyGBPerSec is the single-core copy bandwidth from and to main
	// memory (CopyBytesLarge), the reference of the ≥ 50% target;
	// CopyFraction = GBPerSec / CopyGBPerSec.
	CopyGBPerSec float64 `json:"copy_gb_per_sec"`
	CopyFraction float64 `json:"copy_fraction"`
	// SameSizeCopyGBPerSec is the copy bandwidth of an n×d float32 buffer,
	// the kernel's own footprint (cache-resident for small shapes).
	SameSizeCopyGBPerSec float64 `json:"same_size_copy_gb_per_sec"`
}

// MicroGroups is the GroupNorm micro-benchmark's group count (graph's
// default, clipped to the width).
func MicroGroups(d int) int { return graph.LayerGroups(graph.DefaultGroups, d) }

// MicroKinds are the norm kernels MeasureMicro times.
var MicroKinds = []string{"batch", "layer", "group", "rms"}

// normKernel returns a call of the kind's exported CPU kernel for the pass
// on random n×d inputs (GroupNorm with MicroGroups(d) groups).
func normKernel(kind, pass string, n, d int, rng *rand.Rand) func() {
	rnd := func(k int, scale, off float32) []float32 {
		v := make([]float32, k)
		for i := range v {
			v[i] = float32(rng.NormFloat64())*scale + off
		}
		return v
	}
	x, dy := rnd(n*d, 1, 0.5), rnd(n*d, 1, 0)
	y, dx := make([]float32, n*d), make([]float32, n*d)
	gamma, beta := rnd(d, 0.2, 1), rnd(d, 0.2, 0)
	dgamma, dbeta := make([]float32, d), make([]float32, d)
	const eps = 1e-5
	switch kind {
	case "group":
		g := MicroGroups(d)
		mean, invstd := make([]float32, n*g), make([]float32, n*g)
		fwd := func() { kernels.GroupNormForward(x, gamma, beta, n, d, 1, g, eps, y, mean, invstd) }
		if pass == "forward" {
			return fwd
		}
		fwd()
		return func() { kernels.GroupNormBackward(x, dy, gamma, mean, invstd, n, d, 1, g, dx, dgamma, dbeta) }
	case "rms":
		invrms := make([]float32, n)
		fwd := func() { kernels.RMSNormForward(x, gamma, n, d, eps, y, invrms) }
		if pass == "forward" {
			return fwd
		}
		fwd()
		return func() { kernels.RMSNormBackward(x, dy, gamma, invrms, n, d, dx, dgamma) }
	case "batch":
		mean, variance, invstd := make([]float32, d), make([]float32, d), make([]float32, d)
		acc := make([]float64, 2*d)
		fwd := func() { kernels.BatchNormTrainForward(x, gamma, beta, n, d, 1, eps, y, mean, variance, invstd, acc) }
		if pass == "forward" {
			return fwd
		}
		fwd()
		return func() {
			kernels.BatchNormBackward(true, x, dy, gamma, mean, invstd, n, d, 1, dx, dgamma, dbeta, acc)
		}
	}
	mean, invstd := make([]float32, n), make([]float32, n)
	fwd := func() { kernels.LayerNormForward(x, gamma, beta, n, d, eps, y, mean, invstd) }
	if pass == "forward" {
		return fwd
	}
	fwd()
	return func() { kernels.LayerNormBackward(x, dy, gamma, mean, invstd, n, d, dx, dgamma, dbeta) }
}

// MeasureMicro times the MicroKinds' forward and backward (the
// training-mode CPU kernels of package kernels, on one core) at each shape.
// copyGBPerSec is the reference bandwidth (CopyGBPerSec(CopyBytesLarge)).
func MeasureMicro(ctx context.Context, shapes []Shape, copyGBPerSec float64, minTime time.Duration) ([]Micro, error) {
	rng := rand.New(rand.NewPCG(3, 4))
	var out []Micro
	for _, s := range shapes {
		same := CopyGBPerSec(4*s.N*s.D, minTime)
		for _, kind := range MicroKinds {
			for _, pass := range []string{"forward", "backward"} {
				if err := ctx.Err(); err != nil {
					return nil, err
				}
				groups := 0
				if kind == "group" {
					groups = MicroGroups(s.D)
				}
				bytes, err := NormBytesGroups(kind, pass, s.N, s.D, groups)
				if err != nil {
					return nil, err
				}
				ns := timeIt(normKernel(kind, pass, s.N, s.D, rng), minTime, 5)
				gbs := float64(bytes) / ns
				out = append(out, Micro{Kind: kind, Groups: groups, Pass: pass, N: s.N, D: s.D, BytesPerIter: bytes, NsPerIter: ns,
					GBPerSec: gbs, CopyGBPerSec: copyGBPerSec, CopyFraction: gbs / copyGBPerSec, SameSizeCopyGBPerSec: same})
			}
		}
	}
	return out, nil
}
