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

func lastError() string { return C.GoString(C.emu_error()) }

// Has reports whether kernel name is compiled in.
func Has(name string) bool {
	cs := C.CString(name)
	defer C.free(unsafe.Pointer(cs))
	return C.emu_has(cs) != 0
}

// Params returns the kinds of kernel name's parameters as the host
// compiler sees them (p pointer, i int, f float), "" when it is not
// compiled in.
func Params(name string) string {
	cs := C.CString(name)
	defer C.free(unsafe.Pointer(cs))
	return C.GoString(C.emu_params(cs))
}

// Launch runs kernel name to completion. Each params[i] holds one argument
// in its low bytes, as for cuLaunchKernel through gorgonia.org/cu. It
// fails on what a GPU's driver refuses (an unknown kernel, a grid or block
// out of CUDA's limits, a wrong argument count), on a deadlock, and on a
// write into the guard zone around any allocation.
func Launch(name string, grid, block [3]int, params []uint64) error {
	cs := C.CString(name)
	defer C.free(unsafe.Pointer(cs))
	var p *C.uint64_t
	if len(params) > 0 {
		p = (*C.uint64_t)(unsafe.Pointer(&params[0]))
	}
	if C.emu_launch(cs, C.int(grid[0]), C.int(grid[1]), C.int(grid[2]),
		C.int(block[0]), C.int(block[1]), C.int(block[2]), p, C.int(len(params))) != 0 {
		return fmt.Errorf("emu: %s (grid %v, block %v): %s", name, grid, block, lastError())
	}
	return nil
}

// Alloc returns bytes of 256-byte-aligned host memory standing for device
// memory, as an address. It starts filled with NaNs and lies between two
// guard zones (see Launch).
func Alloc(bytes int64) (uintptr, error) {
	p := uintptr(C.emu_alloc(C.size_t(bytes)))
	if p == 0 {
		return 0, fmt.Errorf("emu: out of memory allocating %d bytes", bytes)
	}
	return p, nil
}

func check(rc C.int) error {
	if rc != 0 {
		return fmt.Errorf("emu: %s", lastError())
	}
	return nil
}

func Free(p uintptr) error { return check(C.emu_free(C.uint64_t(p))) }

func HtoD(dst uintptr, src unsafe.Pointer, bytes int64) error {
	return check(C.emu_htod(C.uint64_t(dst), src, C.size_t(bytes)))
}

func DtoH(dst unsafe.Pointer, src uintptr, bytes int64) error {
	return check(C.emu_dtoh(dst, C.uint64_t(src), C.size_t(bytes)))
}

func DtoD(dst, src uintptr, bytes int64) error {
	return check(C.emu_dtod(C.uint64_t(dst), C.uint64_t(src), C.size_t(bytes)))
}

func MemsetD32(dst uintptr, v uint32, n int64) error {
	return check(C.emu_memset32(C.uint64_t(dst), C.uint32_t(v), C.size_t(n)))
}
