//go:build gpu

package cuda

import "fmt"

// Pinned is page-locked host memory of float32s: copies from it to the
// device are DMA transfers that return at once (the stream runs them in
// order), where copies from Go memory are staged through a driver buffer
// and wait for it. The host must not write into it while a queued copy
// from it has not run: Sync (or a Download) first.
type Pinned struct {
	d    *Device
	mem  pinnedMem
	host []float32
}

// AllocPinned returns n floats of page-locked host memory.
func (d *Device) AllocPinned(n int) (*Pinned, error) {
	if n <= 0 || n > maxElems {
		return nil, fmt.Errorf("cuda: pinned alloc %d floats: want 1 to %d", n, maxElems)
	}
	mem, host, err := d.drv.allocPinned(n)
	if err != nil {
		return nil, fmt.Errorf("cuda: pinned alloc %d floats: %w", n, err)
	}
	return &Pinned{d: d, mem: mem, host: host}, nil
}

// Floats is the memory, to fill before UploadPinned.
func (p *Pinned) Floats() []float32 { return p.host }

// Free releases the memory; p cannot be used afterwards.
func (p *Pinned) Free() error {
	if p.host == nil {
		return nil
	}
	p.host = nil
	return p.d.drv.freePinned(p.mem)
}

// UploadPinned queues a copy of the first dst.Len() floats of src into dst
// and returns without waiting.
func (d *Device) UploadPinned(dst Buffer, src *Pinned) error {
	if d.closed {
		return fmt.Errorf("cuda: upload: device is closed")
	}
	if src == nil || len(src.host) < dst.n {
		return fmt.Errorf("cuda: upload %d floats from pinned memory of %d", dst.n, len(src.Floats()))
	}
	if dst.n == 0 {
		return nil
	}
	if err := d.drv.htodPinned(dst.ptr, src.mem, int64(dst.n)*4); err != nil {
		return fmt.Errorf("cuda: upload %d floats from pinned memory: %w", dst.n, err)
	}
	return nil
}
