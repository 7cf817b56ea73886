//go:build openblas

package openblas

// This package is apart from package kernels because a package using cgo
// cannot also hold Go assembly (kernels' vector loops).

/*
#cgo LDFLAGS: -lopenblas
void openblas_set_num_threads(int);
int openblas_get_num_threads(void);
*/
import "C"

// SetThreads sets the number of threads of each OpenBLAS call.
func SetThreads(n int) { C.openblas_set_num_threads(C.int(n)) }

// Threads is the number of threads each OpenBLAS call uses.
func Threads() int { return int(C.openblas_get_num_threads()) }
