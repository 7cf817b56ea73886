//go:build gpu

package cuda

import (
	"errors"
	"fmt"
	"math"
	"os"
)

// Info describes a device.
type Info struct {
	Ordinal      int
	Name         string
	Major, Minor int   // compute capability
	MemoryBytes  int64 // total device memory
	SMs          int   // multiprocessors
	L2Bytes      int   // L2 cache size
	Driver       int   // CUDA driver version, e.g. 12040 for 12.4
}

func (i Info) String() string {
	return fmt.Sprintf("%s (sm_%d%d, %.1f GiB, %d SMs, driver %d.%d)", i.Name, i.Major, i.Minor,
		float64(i.MemoryBytes)/(1<<30), i.SMs, i.Driver/1000, i.Driver%1000/10)
}

// Device is one GPU with its context, stream, buffer pool and loaded
// kernels. Its methods queue work on the stream and return without waiting,
// except Download, Sync, Close and the timing helpers. Any goroutine may
// use it (each call binds the context to its thread for the call's
// duration; see driver), but only one at a time: it is not safe for
// concurrent use.
type Device struct {
	// Debug makes every launch wait for its kernel and check for errors,
	// naming the kernel. Open sets it when NORMTAP_CUDA_DEBUG=1.
	Debug bool

	drv     *driver
	info    Info
	owned   map[uintptr]int   // every allocation of the pool → its length in floats
	idle    map[int][]uintptr // pooled allocations not in use, by length
	isIdle  map[uintptr]bool  // membership of idle, to catch double frees
	scratch Buffer            // kernels' temporaries (partial sums); grows on demand
	occ     map[kernel]int    // blocks per multiprocessor, by kernel
	closed  bool

	launches int64  // kernels launched (Launches)
	flush    Buffer // written between timed runs to empty L2 (Time)

	gemmTileFixed  int // tests: force a GEMM tile size (0: choose)
	gemmSplitFixed int // tests: force a number of k splits (0: choose)
}

// Open opens device ordinal (0 for the first GPU): it retains the device's
// primary context, creates the stream and loads the embedded kernels (the
// driver JIT-compiles their PTX for this GPU).
func Open(ordinal int) (*Device, error) {
	drv, info, err := openDriver(ordinal)
	if err != nil {
		return nil, fmt.Errorf("cuda: %w", err)
	}
	d := &Device{
		Debug:  os.Getenv("NORMTAP_CUDA_DEBUG") == "1",
		drv:    drv,
		info:   info,
		owned:  map[uintptr]int{},
		idle:   map[int][]uintptr{},
		isIdle: map[uintptr]bool{},
		occ:    map[kernel]int{},
	}
	mods, err := ptxModules()
	if err != nil {
		d.Close()
		return nil, fmt.Errorf("cuda: %w", err)
	}
	for _, m := range mods {
		if err := drv.loadModule(m.ptx, m.kernels); err != nil {
			d.Close()
			return nil, fmt.Errorf("cuda: load kernels/%s on %s: %w", m.file, info.Name, err)
		}
	}
	return d, nil
}

// Count returns the number of CUDA devices visible to the driver.
func Count() (int, error) { return deviceCount() }

// Info describes the device.
func (d *Device) Info() Info { return d.info }

// Sync waits until all work queued on the stream has finished and returns
// the first error a kernel or copy raised.
func (d *Device) Sync() error {
	if err := d.drv.sync(); err != nil {
		return fmt.Errorf("cuda: sync: %w", err)
	}
	return nil
}

// Close waits for the stream, frees every buffer of the pool (those in use
// too), unloads the kernels and releases the context. The Device cannot be
// used afterwards.
func (d *Device) Close() error {
	if d.closed {
		return nil
	}
	d.closed = true
	var errs []error
	if err := d.drv.sync(); err != nil {
		errs = append(errs, fmt.Errorf("sync: %w", err))
	}
	for p := range d.owned {
		if err := d.drv.free(p); err != nil {
			errs = append(errs, fmt.Errorf("free: %w", err))
		}
	}
	d.owned, d.idle, d.isIdle = nil, nil, nil
	if err := d.drv.close(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("cuda: close: %w", err)
	}
	return nil
}

// maxElems bounds every buffer and every tensor a kernel sees: the kernels
// index elements with 32-bit ints.
const maxElems = math.MaxInt32

// dim3 is a CUDA grid or block shape.
type dim3 struct{ x, y, z int }

func d1(x int) dim3    { return dim3{x, 1, 1} }
func d2(x, y int) dim3 { return dim3{x, y, 1} }

// maxParams bounds the arguments of one kernel.
const maxParams = 16

// args collects a launch's arguments, each in its own 8-byte slot (see
// driver.launch), with their kinds (ptxsig's p, i, f), which launch checks
// against the kernel's parameters.
type args struct {
	v     [maxParams]uint64
	kinds [maxParams]byte
	n     int
}

func (a *args) add(v uint64, kind byte) *args {
	if a.n < maxParams {
		a.v[a.n] = v
		a.kinds[a.n] = kind
	}
	a.n++ // past maxParams: launch reports the count
	return a
}

// buf passes a device pointer (0 for a zero Buffer: NULL in the kernel).
func (a *args) buf(b Buffer) *args { return a.add(uint64(b.ptr), 'p') }

