//go:build gpu && cudaemu

package cuda

// What the emulator catches that a GPU would not report, or report only as
// a bare error code: writes out of bounds, launches whose arguments do not
// match the kernel, grids and blocks out of CUDA's limits, reads of memory
// nothing wrote. Each test plants the fault past package cuda's own size
// checks (launching the kernel directly), so the emulator is what sees it.

import (
	"math"
	"strings"
	"testing"
)

func wantErr(t *testing.T, err error, substr string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one containing %q", substr)
	}
	if !strings.Contains(err.Error(), substr) {
		t.Fatalf("error %q does not contain %q", err, substr)
	}
}

func TestEmulatorCatchesOutOfBoundsWrite(t *testing.T) {
	d := dev(t)
	src := put(t, d, make([]float32, 256), 0)
	dst, err := d.Alloc(100)
	must(t, err)
	defer d.Free(dst)
	// copy_f32 of 164 floats into a 100-float buffer: 256 bytes past its end
	var p args
	p.buf(dst).buf(src).i32(164).flag(false)
	wantErr(t, d.launch(kCopyF32, d1(1), d1(256), &p), "wrote past the end of a 400-byte allocation")
	// the zone was restored: a launch in bounds passes
	p = args{}
	p.buf(dst).buf(src).i32(100).flag(false)
	must(t, d.launch(kCopyF32, d1(1), d1(256), &p))
	// before the start
	p = args{}
	p.buf(Buffer{ptr: dst.ptr - 16, n: 100}).buf(src).i32(4).flag(false)
	wantErr(t, d.launch(kCopyF32, d1(1), d1(32), &p), "16 bytes before the start")
}

func TestLaunchArgumentsMustMatchTheKernel(t *testing.T) {
	d := dev(t)
	x := put(t, d, []float32{1, 2, 3, 4}, 0)
	var p args
	p.buf(x).buf(x).i32(4) // copy_f32 takes (p, p, i, i)
	wantErr(t, d.launch(kCopyF32, d1(1), d1(32), &p), "3 arguments (ppi), the kernel takes 4 (ppii)")
	p = args{}
	p.buf(x).buf(x).f32(4).i32(0) // a float where an int goes
	wantErr(t, d.launch(kCopyF32, d1(1), d1(32), &p), "the kernel takes 4 (ppii)")
	// past package cuda's check, the emulator counts too
	p = args{}
	p.buf(x).buf(x).i32(4)
	wantErr(t, d.drv.launch(kCopyF32, d1(1), d1(32), p.v[:p.n]), "3 arguments for 4 parameters")
}

func TestLaunchLimits(t *testing.T) {
	d := dev(t)
	x := put(t, d, []float32{1, 2, 3, 4}, 0)
	var p args
	p.buf(x).buf(x).i32(4).flag(false)
	wantErr(t, d.launch(kCopyF32, d1(1), d1(512), &p), "without __launch_bounds__ (at most 256)")
	wantErr(t, d.launch(kCopyF32, d2(1, 70000), d1(32), &p), "y and z 1 to 65535")
	wantErr(t, d.launch(kCopyF32, d1(1), dim3{1, 1, 65}, &p), "out of CUDA's limits")
	var g args
	g.i32(1).i32(1).i32(1).f32(1).buf(x).i32(1).buf(x).i32(1).f32(0).buf(x).i32(1).i32(8).buf(Buffer{}).buf(Buffer{})
	wantErr(t, d.launch(kGemmNn128, d1(1), d1(512), &g), "over the kernel's __launch_bounds__(256)")
	wantErr(t, d.drv.launch(kCopyF32, d2(1, 70000), d1(32), p.v[:p.n]), "grid (1, 70000, 1)")
	wantErr(t, d.drv.launch(kCopyF32, d1(1), d1(2048), p.v[:p.n]), "block (2048, 1, 1)")
}

func TestEmulatorMemoryStartsPoisoned(t *testing.T) {
	d := dev(t)
	b, err := d.drv.alloc(64 * 4)
	must(t, err)
	defer d.drv.free(b)
	host := make([]float32, 64)
	must(t, d.Download(host, Buffer{ptr: b, n: 64}))
	for i, v := range host {
		if !math.IsNaN(float64(v)) {
			t.Fatalf("fresh device memory [%d] = %g, want NaN", i, v)
		}
	}
	// a copy that runs past the allocation is refused
	wantErr(t, d.drv.dtoh(nil, b+60*4, 8*4), "outside every allocation")
}
