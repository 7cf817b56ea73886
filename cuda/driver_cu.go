//go:build gpu && !cudaemu

package cuda

import (
	"fmt"
	"runtime"
	"unsafe"

	"gorgonia.org/cu"
)

// driver is the part of the CUDA driver API that Device uses: the primary
// context of one device, one stream, modules loaded from PTX, launches,
// memory and events. It is the only file that touches gorgonia.org/cu.
//
// A CUDA context is current per OS thread, and Go moves goroutines between
// threads. So every method runs under enter: it locks the goroutine to its
// thread (runtime.LockOSThread) and makes the context current there for
// the duration of its driver calls. The Device may then be used from any
// goroutine, one at a time, with no Bind/Unbind for callers to forget.
type driver struct {
	dev    cu.Device
	ctx    cu.CUContext
	stream cu.Stream
	mods   []cu.Module
	fns    map[string]cu.Function
}

// enter locks the calling goroutine to its thread and makes the context
// current on it; the returned func unlocks. Use: defer dr.enter()().
func (dr *driver) enter() func() {
	runtime.LockOSThread()
	// An error here (a destroyed context) resurfaces from the call itself.
	cu.SetCurrentContext(dr.ctx)
	return runtime.UnlockOSThread
}

// openDriver retains the primary context of device ordinal and creates the
// stream.
func openDriver(ordinal int) (*driver, Info, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var info Info
	count, err := cu.NumDevices()
	if err != nil {
		return nil, info, fmt.Errorf("count CUDA devices: %w", err)
	}
	if ordinal < 0 || ordinal >= count {
		return nil, info, fmt.Errorf("CUDA device %d: %d device(s) visible", ordinal, count)
	}
	dev, err := cu.GetDevice(ordinal)
	if err != nil {
		return nil, info, fmt.Errorf("CUDA device %d: %w", ordinal, err)
	}
	info.Ordinal = ordinal
	info.Driver = cu.Version()
	if info.Name, err = dev.Name(); err != nil {
		return nil, info, fmt.Errorf("CUDA device %d name: %w", ordinal, err)
	}
	if info.Major, info.Minor, err = dev.ComputeCapability(); err != nil {
		return nil, info, fmt.Errorf("CUDA device %d compute capability: %w", ordinal, err)
	}
	if info.MemoryBytes, err = dev.TotalMem(); err != nil {
		return nil, info, fmt.Errorf("CUDA device %d memory: %w", ordinal, err)
	}
	if info.SMs, err = dev.Attribute(cu.MultiprocessorCount); err != nil {
		return nil, info, fmt.Errorf("CUDA device %d multiprocessors: %w", ordinal, err)
	}
	if info.L2Bytes, err = dev.Attribute(cu.L2CacheSize); err != nil {
		return nil, info, fmt.Errorf("CUDA device %d L2 size: %w", ordinal, err)
	}
	ctx, err := dev.RetainPrimaryCtx()
	if err != nil {
		return nil, info, fmt.Errorf("CUDA device %d context: %w", ordinal, err)
	}
	dr := &driver{dev: dev, ctx: ctx, fns: map[string]cu.Function{}}
	if err := cu.SetCurrentContext(ctx); err != nil {
		dev.ReleasePrimaryCtx()
		return nil, info, fmt.Errorf("CUDA device %d: make context current: %w", ordinal, err)
	}
	if dr.stream, err = cu.MakeStream(cu.DefaultStream); err != nil {
		dev.ReleasePrimaryCtx()
		return nil, info, fmt.Errorf("CUDA device %d: create stream: %w", ordinal, err)
	}
	return dr, info, nil
}

// loadModule JIT-loads PTX text and looks up the named kernels in it.
func (dr *driver) loadModule(ptx string, kernels []string) error {
	defer dr.enter()()
	mod, err := cu.LoadData(ptx)
	if err != nil {
		return err
	}
	dr.mods = append(dr.mods, mod)
	for _, name := range kernels {
		fn, err := mod.Function(name)
		if err != nil {
			return fmt.Errorf("kernel %s: %w", name, err)
		}
		dr.fns[name] = fn
	}
	return nil
}

