package kernels

import "fmt"

// GemmShape is one matrix product an op runs each time it executes:
// op(A) M×K times op(B) K×N, Count times (e.g. once per example).
type GemmShape struct {
	TransA, TransB bool
	M, N, K, Count int
}

// FLOP is the product's floating-point operations, a multiply and an add
// per term: 2·M·N·K·Count. It is the one FLOP formula: bench's roofline on
// the CPU and on the GPU sum it over a model's ops (layers.Gemmer).
func (s GemmShape) FLOP() int64 { return 2 * int64(s.M) * int64(s.N) * int64(s.K) * int64(s.Count) }

func (s GemmShape) String() string {
	return fmt.Sprintf("%s%s %dx%dx%d", transName(s.TransA), transName(s.TransB), s.M, s.N, s.K)
}
