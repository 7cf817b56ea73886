//go:build gpu && !cudaemu

package cuda

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"strings"
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
	fns    [numKernels]cu.Function
	loaded [numKernels]bool
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
	dr := &driver{dev: dev, ctx: ctx}
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

// jitLogBytes sizes each of the JIT compiler's log buffers.
const jitLogBytes = 16 << 10

// loadModule JIT-loads PTX text and looks up its kernels. It passes the
// driver buffers for the JIT compiler's error and info logs: a PTX the
// driver cannot compile fails with the compiler's own words, not a bare
// error code. NORMTAP_CUDA_DEBUG=1 prints the info log (registers, spills)
// of every module to stderr.
func (dr *driver) loadModule(ptx string, kernels []kernel) error {
	defer dr.enter()()
	errLog := &cu.JITErrorLogBuffer{Buffer: make([]byte, jitLogBytes)}
	infoLog := &cu.JITInfoLogBuffer{Buffer: make([]byte, jitLogBytes)}
	verbose := &cu.JITLogVerbose{Enabled: true}
	mod, err := cu.LoadDataEx(ptx, errLog, infoLog, verbose)
	if err != nil {
		msg := cString(errLog.Buffer)
		if info := cString(infoLog.Buffer); info != "" {
			msg += "\n" + info
		}
		if msg == "" {
			return fmt.Errorf("JIT compile: %w (the driver gave no log)", err)
		}
		return fmt.Errorf("JIT compile: %w:\n%s", err, msg)
	}
	if os.Getenv("NORMTAP_CUDA_DEBUG") == "1" {
		if info := cString(infoLog.Buffer); info != "" {
			fmt.Fprintf(os.Stderr, "cuda: JIT log:\n%s\n", info)
		}
	}
	dr.mods = append(dr.mods, mod)
	for _, k := range kernels {
		fn, err := mod.Function(k.String())
		if err != nil {
			return fmt.Errorf("kernel %s: %w", k, err)
		}
		dr.fns[k] = fn
		dr.loaded[k] = true
	}
	return nil
}

// cString is the text of a NUL-terminated log buffer.
func cString(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return strings.TrimSpace(string(b))
}

// launch queues kernel k on the stream. Each params[i] holds one kernel
// argument in its low bytes (pointers and 8-byte values whole, 4-byte ints
// and floats in the low 4 bytes): cu.Function.Launch copies 8 bytes per
// argument and the driver reads as many as the kernel's parameter has.
func (dr *driver) launch(k kernel, grid, block dim3, params []uint64) error {
	defer dr.enter()()
	if !dr.loaded[k] {
		return fmt.Errorf("kernel %s is not loaded", k)
	}
	var ptrs [maxParams]unsafe.Pointer
	for i := range params {
		ptrs[i] = unsafe.Pointer(&params[i])
	}
	return dr.fns[k].Launch(grid.x, grid.y, grid.z, block.x, block.y, block.z, 0, dr.stream, ptrs[:len(params)])
}

// occupancy is how many blocks of the given size fit on one multiprocessor.
func (dr *driver) occupancy(k kernel, blockSize int) (int, error) {
	defer dr.enter()()
	if !dr.loaded[k] {
		return 0, fmt.Errorf("kernel %s is not loaded", k)
	}
	return dr.fns[k].MaxActiveBlocksPerMultiProcessor(blockSize, 0)
}

// attributes reads what the driver compiled kernel k to.
func (dr *driver) attributes(k kernel) (KernelAttributes, error) {
	defer dr.enter()()
	a := KernelAttributes{Name: k.String(), LaunchThreads: k.threadLimit()}
	if !dr.loaded[k] {
		return a, fmt.Errorf("kernel %s is not loaded", k)
	}
	fn := dr.fns[k]
	var err error
	get := func(attr cu.FunctionAttribute) int {
		v, e := fn.Attribute(attr)
		if e != nil && err == nil {
			err = e
		}
		return v
	}
	a.Registers = get(cu.NumRegs)
	a.LocalBytes = get(cu.LocalSizeBytes)
	a.SharedBytes = get(cu.SharedSizeBytes)
	a.MaxThreads = get(cu.FnMaxThreadsPerBlock)
	return a, err
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
