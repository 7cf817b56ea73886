package kernels_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"normtap/kernels"
)

// Kernel benchmarks, named by operation and size; the norms report MB/s
// from kernels.NormBytes, the bytes each pass must move.

var normShapes = [][2]int{{128, 1024}, {1024, 1024}, {4096, 1024}}

func randSlice(rng *rand.Rand, n int, scale, off float32) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(rng.NormFloat64())*scale + off
	}
	return v
}

// setNormBytes sets the bytes per iteration to kernels.NormBytesGroups
// (groups: GroupNorm's, 0 for the other norms).
func setNormBytes(b *testing.B, kind, pass string, n, d, groups int) {
	bytes, err := kernels.NormBytesGroups(kind, pass, n, d, groups)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(bytes)
}

func BenchmarkBatchNormForward(b *testing.B) {
	for _, s := range normShapes {
		n, d := s[0], s[1]
		b.Run(fmt.Sprintf("%dx%d", n, d), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 2))
			x, gamma, beta := randSlice(rng, n*d, 1, 0.5), randSlice(rng, d, 0.2, 1), randSlice(rng, d, 0.2, 0)
			y, mean, variance, invstd, acc := make([]float32, n*d), make([]float32, d), make([]float32, d), make([]float32, d), make([]float64, 2*d)
			setNormBytes(b, "batch", "forward", n, d, 0)
			for b.Loop() {
				kernels.BatchNormTrainForward(x, gamma, beta, n, d, 1, 1e-5, y, mean, variance, invstd, acc)
			}
		})
	}
}

func BenchmarkBatchNormBackward(b *testing.B) {
	for _, s := range normShapes {
		n, d := s[0], s[1]
		b.Run(fmt.Sprintf("%dx%d", n, d), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 2))
			x, dy, gamma, beta := randSlice(rng, n*d, 1, 0.5), randSlice(rng, n*d, 1, 0), randSlice(rng, d, 0.2, 1), randSlice(rng, d, 0.2, 0)
			y, dx, mean, variance, invstd, acc := make([]float32, n*d), make([]float32, n*d), make([]float32, d), make([]float32, d), make([]float32, d), make([]float64, 2*d)
			dgamma, dbeta := make([]float32, d), make([]float32, d)
			kernels.BatchNormTrainForward(x, gamma, beta, n, d, 1, 1e-5, y, mean, variance, invstd, acc)
			setNormBytes(b, "batch", "backward", n, d, 0)
			for b.Loop() {
				kernels.BatchNormBackward(true, x, dy, gamma, mean, invstd, n, d, 1, dx, dgamma, dbeta, acc)
			}
		})
	}
}

func BenchmarkLayerNormForward(b *testing.B) {
	for _, s := range normShapes {
		n, d := s[0], s[1]
		b.Run(fmt.Sprintf("%dx%d", n, d), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 2))
			x, gamma, beta := randSlice(rng, n*d, 1, 0.5), randSlice(rng, d, 0.2, 1), randSlice(rng, d, 0.2, 0)
			y, mean, invstd := make([]float32, n*d), make([]float32, n), make([]float32, n)
			setNormBytes(b, "layer", "forward", n, d, 0)
			for b.Loop() {
				kernels.LayerNormForward(x, gamma, beta, n, d, 1e-5, y, mean, invstd)
			}
		})
	}
}

func BenchmarkLayerNormBackward(b *testing.B) {
	for _, s := range normShapes {
		n, d := s[0], s[1]
		b.Run(fmt.Sprintf("%dx%d", n, d), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 2))
			x, dy, gamma, beta := randSlice(rng, n*d, 1, 0.5), randSlice(rng, n*d, 1, 0), randSlice(rng, d, 0.2, 1), randSlice(rng, d, 0.2, 0)
			y, dx, mean, invstd := make([]float32, n*d), make([]float32, n*d), make([]float32, n), make([]float32, n)
			dgamma, dbeta := make([]float32, d), make([]float32, d)
			kernels.LayerNormForward(x, gamma, beta, n, d, 1e-5, y, mean, invstd)
			setNormBytes(b, "layer", "backward", n, d, 0)
			for b.Loop() {
				kernels.LayerNormBackward(x, dy, gamma, mean, invstd, n, d, dx, dgamma, dbeta)
			}
		})
	}
}