// i32 passes an int as a C int.
func (a *args) i32(v int) *args { return a.add(uint64(uint32(int32(v))), 'i') }

// f32 passes a float.
func (a *args) f32(v float32) *args { return a.add(uint64(math.Float32bits(v)), 'f') }

// flag passes a bool as a C int, 0 or 1.
func (a *args) flag(v bool) *args {
	if v {
		return a.add(1, 'i')
	}
	return a.add(0, 'i')
}

// CUDA's launch limits (every device since compute capability 3.0).
const (
	maxGridX       = 1<<31 - 1
	maxGridYZ      = 65535
	maxBlockXY     = 1024
	maxBlockZ      = 64
	maxBlockThread = 1024
)

// checkLaunch refuses what the driver would refuse, or accept and then
// run wrongly: arguments that do not match the kernel's parameters in
// number and kind, a grid or block outside CUDA's limits, and a block
// larger than the kernel's launch bounds (or than 256 threads for a kernel
// that declares none).
func checkLaunch(k kernel, grid, block dim3, a *args) error {
	if k < 0 || k >= numKernels {
		return fmt.Errorf("no such kernel")
	}
	want := kernelTable[k].params
	if a.n > maxParams || string(a.kinds[:a.n]) != want {
		got := ""
		if a.n <= maxParams {
			got = string(a.kinds[:a.n])
		}
		return fmt.Errorf("%d arguments (%s), the kernel takes %d (%s)", a.n, got, len(want), want)
	}
	if grid.x < 1 || grid.x > maxGridX || grid.y < 1 || grid.y > maxGridYZ || grid.z < 1 || grid.z > maxGridYZ {
		return fmt.Errorf("grid %v: x must be 1 to %d, y and z 1 to %d", grid, maxGridX, maxGridYZ)
	}
	if block.x < 1 || block.y < 1 || block.z < 1 || block.x > maxBlockXY || block.y > maxBlockXY || block.z > maxBlockZ {
		return fmt.Errorf("block %v: out of CUDA's limits (%d, %d, %d)", block, maxBlockXY, maxBlockXY, maxBlockZ)
	}
	threads := block.x * block.y * block.z
	if lim := k.threadLimit(); threads > lim {
		if kernelTable[k].maxThreads == 0 {
			return fmt.Errorf("block of %d threads for a kernel without __launch_bounds__ (at most %d)", threads, lim)
		}
		return fmt.Errorf("block of %d threads, over the kernel's __launch_bounds__(%d)", threads, lim)
	}
	return nil
}

// launch queues kernel k; in debug mode it also waits for it and checks.
func (d *Device) launch(k kernel, grid, block dim3, a *args) error {
	if d.closed {
		return fmt.Errorf("cuda: %s: device is closed", k)
	}
	if err := checkLaunch(k, grid, block, a); err != nil {
		return fmt.Errorf("cuda: launch %s (grid %v, block %v): %w", k, grid, block, err)
	}
	d.launches++
	if err := d.drv.launch(k, grid, block, a.v[:a.n]); err != nil {
		return fmt.Errorf("cuda: launch %s (grid %v, block %v): %w", k, grid, block, err)
	}
	if d.Debug {
		if err := d.drv.sync(); err != nil {
			return fmt.Errorf("cuda: kernel %s (grid %v, block %v): %w", k, grid, block, err)
		}
	}
	return nil
}

// Launches returns how many kernels the device has launched since Open:
// tests and the bench count a step's launches with it.
func (d *Device) Launches() int64 { return d.launches }

// occupancy returns (and caches) how many 256-thread blocks of kernel k
// fit on one multiprocessor; 1 if the driver cannot say.
func (d *Device) occupancy(k kernel) int {
	if n, ok := d.occ[k]; ok {
		return n
	}
	n, err := d.drv.occupancy(k, 256)
	if err != nil || n < 1 {
		n = 1
	}
	d.occ[k] = n
	return n
}

// scratchFloats returns a device temporary of at least n floats, valid
// until the next call. Kernels on the one stream run in order, so one
// temporary serves them all; it grows (after a Sync, so no queued kernel
// still reads the old one) and is never shrunk.
func (d *Device) scratchFloats(n int) (Buffer, error) {
	if n <= d.scratch.n {
		return d.scratch.Slice(0, n), nil
	}
	if d.scratch.n > 0 {
		if err := d.Sync(); err != nil {
			return Buffer{}, err
		}
		if err := d.drv.free(d.scratch.ptr); err != nil {
			return Buffer{}, fmt.Errorf("cuda: free scratch: %w", err)
		}
		delete(d.owned, d.scratch.ptr)
		d.scratch = Buffer{}
	}
	size := max(n, 1<<16)
	p, err := d.drv.alloc(int64(size) * 4)
	if err != nil {
		return Buffer{}, fmt.Errorf("cuda: allocate %d floats of scratch: %w", size, err)
	}
	d.owned[p] = size
	d.scratch = Buffer{ptr: p, n: size}
	return d.scratch.Slice(0, n), nil
}

// grid1D sizes a grid-stride launch over units work items, 256 per block,
// at most 16 blocks per multiprocessor.
func (d *Device) grid1D(units int) dim3 {
	return d1(clamp(ceilDiv(units, 256), 1, 16*d.info.SMs))
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

func clamp(v, lo, hi int) int { return max(lo, min(v, hi)) }
