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
	occ     map[string]int    // blocks per multiprocessor, by kernel
	closed  bool

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
		occ:    map[string]int{},
	}
	for _, m := range modules {
		ptx, err := ptxFiles.ReadFile("kernels/" + m.file)
		if err != nil {
			d.Close()
			return nil, fmt.Errorf("cuda: embedded %s: %w", m.file, err)
		}
		if err := drv.loadModule(string(ptx), m.kernels); err != nil {
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
// driver.launch).
type args struct {
	v [maxParams]uint64
	n int
}

func (a *args) add(v uint64) *args {
	a.v[a.n] = v
	a.n++
	return a
}

// buf passes a device pointer (0 for a zero Buffer: NULL in the kernel).
func (a *args) buf(b Buffer) *args { return a.add(uint64(b.ptr)) }

// i32 passes an int as a C int.
func (a *args) i32(v int) *args { return a.add(uint64(uint32(int32(v)))) }

// f32 passes a float.
func (a *args) f32(v float32) *args { return a.add(uint64(math.Float32bits(v))) }

// flag passes a bool as a C int, 0 or 1.
func (a *args) flag(v bool) *args {
	if v {
		return a.add(1)
	}
	return a.add(0)
}

// launch queues kernel name; in debug mode it also waits for it and checks.
func (d *Device) launch(name string, grid, block dim3, a *args) error {
	if d.closed {
		return fmt.Errorf("cuda: %s: device is closed", name)
	}
	if err := d.drv.launch(name, grid, block, a.v[:a.n]); err != nil {
		return fmt.Errorf("cuda: launch %s (grid %v, block %v): %w", name, grid, block, err)
	}
	if d.Debug {
		if err := d.drv.sync(); err != nil {
			return fmt.Errorf("cuda: kernel %s (grid %v, block %v): %w", name, grid, block, err)
		}
	}
	return nil
}

// occupancy returns (and caches) how many 256-thread blocks of kernel name
// fit on one multiprocessor; 1 if the driver cannot say.
func (d *Device) occupancy(name string) int {
	if n, ok := d.occ[name]; ok {
		return n
	}
	n, err := d.drv.occupancy(name, 256)
	if err != nil || n < 1 {
		n = 1
	}
	d.occ[name] = n
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
