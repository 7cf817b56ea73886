//go:build openblas

package kernels

import (
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/netlib/blas/netlib"

	"normtap/kernels/internal/openblas"
)

// pureGoBLAS: the openblas build routes every Gemm through OpenBLAS (cgo;
// kernels/internal/openblas links it).
const pureGoBLAS = false

// init makes OpenBLAS the BLAS of blas32 and keeps each call on the calling
// thread: the executor splits GEMMs over its own Workers (GemmPlan), so
// OpenBLAS's own threads would only contend with them for the cores.
func init() {
	blas32.Use(netlib.Implementation{})
	openblas.SetThreads(1)
}