// GroupNorm (32 groups of 32 features) and RMSNorm over the same shapes.
const benchGroups = 32

func BenchmarkGroupNormForward(b *testing.B) {
	for _, s := range normShapes {
		n, d := s[0], s[1]
		b.Run(fmt.Sprintf("%dx%d", n, d), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 2))
			x, gamma, beta := randSlice(rng, n*d, 1, 0.5), randSlice(rng, d, 0.2, 1), randSlice(rng, d, 0.2, 0)
			y, mean, invstd := make([]float32, n*d), make([]float32, n*benchGroups), make([]float32, n*benchGroups)
			setNormBytes(b, "group", "forward", n, d, benchGroups)
			for b.Loop() {
				kernels.GroupNormForward(x, gamma, beta, n, d, 1, benchGroups, 1e-5, y, mean, invstd)
			}
		})
	}
}

func BenchmarkGroupNormBackward(b *testing.B) {
	for _, s := range normShapes {
		n, d := s[0], s[1]
		b.Run(fmt.Sprintf("%dx%d", n, d), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 2))
			x, dy, gamma, beta := randSlice(rng, n*d, 1, 0.5), randSlice(rng, n*d, 1, 0), randSlice(rng, d, 0.2, 1), randSlice(rng, d, 0.2, 0)
			y, dx, mean, invstd := make([]float32, n*d), make([]float32, n*d), make([]float32, n*benchGroups), make([]float32, n*benchGroups)
			dgamma, dbeta := make([]float32, d), make([]float32, d)
			kernels.GroupNormForward(x, gamma, beta, n, d, 1, benchGroups, 1e-5, y, mean, invstd)
			setNormBytes(b, "group", "backward", n, d, benchGroups)
			for b.Loop() {
				kernels.GroupNormBackward(x, dy, gamma, mean, invstd, n, d, 1, benchGroups, dx, dgamma, dbeta)
			}
		})
	}
}

// GroupNorm after a convolution: (N, C, S) = (128, 32, 14·14), 8 groups
// of 4 channels, so each channel's S = 196 positions are contiguous (the
// γ, β bytes counted as d = C·S are a rounding error).
var convShape = struct{ n, c, s, groups int }{128, 32, 196, 8}

func BenchmarkGroupNormConvForward(b *testing.B) {
	n, c, s, g := convShape.n, convShape.c, convShape.s, convShape.groups
	rng := rand.New(rand.NewPCG(1, 2))
	x, gamma, beta := randSlice(rng, n*c*s, 1, 0.5), randSlice(rng, c, 0.2, 1), randSlice(rng, c, 0.2, 0)
	y, mean, invstd := make([]float32, n*c*s), make([]float32, n*g), make([]float32, n*g)
	setNormBytes(b, "group", "forward", n, c*s, g)
	for b.Loop() {
		kernels.GroupNormForward(x, gamma, beta, n, c, s, g, 1e-5, y, mean, invstd)
	}
}

func BenchmarkGroupNormConvBackward(b *testing.B) {
	n, c, s, g := convShape.n, convShape.c, convShape.s, convShape.groups
	rng := rand.New(rand.NewPCG(1, 2))
	x, dy, gamma, beta := randSlice(rng, n*c*s, 1, 0.5), randSlice(rng, n*c*s, 1, 0), randSlice(rng, c, 0.2, 1), randSlice(rng, c, 0.2, 0)
	y, dx, mean, invstd := make([]float32, n*c*s), make([]float32, n*c*s), make([]float32, n*g), make([]float32, n*g)
	dgamma, dbeta := make([]float32, c), make([]float32, c)
	kernels.GroupNormForward(x, gamma, beta, n, c, s, g, 1e-5, y, mean, invstd)
	setNormBytes(b, "group", "backward", n, c*s, g)
	for b.Loop() {
		kernels.GroupNormBackward(x, dy, gamma, mean, invstd, n, c, s, g, dx, dgamma, dbeta)
	}
}

