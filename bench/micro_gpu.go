//go:build gpu

package bench

import (
	"context"
	"fmt"

	"normtap/cuda"
)

// GPUMicroShapes are the device kernels' shapes: a training batch, a large
// batch, and the 16384×1024 of the GPU targets.
var GPUMicroShapes = []Shape{{128, 1024}, {4096, 1024}, {16384, 1024}}

// GPUMicro times the device's BatchNorm, LayerNorm, GroupNorm and RMSNorm kernels (bytes from
// cuda.NormBytes) next to a device-to-device copy of a 16384×1024 buffer
// measured in the same run, on device 0.
func GPUMicro(ctx context.Context) (float64, []Micro, error) {
	d, err := cuda.Open(0)
	if err != nil {
		return 0, nil, err
	}
	defer d.Close()
	const iters = 50
	copyGB, err := d.MemcpyBandwidth(16384*1024, iters)
	if err != nil {
		return 0, nil, fmt.Errorf("copy bandwidth: %w", err)
	}
	var out []Micro
	for _, sh := range GPUMicroShapes {
		sameSize, err := d.MemcpyBandwidth(sh.N*sh.D, iters)
		if err != nil {
			return 0, nil, err
		}
		for _, k := range []cuda.NormKernel{cuda.BNForward, cuda.BNBackward, cuda.LNForward, cuda.LNBackward,
			cuda.GNForward, cuda.GNBackward, cuda.RMSForward, cuda.RMSBackward} {
			if err := ctx.Err(); err != nil {
				return 0, nil, err
			}
			t, err := d.NormBandwidth(k, sh.N, sh.D, iters)
			if err != nil {
				return 0, nil, fmt.Errorf("%v %dx%d: %w", k, sh.N, sh.D, err)
			}
			kind, pass, groups := k.Kind(), k.Pass(), 0
			if kind == "group" {
				groups = cuda.BenchGroups(sh.D)
			}
			out = append(out, Micro{Kind: kind, Groups: groups, Pass: pass, N: sh.N, D: sh.D, BytesPerIter: t.BytesPerIter,
				NsPerIter: float64(t.PerIter.Nanoseconds()), GBPerSec: t.GBPerSec,
				CopyGBPerSec: copyGB, CopyFraction: t.GBPerSec / copyGB, SameSizeCopyGBPerSec: sameSize})
		}
	}
	return copyGB, out, nil
}
