//go:build openblas

package openblas

// This package is apart from package kernels because a package using cgo
// cannot also hold Go assembly (kernels' vector loops).

/*
#cgo LDFLAGS: -lopenblas
#include <string.h>
void openblas_set_num_threads(int);
int openblas_get_num_threads(void);
char* openblas_get_corename(void);

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
// cpu_vendor writes the CPUID vendor string (12 bytes and a NUL) to v.
static void cpu_vendor(char *v) {
	unsigned int a = 0, b = 0, c = 0, d = 0;
	v[0] = 0;
	if (!__get_cpuid(0, &a, &b, &c, &d)) return;
	memcpy(v, &b, 4); memcpy(v + 4, &d, 4); memcpy(v + 8, &c, 4); v[12] = 0;
}
#else
static void cpu_vendor(char *v) { v[0] = 0; }
#endif
*/
import "C"

import "unsafe"

// SetThreads sets the number of threads of each OpenBLAS call.
func SetThreads(n int) { C.openblas_set_num_threads(C.int(n)) }

// Threads is the number of threads each OpenBLAS call uses.
func Threads() int { return int(C.openblas_get_num_threads()) }

// Loaded is the name of the kernel OpenBLAS chose when it initialised
// (openblas_get_corename: "Haswell", "SkylakeX", "Prescott", ...).
func Loaded() string { return C.GoString(C.openblas_get_corename()) }

// Vendor is the CPUID vendor string ("GenuineIntel", "AuthenticAMD"), ""
// off x86.
func Vendor() string {
	var v [16]C.char
	C.cpu_vendor(&v[0])
	return C.GoString((*C.char)(unsafe.Pointer(&v[0])))
}