func BenchmarkRMSNormForward(b *testing.B) {
	for _, s := range normShapes {
		n, d := s[0], s[1]
		b.Run(fmt.Sprintf("%dx%d", n, d), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 2))
			x, gamma := randSlice(rng, n*d, 1, 0.5), randSlice(rng, d, 0.2, 1)
			y, invrms := make([]float32, n*d), make([]float32, n)
			setNormBytes(b, "rms", "forward", n, d, 0)
			for b.Loop() {
				kernels.RMSNormForward(x, gamma, n, d, 1e-5, y, invrms)
			}
		})
	}
}

func BenchmarkRMSNormBackward(b *testing.B) {
	for _, s := range normShapes {
		n, d := s[0], s[1]
		b.Run(fmt.Sprintf("%dx%d", n, d), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 2))
			x, dy, gamma := randSlice(rng, n*d, 1, 0.5), randSlice(rng, n*d, 1, 0), randSlice(rng, d, 0.2, 1)
			y, dx, invrms, dgamma := make([]float32, n*d), make([]float32, n*d), make([]float32, n), make([]float32, d)
			kernels.RMSNormForward(x, gamma, n, d, 1e-5, y, invrms)
			setNormBytes(b, "rms", "backward", n, d, 0)
			for b.Loop() {
				kernels.RMSNormBackward(x, dy, gamma, invrms, n, d, dx, dgamma)
			}
		})
	}
}

// BenchmarkGemm times the GEMMs of a 784-1024-1024-10 training step at
// batch 128, one core (kernels.Gemm) and split over two parts (GemmPlan).
func BenchmarkGemm(b *testing.B) {
	cases := []struct {
		name           string
		transA, transB bool
		m, n, k        int
	}{
		{"forward/128x1024x784", false, false, 128, 1024, 784},
		{"forward/128x1024x1024", false, false, 128, 1024, 1024},
		{"dx/128x1024x1024", false, true, 128, 1024, 1024},
		{"dW/1024x1024x128", true, false, 1024, 1024, 128},
		{"dW/784x1024x128", true, false, 784, 1024, 128},
	}
	for _, c := range cases {
		for _, parts := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/parts%d", c.name, parts), func(b *testing.B) {
				rng := rand.New(rand.NewPCG(1, 2))
				a, bb, cc := randSlice(rng, c.m*c.k, 1, 0), randSlice(rng, c.k*c.n, 1, 0), make([]float32, c.m*c.n)
				lda, ldb := c.k, c.n
				if c.transA {
					lda = c.m
				}
				if c.transB {
					ldb = c.k
				}
				w := kernels.NewWorkers(parts)
				defer w.Close()
				g := kernels.NewGemmPlan(c.transA, c.transB, c.m, c.n, c.k, 1, a, lda, bb, ldb, 0, cc, c.n)
				for b.Loop() {
					g.Run(w)
				}
				b.ReportMetric(2*float64(c.m*c.n*c.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

// BenchmarkGemmPair times a backward pass's two products of a
// 1024×1024 layer at batch 128, the weight gradient (TN 1024×1024×128) and
// the input gradient (NT 128×1024×1024), on two parts: one after the other
// (each split in two) and as a GemmPair (each whole on one core).
func BenchmarkGemmPair(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	x, dy, wt := randSlice(rng, 128*1024, 1, 0), randSlice(rng, 128*1024, 1, 0), randSlice(rng, 1024*1024, 1, 0)
	dw, dx := make([]float32, 1024*1024), make([]float32, 128*1024)
	pw := kernels.NewGemmPlan(true, false, 1024, 1024, 128, 1, x, 1024, dy, 1024, 0, dw, 1024)
	px := kernels.NewGemmPlan(false, true, 128, 1024, 1024, 1, dy, 1024, wt, 1024, 0, dx, 1024)
	pair := kernels.NewGemmPair(pw, px)
	w := kernels.NewWorkers(2)
	defer w.Close()
	b.Run("sequential", func(b *testing.B) {
		for b.Loop() {
			pw.Run(w)
			px.Run(w)
		}
	})
	b.Run("pair", func(b *testing.B) {
		for b.Loop() {
			pair.Run(w)
		}
	})
}
