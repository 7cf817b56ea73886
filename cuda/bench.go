//go:build gpu

package cuda

import (
	"fmt"
	"math/rand/v2"
	"time"

	"normtap/kernels"
)

// This file holds what the benchmarks measure with: a stream timer, the
// device-to-device copy bandwidth, and the norm kernels' byte counts and
// bandwidth. normtap bench and the Benchmark functions both use these, so
// every GB/s printed comes from NormBytes and Time.

// Time runs launch once (warm-up), then iters times, each between two
// events on the stream after a write over a buffer twice the size of the
// L2 cache (as llm.c's harness does), so that no run finds the previous
// run's data in L2: the time is that of data coming from device memory,
// as in a training step whose working set is larger than L2. It returns
// the mean time of one run. launch should only queue work.
func (d *Device) Time(iters int, launch func() error) (time.Duration, error) {
	if iters < 1 {
		return 0, fmt.Errorf("cuda: time: %d iterations", iters)
	}
	if err := launch(); err != nil {
		return 0, err
	}
	flush, err := d.l2Flush()
	if err != nil {
		return 0, err
	}
	start, err := d.drv.newEvent()
	if err != nil {
		return 0, fmt.Errorf("cuda: time: %w", err)
	}
	defer d.drv.destroyEvent(start)
	end, err := d.drv.newEvent()
	if err != nil {
		return 0, fmt.Errorf("cuda: time: %w", err)
	}
	defer d.drv.destroyEvent(end)
	var total float64
	for range iters {
		if err := d.drv.memsetD32(flush.ptr, 0, int64(flush.n)); err != nil {
			return 0, fmt.Errorf("cuda: time: flush L2: %w", err)
		}
		if err := d.drv.record(start); err != nil {
			return 0, fmt.Errorf("cuda: time: %w", err)
		}
		if err := launch(); err != nil {
			return 0, err
		}
		if err := d.drv.record(end); err != nil {
			return 0, fmt.Errorf("cuda: time: %w", err)
		}
		ms, err := d.drv.elapsedMs(start, end)
		if err != nil {
			return 0, fmt.Errorf("cuda: time: %w", err)
		}
		total += ms
	}
	return time.Duration(total * 1e6 / float64(iters)), nil
}

// l2Flush returns (allocating once) a buffer of twice the L2 size.
func (d *Device) l2Flush() (Buffer, error) {
	if d.flush.n == 0 {
		n := max(2*d.info.L2Bytes/4, 1<<20)
		b, err := d.Alloc(n)
		if err != nil {
			return Buffer{}, fmt.Errorf("cuda: L2 flush buffer: %w", err)
		}
		d.flush = b
	}
	return d.flush, nil
}

// CopyBytes is what a copy of n floats moves: each float read once and
// written once.
func CopyBytes(n int) int64 { return 2 * 4 * int64(n) }

// MemcpyBandwidth measures the driver's device-to-device copy of nFloats
// floats, in GB/s (10⁹ bytes per second) of CopyBytes: the reference that
// the norm kernels' bandwidth is compared with.
func (d *Device) MemcpyBandwidth(nFloats, iters int) (gbPerSec float64, err error) {
	src, err := d.Alloc(nFloats)
	if err != nil {
		return 0, err
	}
	defer d.Free(src)
	dst, err := d.Alloc(nFloats)
	if err != nil {
		return 0, err
	}
	defer d.Free(dst)
	if err := d.Fill(src, 1); err != nil {
		return 0, err
	}
	t, err := d.Time(iters, func() error { return d.Copy(dst, src) })
	if err != nil {
		return 0, err
	}
	return float64(CopyBytes(nFloats)) / t.Seconds() / 1e9, nil
}

// NormKernel names a normalization kernel the benchmarks time.
type NormKernel int

// The timed norm kernels: BatchNorm over an n×dim matrix (dim channels, as
// after a Linear) in training mode and eval mode, its training backward,
// and LayerNorm, GroupNorm (BenchGroups(dim) groups) and RMSNorm over n
// rows of dim features, forward and backward.
const (
	BNForward NormKernel = iota
	BNForwardEval
	BNBackward
	LNForward
	LNBackward
	GNForward
	GNBackward
	RMSForward
	RMSBackward
)

// NormKernels lists every NormKernel.
var NormKernels = []NormKernel{BNForward, BNForwardEval, BNBackward, LNForward, LNBackward, GNForward, GNBackward, RMSForward, RMSBackward}

var normKernelNames = [...]string{"bn-forward", "bn-forward-eval", "bn-backward", "ln-forward", "ln-backward",
	"gn-forward", "gn-backward", "rms-forward", "rms-backward"}

// normKernelKinds is each kernel's kind and pass in kernels.NormBytesGroups.
var normKernelKinds = [...][2]string{{"batch", "forward"}, {"batch", "forward"}, {"batch", "backward"},
	{"layer", "forward"}, {"layer", "backward"}, {"group", "forward"}, {"group", "backward"},
	{"rms", "forward"}, {"rms", "backward"}}

// Kind and Pass name k as kernels.NormBytesGroups does ("batch", "forward").
func (k NormKernel) Kind() string { return normKernelKinds[k][0] }
func (k NormKernel) Pass() string { return normKernelKinds[k][1] }

