//go:build gpu

package cuda

import (
	"fmt"
	"math"
	"unsafe"
)

// Buffer is float32 device memory: an allocation from Device.Alloc or a
// window into one (Slice). The zero Buffer is "none" (NULL) where an
// argument is optional.
type Buffer struct {
	ptr uintptr
	n   int
}

// Len is the buffer's length in floats.
func (b Buffer) Len() int { return b.n }

// IsZero reports whether b is the zero Buffer.
func (b Buffer) IsZero() bool { return b.ptr == 0 }

// Slice returns floats [from, to) of b, sharing its memory, like a Go
// slice expression (and, like one, it panics when out of range). A slice
// whose start is not a multiple of 4 floats makes kernels take their
// scalar paths.
func (b Buffer) Slice(from, to int) Buffer {
	if from < 0 || to < from || to > b.n {
		panic(fmt.Sprintf("cuda: Buffer.Slice(%d, %d) of %d floats", from, to, b.n))
	}
	return Buffer{ptr: b.ptr + uintptr(from)*4, n: to - from}
}

func (b Buffer) String() string { return fmt.Sprintf("Buffer(%#x, %d floats)", b.ptr, b.n) }

// aligned16 reports whether every non-zero buffer starts on 16 bytes, so
// kernels may move float4s.
func aligned16(bs ...Buffer) bool {
	for _, b := range bs {
		if b.ptr%16 != 0 {
			return false
		}
	}
	return true
}

// Alloc returns a buffer of n floats, reusing a freed buffer of the same
// length when the pool has one. Its contents are undefined. The intended
// use is to allocate every buffer of a run once, up front.
func (d *Device) Alloc(n int) (Buffer, error) {
	if d.closed {
		return Buffer{}, fmt.Errorf("cuda: alloc: device is closed")
	}
	if n <= 0 || n > maxElems {
		return Buffer{}, fmt.Errorf("cuda: alloc %d floats: want 1 to %d", n, maxElems)
	}
	if free := d.idle[n]; len(free) > 0 {
		p := free[len(free)-1]
		d.idle[n] = free[:len(free)-1]
		delete(d.isIdle, p)
		return Buffer{ptr: p, n: n}, nil
	}
	p, err := d.drv.alloc(int64(n) * 4)
	if err != nil {
		return Buffer{}, fmt.Errorf("cuda: alloc %d floats (%.1f MiB): %w", n, float64(n)*4/(1<<20), err)
	}
	d.owned[p] = n
	return Buffer{ptr: p, n: n}, nil
}

// Free returns a buffer from Alloc to the pool (the memory stays allocated
// for the next Alloc of that length; Trim or Close hand it back). Work
// already queued that uses b is unaffected: the stream runs in order.
func (d *Device) Free(b Buffer) error {
	if d.closed {
		return fmt.Errorf("cuda: free: device is closed")
	}
	if n, ok := d.owned[b.ptr]; !ok || n != b.n || b.ptr == d.scratch.ptr {
		return fmt.Errorf("cuda: free %v: not a buffer from Alloc", b)
	}
	if d.isIdle[b.ptr] {
		return fmt.Errorf("cuda: free %v: already freed", b)
	}
	d.idle[b.n] = append(d.idle[b.n], b.ptr)
	d.isIdle[b.ptr] = true
	return nil
}

// Trim hands the pool's idle buffers back to the driver.
func (d *Device) Trim() error {
	if d.closed {
		return nil
	}
	if err := d.Sync(); err != nil {
		return err
	}
	for n, ps := range d.idle {
		for _, p := range ps {
			if err := d.drv.free(p); err != nil {
				return fmt.Errorf("cuda: trim: %w", err)
			}
			delete(d.owned, p)
			delete(d.isIdle, p)
		}
		delete(d.idle, n)
	}
	return nil
}

// Upload queues a copy of src into the first len(src) floats of dst. It
// returns once src has been staged by the driver, so src may be reused at
// once; the copy itself runs in stream order.
func (d *Device) Upload(dst Buffer, src []float32) error {
	if len(src) > dst.n {
		return fmt.Errorf("cuda: upload %d floats into %v", len(src), dst)
	}
	if len(src) == 0 {
		return nil
	}
	if err := d.drv.htod(dst.ptr, unsafe.Pointer(&src[0]), int64(len(src))*4); err != nil {
		return fmt.Errorf("cuda: upload %d floats: %w", len(src), err)
	}
	return nil
}

// Download copies the first len(dst) floats of src into dst after all work
// queued before it, and waits for them: this is where the host reads
// results (losses, metrics, taps), so it is also where asynchronous kernel
// errors surface.
func (d *Device) Download(dst []float32, src Buffer) error {
	if len(dst) > src.n {
		return fmt.Errorf("cuda: download %d floats from %v", len(dst), src)
	}
	if len(dst) == 0 {
		return nil
	}
	if err := d.drv.dtoh(unsafe.Pointer(&dst[0]), src.ptr, int64(len(dst))*4); err != nil {
		return fmt.Errorf("cuda: download %d floats: %w", len(dst), err)
	}
	return nil
}

// Copy queues a device-to-device copy of src (all of it) into the start of
// dst. The two must not overlap.
func (d *Device) Copy(dst, src Buffer) error {
	if src.n > dst.n {
		return fmt.Errorf("cuda: copy %v into %v", src, dst)
	}
	if src.n == 0 {
		return nil
	}
	if err := d.drv.dtod(dst.ptr, src.ptr, int64(src.n)*4); err != nil {
		return fmt.Errorf("cuda: copy %d floats: %w", src.n, err)
	}
	return nil
}

// Fill queues setting every float of b to v.
func (d *Device) Fill(b Buffer, v float32) error {
	if b.n == 0 {
		return nil
	}
	if err := d.drv.memsetD32(b.ptr, math.Float32bits(v), int64(b.n)); err != nil {
		return fmt.Errorf("cuda: fill %v: %w", b, err)
	}
	return nil
}

// Zero queues setting b to 0.
func (d *Device) Zero(b Buffer) error { return d.Fill(b, 0) }
