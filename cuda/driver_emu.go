//go:build gpu && cudaemu

package cuda

import (
	"fmt"
	"time"
	"unsafe"

	"normtap/cuda/internal/emu"
)

// driver, in the cudaemu build, runs the kernels on the CPU through
// cuda/internal/emu instead of a GPU: `go test -tags 'gpu cudaemu' ./cuda`
// runs the kernel checks on any machine. It reports a small device (4
// multiprocessors, 2 blocks each), so that the grids are few blocks and
// the persistent and chunked kernels loop.
type driver struct {
	loaded [numKernels]bool
	// capture, while a Device.Capture runs: the recorded work, replayed by
	// launchGraph; host copies and syncs are refused meanwhile, as the
	// driver refuses them on a capturing stream.
	capture *[]func() error
}

// graphExec is a recorded sequence of the stream's work.
type graphExec struct{ work []func() error }

func (dr *driver) beginCapture() error {
	if dr.capture != nil {
		return fmt.Errorf("already capturing")
	}
	dr.capture = new([]func() error)
	return nil
}

func (dr *driver) endCapture() (graphExec, error) {
	if dr.capture == nil {
		return graphExec{}, fmt.Errorf("not capturing")
	}
	g := graphExec{work: *dr.capture}
	dr.capture = nil
	return g, nil
}

func (dr *driver) launchGraph(g graphExec) error {
	if dr.capture != nil {
		return fmt.Errorf("graph launch while capturing")
	}
	for _, w := range g.work {
		if err := w(); err != nil {
			return err
		}
	}
	return nil
}

func (dr *driver) destroyGraph(g graphExec) error { return nil }

// queue runs w now, or records it while capturing.
func (dr *driver) queue(w func() error) error {
	if dr.capture != nil {
		*dr.capture = append(*dr.capture, w)
		return nil
	}
	return w()
}

// notCapturing refuses host-side work on a capturing stream.
func (dr *driver) notCapturing(what string) error {
	if dr.capture != nil {
		return fmt.Errorf("%s while the stream is being captured", what)
	}
	return nil
}

func openDriver(ordinal int) (*driver, Info, error) {
	if ordinal != 0 {
		return nil, Info{}, fmt.Errorf("CUDA device %d: 1 device(s) visible (emulator)", ordinal)
	}
	info := Info{Name: "normtap CPU emulator", Major: 7, Minor: 0, MemoryBytes: 1 << 30, SMs: 4, L2Bytes: 1 << 20}
	return &driver{}, info, nil
}

func deviceCount() (int, error) { return 1, nil }

// loadModule checks that the emulator has each kernel, with the parameters
// the PTX declares: the host compiler's reading of the .cu and nvcc's agree.
func (dr *driver) loadModule(ptx string, kernels []kernel) error {
	for _, k := range kernels {
		if !emu.Has(k.String()) {
			return fmt.Errorf("kernel %s: not in the emulator (run go generate ./cuda)", k)
		}
		if got, want := emu.Params(k.String()), kernelTable[k].params; got != want {
			return fmt.Errorf("kernel %s: the emulator's parameters (%s) differ from the PTX's (%s)", k, got, want)
		}
		dr.loaded[k] = true
	}
	return nil
}

func (dr *driver) launch(k kernel, grid, block dim3, params []uint64) error {
	if !dr.loaded[k] {
		return fmt.Errorf("kernel %s is not loaded", k)
	}
	p := append([]uint64(nil), params...) // the caller reuses its slots
	return dr.queue(func() error {
		return emu.Launch(k.String(), [3]int{grid.x, grid.y, grid.z}, [3]int{block.x, block.y, block.z}, p)
	})
}

func (dr *driver) occupancy(k kernel, blockSize int) (int, error) { return 2, nil }

// attributes: the emulator has no registers; any block CUDA allows runs.
func (dr *driver) attributes(k kernel) (KernelAttributes, error) {
	return KernelAttributes{Name: k.String(), MaxThreads: maxBlockThread, LaunchThreads: k.threadLimit()}, nil
}

func (dr *driver) alloc(bytes int64) (uintptr, error) { return emu.Alloc(bytes) }

func (dr *driver) free(p uintptr) error { return emu.Free(p) }

func (dr *driver) htod(dst uintptr, src unsafe.Pointer, bytes int64) error {
	if err := dr.notCapturing("copy from pageable host memory"); err != nil {
		return err
	}
	return emu.HtoD(dst, src, bytes)
}

func (dr *driver) dtoh(dst unsafe.Pointer, src uintptr, bytes int64) error {
	if err := dr.notCapturing("copy to pageable host memory"); err != nil {
		return err
	}
	return emu.DtoH(dst, src, bytes)
}

func (dr *driver) dtod(dst, src uintptr, bytes int64) error {
	return dr.queue(func() error { return emu.DtoD(dst, src, bytes) })
}

func (dr *driver) memsetD32(dst uintptr, v uint32, n int64) error {
	return dr.queue(func() error { return emu.MemsetD32(dst, v, n) })
}

func (dr *driver) sync() error { return dr.notCapturing("synchronize") }

type event struct{ t *time.Time }

func (dr *driver) newEvent() (event, error) { return event{new(time.Time)}, nil }

func (dr *driver) record(e event) error {
	*e.t = time.Now()
	return nil
}

func (dr *driver) elapsedMs(start, end event) (float64, error) {
	return float64(end.t.Sub(*start.t)) / 1e6, nil
}

func (dr *driver) destroyEvent(e event) {}

func (dr *driver) close() error { return nil }
