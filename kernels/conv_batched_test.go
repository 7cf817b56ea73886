package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// naiveConv3x3 is the convolution by its definition, in float64.
func naiveConv3x3(s Conv3x3Shape, x, w, b []float32) []float64 {
	y := make([]float64, s.N*s.K*s.H*s.W)
	for n := 0; n < s.N; n++ {
		for k := 0; k < s.K; k++ {
			for oy := 0; oy < s.H; oy++ {
				for ox := 0; ox < s.W; ox++ {
					v := float64(b[k])
					for c := 0; c < s.C; c++ {
						for ky := 0; ky < 3; ky++ {
							for kx := 0; kx < 3; kx++ {
								iy, ix := oy+ky-1, ox+kx-1
								if iy >= 0 && iy < s.H && ix >= 0 && ix < s.W {
									v += float64(w[k*s.C*9+c*9+ky*3+kx]) * float64(x[((n*s.C+c)*s.H+iy)*s.W+ix])
								}
							}
						}
					}
					y[((n*s.K+k)*s.H+oy)*s.W+ox] = v
				}
			}
		}
	}
	return y
}

func randVec(rng *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = 2*rng.Float32() - 1
	}
	return v
}

func closeTo(t *testing.T, what string, got []float32, want []float64, tol float64) {
	t.Helper()
	for i := range want {
		if d := math.Abs(float64(got[i]) - want[i]); !(d <= tol*(1+math.Abs(want[i]))) {
			t.Fatalf("%s[%d] = %g, want %g", what, i, got[i], want[i])
		}
	}
}

// TestConv3x3Blocked: the blocked forward, weight gradient and input
// gradient against the definition (the gradients through the adjoint
// identities ⟨dy, conv(x)⟩ = ⟨dW, W⟩-style sums written out), on shapes of
// one block and of several with a short last block.
func TestConv3x3Blocked(t *testing.T) {
	for _, s := range []Conv3x3Shape{{N: 3, C: 1, H: 5, W: 4, K: 2}, {N: 10, C: 16, H: 20, W: 20, K: 8}} {
		if s.N == 10 && s.Blocks() < 3 {
			t.Fatalf("%+v: %d blocks, want several (block %d)", s, s.Blocks(), s.Block())
		}
		rng := rand.New(rand.NewPCG(uint64(s.N), 3))
		hw, ck := s.H*s.W, 9*s.C
		x, w, b := randVec(rng, s.N*s.C*hw), randVec(rng, s.K*ck), randVec(rng, s.K)
		dy := randVec(rng, s.N*s.K*hw)
		cols, yt, y := make([]float32, s.ColsLen()), make([]float32, s.ScratchLen()), make([]float32, s.N*s.K*hw)
		// two "parts": blocks split unevenly
		mid := s.Blocks() / 2
		Conv3x3Forward(s, x, w, b, cols, yt, y, 0, mid)
		Conv3x3Forward(s, x, w, b, cols, yt, y, mid, s.Blocks())
		closeTo(t, "y", y, naiveConv3x3(s, x, w, b), 1e-5)

		// dW[k, c·9+t] = Σ_n,p dy[n,k,p] · x shifted by tap t; dx by the
		// adjoint: dx = ∂/∂x Σ dy·conv(x), computed by the definition.
		dwWant := make([]float64, s.K*ck)
		dxWant := make([]float64, s.N*s.C*hw)
		for n := 0; n < s.N; n++ {
			for k := 0; k < s.K; k++ {
				for oy := 0; oy < s.H; oy++ {
					for ox := 0; ox < s.W; ox++ {
						g := float64(dy[((n*s.K+k)*s.H+oy)*s.W+ox])
						for c := 0; c < s.C; c++ {
							for t := 0; t < 9; t++ {
								iy, ix := oy+t/3-1, ox+t%3-1
								if iy >= 0 && iy < s.H && ix >= 0 && ix < s.W {
									xi := ((n*s.C+c)*s.H+iy)*s.W + ix
									dwWant[k*ck+c*9+t] += g * float64(x[xi])
									dxWant[xi] += g * float64(w[k*ck+c*9+t])
								}
							}
						}
					}
				}
			}
		}
		dw := make([]float32, s.K*ck)
		Conv3x3GradWeight(s, dy, cols, yt, dw, 0, s.Blocks())
		closeTo(t, "dW", dw, dwWant, 1e-4)
		dx := randVec(rng, s.N*s.C*hw) // overwritten, not added to
		dcols := make([]float32, s.ScratchLen())
		Conv3x3GradInput(s, dy, w, yt, dcols, dx, 0, mid)
		Conv3x3GradInput(s, dy, w, yt, dcols, dx, mid, s.Blocks())
		closeTo(t, "dx", dx, dxWant, 1e-5)
	}
}