// BenchGroups is the GroupNorm benchmarks' group count over dim channels:
// normtap's default 32 (graph.DefaultGroups, which this package, below
// graph, does not import), clipped to dim.
func BenchGroups(dim int) int { return min(32, dim) }

func (k NormKernel) String() string {
	if k < 0 || int(k) >= len(normKernelNames) {
		return fmt.Sprintf("NormKernel(%d)", int(k))
	}
	return normKernelNames[k]
}

// NormBytes is the device-memory traffic of one call of kernel k on n rows
// of dim features (for BatchNorm over (N, C, S): n = N·S, dim = C), in
// bytes: kernels.NormBytes, the one definition shared with the CPU bench.
func NormBytes(k NormKernel, n, dim int) int64 {
	groups := 0
	if k.Kind() == "group" {
		groups = BenchGroups(dim)
	}
	b, _ := kernels.NormBytesGroups(k.Kind(), k.Pass(), n, dim, groups)
	return b
}

// NormTiming is one measurement of a norm kernel.
type NormTiming struct {
	Kernel       NormKernel
	N, D         int
	PerIter      time.Duration
	BytesPerIter int64   // NormBytes(Kernel, N, D)
	GBPerSec     float64 // BytesPerIter / PerIter, 10⁹ bytes per second
}

// NormBandwidth times kernel k on random n×dim inputs (iters runs after a
// warm-up) and reports its bandwidth from NormBytes. It allocates its
// buffers from the pool and frees them.
func (d *Device) NormBandwidth(k NormKernel, n, dim, iters int) (NormTiming, error) {
	res := NormTiming{Kernel: k, N: n, D: dim, BytesPerIter: NormBytes(k, n, dim)}
	var bufs []Buffer
	defer func() {
		for _, b := range bufs {
			d.Free(b)
		}
	}()
	rng := rand.New(rand.NewPCG(1, uint64(k)))
	alloc := func(size int, lo, hi float32) (Buffer, error) {
		b, err := d.Alloc(size)
		if err != nil {
			return b, err
		}
		bufs = append(bufs, b)
		host := make([]float32, size)
		for i := range host {
			host[i] = lo + (hi-lo)*rng.Float32()
		}
		return b, d.Upload(b, host)
	}
	var (
		x, dy, y, dx, gamma, beta, mean, variance, invstd, dgamma, dbeta Buffer
		rows                                                             = dim // BatchNorm's per-channel vectors
		err                                                              error
	)
	switch k {
	case LNForward, LNBackward, RMSForward, RMSBackward:
		rows = n
	case GNForward, GNBackward:
		rows = n * BenchGroups(dim)
	}
	for _, b := range []struct {
		p      *Buffer
		size   int
		lo, hi float32
	}{
		{&x, n * dim, -2, 2}, {&dy, n * dim, -1, 1}, {&y, n * dim, 0, 0}, {&dx, n * dim, 0, 0},
		{&gamma, dim, 0.5, 1.5}, {&beta, dim, -0.5, 0.5}, {&mean, rows, -0.1, 0.1},
		{&variance, rows, 0.5, 1.5}, {&invstd, rows, 0.8, 1.2}, {&dgamma, dim, 0, 0}, {&dbeta, dim, 0, 0},
	} {
		if *b.p, err = alloc(b.size, b.lo, b.hi); err != nil {
			return res, err
		}
	}
	const eps = 1e-5
	var launch func() error
	switch k {
	case BNForward:
		launch = func() error {
			return d.BatchNormTrainForward(x, gamma, beta, n, dim, 1, eps, y, mean, variance, invstd)
		}
	case BNForwardEval:
		launch = func() error { return d.BatchNormEvalForward(x, gamma, beta, mean, variance, n, dim, 1, eps, y, invstd) }
	case BNBackward:
		launch = func() error {
			return d.BatchNormBackward(true, x, dy, gamma, mean, invstd, n, dim, 1, dx, dgamma, dbeta)
		}
	case LNForward:
		launch = func() error { return d.LayerNormForward(x, gamma, beta, n, dim, eps, y, mean, invstd) }
	case LNBackward:
		launch = func() error { return d.LayerNormBackward(x, dy, gamma, mean, invstd, n, dim, dx, dgamma, dbeta) }
	case GNForward:
		g := BenchGroups(dim)
		launch = func() error { return d.GroupNormForward(x, gamma, beta, n, dim, 1, g, eps, y, mean, invstd) }
	case GNBackward:
		g := BenchGroups(dim)
		launch = func() error {
			return d.GroupNormBackward(x, dy, gamma, mean, invstd, n, dim, 1, g, dx, dgamma, dbeta)
		}
	case RMSForward:
		launch = func() error { return d.RMSNormForward(x, gamma, n, dim, eps, y, invstd) }
	case RMSBackward:
		launch = func() error { return d.RMSNormBackward(x, dy, gamma, invstd, n, dim, dx, dgamma) }
	default:
		return res, fmt.Errorf("cuda: unknown norm kernel %d", int(k))
	}
	if res.PerIter, err = d.Time(iters, launch); err != nil {
		return res, fmt.Errorf("cuda: time %s at %d×%d: %w", k, n, dim, err)
	}
	res.GBPerSec = float64(res.BytesPerIter) / res.PerIter.Seconds() / 1e9
	return res, nil
}
