//go:build cudaemu

// Package emu runs normtap's CUDA kernels (cuda/kernels/*.cu, compiled as
// host C++) on the CPU, one fiber per CUDA thread, so that package cuda's
// kernel checks run on machines without a GPU: `go test -tags 'gpu
// cudaemu' ./cuda`. It checks kernel logic (indexing, tiling, barriers,
// reductions), not speed, and its maths is the host's libm.
package emu

/*
#cgo CXXFLAGS: -std=c++17 -O2 -Wno-unknown-pragmas
#include <stdlib.h>
#include "emu_api.h"
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// Has reports whether kernel name is compiled in.
func Has(name string) bool {
	cs := C.CString(name)
	defer C.free(unsafe.Pointer(cs))
	return C.emu_has(cs) != 0
}

// Launch runs kernel name to completion. Each params[i] holds one argument
// in its low bytes, as for cuLaunchKernel through gorgonia.org/cu.
func Launch(name string, grid, block [3]int, params []uint64) error {
	cs := C.CString(name)
	defer C.free(unsafe.Pointer(cs))
	var p *C.uint64_t
	if len(params) > 0 {
		p = (*C.uint64_t)(unsafe.Pointer(&params[0]))
	}
	switch C.emu_launch(cs, C.int(grid[0]), C.int(grid[1]), C.int(grid[2]),
		C.int(block[0]), C.int(block[1]), C.int(block[2]), p, C.int(len(params))) {
	case 0:
		return nil
	case 1:
		return fmt.Errorf("emu: no kernel %s", name)
	case 2:
		return fmt.Errorf("emu: %s: invalid grid %v or block %v", name, grid, block)
	default:
		return fmt.Errorf("emu: %s: deadlock (a barrier not reached by every thread)", name)
	}
}

// Alloc returns bytes of 256-byte-aligned host memory standing for device
// memory, as an address.
func Alloc(bytes int64) (uintptr, error) {
	p := uintptr(C.emu_alloc(C.size_t(bytes)))
	if p == 0 {
		return 0, fmt.Errorf("emu: out of memory allocating %d bytes", bytes)
	}
	return p, nil
}

func Free(p uintptr) { C.emu_free(C.uint64_t(p)) }

func HtoD(dst uintptr, src unsafe.Pointer, bytes int64) {
	C.emu_htod(C.uint64_t(dst), src, C.size_t(bytes))
}

func DtoH(dst unsafe.Pointer, src uintptr, bytes int64) {
	C.emu_dtoh(dst, C.uint64_t(src), C.size_t(bytes))
}

func DtoD(dst, src uintptr, bytes int64) {
	C.emu_dtod(C.uint64_t(dst), C.uint64_t(src), C.size_t(bytes))
}

func MemsetD32(dst uintptr, v uint32, n int64) {
	C.emu_memset32(C.uint64_t(dst), C.uint32_t(v), C.size_t(n))
}
