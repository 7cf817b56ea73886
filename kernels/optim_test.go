package kernels

import (
	"math"
	"testing"
)

// TestOptimizersMatchHandComputation checks one step of each optimizer.
func TestOptimizersMatchHandComputation(t *testing.T) {
	w := []float32{1, -2}
	g := []float32{0.5, -1}
	SGDUpdate(w, g, 0.1)
	if w[0] != 0.95 || w[1] != -1.9 {
		t.Errorf("sgd: %v", w)
	}
	w, v := []float32{1}, []float32{2}
	MomentumUpdate(w, []float32{1}, v, 0.1, 0.9) // v = 0.9·2+1 = 2.8; w = 1−0.28
	if math.Abs(float64(v[0]-2.8)) > 1e-6 || math.Abs(float64(w[0]-0.72)) > 1e-6 {
		t.Errorf("momentum: w %v v %v", w, v)
	}
	// Adam's first step moves each weight by lr·sign(g) (up to ε).
	w, mm, vv := []float32{1, 1}, []float32{0, 0}, []float32{0, 0}
	AdamUpdate(w, []float32{3, -0.01}, mm, vv, 0.01, 0.9, 0.999, 1e-8, 1)
	if math.Abs(float64(w[0]-0.99)) > 1e-5 || math.Abs(float64(w[1]-1.01)) > 1e-5 {
		t.Errorf("adam: %v", w)
	}
	// second step by hand
	w2 := w[0]
	AdamUpdate(w, []float32{1, 0}, mm, vv, 0.01, 0.9, 0.999, 1e-8, 2)
	m2 := 0.9*0.3 + 0.1*1.0
	v2 := 0.999*0.001*9 + 0.001*1
	want := float64(w2) - 0.01*(m2/(1-0.81))/(math.Sqrt(v2/(1-0.999*0.999))+1e-8)
	if math.Abs(float64(w[0])-want) > 1e-5 {
		t.Errorf("adam step 2: %v, want %v", w[0], want)
	}
}

// TestAdamAVXMatchesGo: the vector Adam step equals the Go loop bit for
// bit on every length up to 40.
func TestAdamAVXMatchesGo(t *testing.T) {
	for n := 0; n <= 40; n++ {
		w1, g, m1, v1 := make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
		for i := range w1 {
			w1[i] = float32(math.Sin(float64(i)))
			g[i] = float32(math.Cos(float64(3*i))) * 0.01
			m1[i] = float32(i) * 1e-3
			v1[i] = float32(i) * 1e-5
		}
		w2, m2, v2 := append([]float32{}, w1...), append([]float32{}, m1...), append([]float32{}, v1...)
		adam(w1, g, m1, v1, 0.9, 0.1, 0.999, 0.001, 0.0013, 1.2, 1e-8)
		adamGo(w2, g, m2, v2, 0.9, 0.1, 0.999, 0.001, 0.0013, 1.2, 1e-8)
		for i := range w1 {
			if math.Float32bits(w1[i]) != math.Float32bits(w2[i]) || m1[i] != m2[i] || v1[i] != v2[i] {
				t.Fatalf("n=%d, element %d: w %v m %v v %v, Go gives %v %v %v", n, i, w1[i], m1[i], v1[i], w2[i], m2[i], v2[i])
			}
		}
	}
}