// TestPoolAndChannelSumSpans: the span versions equal the whole-tensor
// kernels exactly (max-pool) or to float rounding (channel sums).
func TestPoolAndChannelSumSpans(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	planes, h, w := 6, 7, 6 // odd height: the last row is dropped
	x := randVec(rng, planes*h*w)
	x[3] = x[2] // a tie: the first maximum wins in both
	y, am := make([]float32, planes*(h/2)*(w/2)), make([]int32, planes*(h/2)*(w/2))
	MaxPool2Forward(x, planes, h, w, y, am)
	y2, am2 := make([]float32, len(y)), make([]int32, len(am))
	MaxPool2ForwardPlanes(x, h, w, y2, am2, 0, 2)
	MaxPool2ForwardPlanes(x, h, w, y2, am2, 2, planes)
	for i := range y {
		if y[i] != y2[i] || am[i] != am2[i] {
			t.Fatalf("pool output %d: %g at %d, want %g at %d", i, y2[i], am2[i], y[i], am[i])
		}
	}
	dy := randVec(rng, len(y))
	dx, dx2 := make([]float32, len(x)), randVec(rng, len(x))
	MaxPool2Backward(dy, am, dx)
	MaxPool2BackwardPlanes(dy, am, dx2, h, w, 0, 3)
	MaxPool2BackwardPlanes(dy, am, dx2, h, w, 3, planes)
	for i := range dx {
		if dx[i] != dx2[i] {
			t.Fatalf("pool gradient %d: %g, want %g", i, dx2[i], dx[i])
		}
	}
	n, c, s := 3, 5, 37
	v := randVec(rng, n*c*s)
	want, got := make([]float32, c), make([]float32, c)
	ChannelSum(want, v, n, c, s)
	ChannelSumSpan(got, v, n, c, s, 0, 2)
	ChannelSumSpan(got, v, n, c, s, 2, c)
	for i := range want {
		if math.Abs(float64(got[i]-want[i])) > 1e-5 {
			t.Fatalf("channel %d: %g, want %g", i, got[i], want[i])
		}
	}
}

// BenchmarkConv3x3 times the CNN 16,32's two convolutions at batch 128 on
// one core (all blocks serially): forward, weight and input gradients,
// with their GEMM rate.
func BenchmarkConv3x3(b *testing.B) {
	for _, s := range []Conv3x3Shape{{N: 128, C: 1, H: 28, W: 28, K: 16}, {N: 128, C: 16, H: 14, W: 14, K: 32}} {
		rng := rand.New(rand.NewPCG(1, 1))
		hw, ck := s.H*s.W, 9*s.C
		x, w, bias, dy := randVec(rng, s.N*s.C*hw), randVec(rng, s.K*ck), randVec(rng, s.K), randVec(rng, s.N*s.K*hw)
		cols, s1, s2 := make([]float32, s.ColsLen()), make([]float32, s.ScratchLen()), make([]float32, s.ScratchLen())
		y, dw, dx := make([]float32, s.N*s.K*hw), make([]float32, s.K*ck), make([]float32, s.N*s.C*hw)
		flop := 2 * float64(s.N*s.K*hw*ck)
		name := fmt.Sprintf("%dx%dx%dx%d-to-%d", s.N, s.C, s.H, s.W, s.K)
		for _, pass := range []struct {
			name string
			run  func()
		}{
			{"forward", func() { Conv3x3Forward(s, x, w, bias, cols, s1, y, 0, s.Blocks()) }},
			{"grad-weight", func() { clear(dw); Conv3x3GradWeight(s, dy, cols, s1, dw, 0, s.Blocks()) }},
			{"grad-input", func() { Conv3x3GradInput(s, dy, w, s1, s2, dx, 0, s.Blocks()) }},
		} {
			b.Run(name+"/"+pass.name, func(b *testing.B) {
				pass.run()
				for b.Loop() {
					pass.run()
				}
				b.ReportMetric(flop*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

// BenchmarkMaxPool2 times the 2×2 max-pool and its gradient over the CNN
// 16,32's first activations at batch 128, one core.
func BenchmarkMaxPool2(b *testing.B) {
	planes, h, w := 128*16, 28, 28
	rng := rand.New(rand.NewPCG(2, 2))
	x := randVec(rng, planes*h*w)
	y, am := make([]float32, planes*h*w/4), make([]int32, planes*h*w/4)
	dx := make([]float32, len(x))
	b.Run("forward/128x16x28x28", func(b *testing.B) {
		b.SetBytes(int64(4 * (len(x) + 2*len(y))))
		for b.Loop() {
			MaxPool2ForwardPlanes(x, h, w, y, am, 0, planes)
		}
	})
	b.Run("backward/128x16x28x28", func(b *testing.B) {
		b.SetBytes(int64(4 * (len(x) + 2*len(y))))
		for b.Loop() {
			MaxPool2BackwardPlanes(y, am, dx, h, w, 0, planes)
		}
	})
}