// launch queues kernel name on the stream. Each params[i] holds one kernel
// argument in its low bytes (pointers and 8-byte values whole, 4-byte ints
// and floats in the low 4 bytes): cu.Function.Launch copies 8 bytes per
// argument and the driver reads as many as the kernel's parameter has.
func (dr *driver) launch(name string, grid, block dim3, params []uint64) error {
	defer dr.enter()()
	fn, ok := dr.fns[name]
	if !ok {
		return fmt.Errorf("kernel %s is not in the embedded PTX", name)
	}
	var ptrs [maxParams]unsafe.Pointer
	for i := range params {
		ptrs[i] = unsafe.Pointer(&params[i])
	}
	return fn.Launch(grid.x, grid.y, grid.z, block.x, block.y, block.z, 0, dr.stream, ptrs[:len(params)])
}

// occupancy is how many blocks of the given size fit on one multiprocessor.
func (dr *driver) occupancy(name string, blockSize int) (int, error) {
	defer dr.enter()()
	fn, ok := dr.fns[name]
	if !ok {
		return 0, fmt.Errorf("kernel %s is not in the embedded PTX", name)
	}
	return fn.MaxActiveBlocksPerMultiProcessor(blockSize, 0)
}

func (dr *driver) alloc(bytes int64) (uintptr, error) {
	defer dr.enter()()
	p, err := cu.MemAlloc(bytes)
	return uintptr(p), err
}

func (dr *driver) free(p uintptr) error {
	defer dr.enter()()
	return cu.MemFree(cu.DevicePtr(p))
}

// htod queues a host→device copy. From pageable (Go) memory the driver
// returns once src has been staged, so src may be reused at once.
func (dr *driver) htod(dst uintptr, src unsafe.Pointer, bytes int64) error {
	defer dr.enter()()
	return cu.MemcpyHtoDAsync(cu.DevicePtr(dst), src, bytes, dr.stream)
}

// dtoh copies device→host after the work queued before it, then waits.
func (dr *driver) dtoh(dst unsafe.Pointer, src uintptr, bytes int64) error {
	defer dr.enter()()
	if err := cu.MemcpyDtoHAsync(dst, cu.DevicePtr(src), bytes, dr.stream); err != nil {
		return err
	}
	return dr.stream.Synchronize()
}

func (dr *driver) dtod(dst, src uintptr, bytes int64) error {
	defer dr.enter()()
	return cu.MemcpyDtoDAsync(cu.DevicePtr(dst), cu.DevicePtr(src), bytes, dr.stream)
}

func (dr *driver) memsetD32(dst uintptr, v uint32, n int64) error {
	defer dr.enter()()
	return cu.MemsetD32Async(cu.DevicePtr(dst), uint(v), n, dr.stream)
}

func (dr *driver) sync() error {
	defer dr.enter()()
	return dr.stream.Synchronize()
}

// event marks a point in the stream for timing.
type event struct{ ev cu.Event }

func (dr *driver) newEvent() (event, error) {
	defer dr.enter()()
	ev, err := cu.MakeEvent(cu.DefaultEvent)
	return event{ev}, err
}

func (dr *driver) record(e event) error {
	defer dr.enter()()
	return e.ev.Record(dr.stream)
}

// elapsedMs waits for end and returns the milliseconds between the events.
func (dr *driver) elapsedMs(start, end event) (float64, error) {
	defer dr.enter()()
	if err := end.ev.Synchronize(); err != nil {
		return 0, err
	}
	return start.ev.Elapsed(end.ev)
}

func (dr *driver) destroyEvent(e event) {
	defer dr.enter()()
	cu.DestroyEvent(&e.ev)
}

// close unloads the modules, destroys the stream and releases the context;
// it returns the first error.
func (dr *driver) close() error {
	defer dr.enter()()
	var first error
	keep := func(err error) {
		if err != nil && first == nil {
			first = err
		}
	}
	keep(dr.stream.Synchronize())
	for _, m := range dr.mods {
		keep(m.Unload())
	}
	dr.mods = nil
	keep(dr.stream.Destroy())
	keep(dr.dev.ReleasePrimaryCtx())
	return first
}

func deviceCount() (int, error) { return cu.NumDevices() }
