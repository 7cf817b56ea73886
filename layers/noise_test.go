package layers

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	G "gorgonia.org/gorgonia"
)

// rewindOp is the identity that sets a NoiseState's Draws back to 0 when it
// runs: placed before a NormNoise it makes every run of the graph draw the
// same noise, so that finite differences see one fixed affine map.
type rewindOp struct {
	opBase
	st *NoiseState
}

func rewind(x *G.Node, st *NoiseState) (*G.Node, error) {
	op := &rewindOp{st: st}
	op.opBase = opBase{name: "Rewind", inDims: []int{x.Dims()}, out: x.Shape().Clone(), self: op}
	return apply(op, x)
}

func (op *rewindOp) Exec(out []float32, in [][]float32) { op.st.Draws = 0; copy(out, in[0]) }
func (op *rewindOp) Do(v ...G.Value) (G.Value, error)   { return doWith(op, v) }
func (op *rewindOp) DiffWRT(int) []bool                 { return []bool{true} }
func (op *rewindOp) SymDiff(_ G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	return G.Nodes{grad}, nil
}

// TestNormNoiseGradCheck: with the noise held fixed, the op's backward pass
// matches central differences of its forward pass, 2-D and 4-D, after a
// BatchNorm as in a model.
func TestNormNoiseGradCheck(t *testing.T) {
	for i, shape := range [][]int{{6, 4}, {3, 2, 3, 3}} {
		c := shape[1]
		t.Run(shapeName(shape), func(t *testing.T) {
			checkGrads(t, gradCase{
				name: "NormNoise",
				inputs: func(rng *rand.Rand) []input {
					return []input{
						{"x", shape, channelData(rng, shape), true},
						{"gamma", []int{1, c}, randScale(rng, c), true},
						{"beta", []int{1, c}, randNormal(rng, c, 0, 0.5), true},
					}
				},
				build: func(t *testing.T, g *G.ExprGraph, n []*G.Node) *G.Node {
					must := mustNode(t)
					bn := NewBNState(c, 0.1, 1e-5)
					st := NewNoiseState(0.5, 1.25, bn)
					st.Seed = 99
					y := must(BatchNorm(n[0], n[1], n[2], bn))
					return must(NormNoise(must(rewind(y, st)), st))
				},
			}, uint64(i)+40)
		})
	}
}

// TestNormNoiseDraws checks the noise itself: each step's shift and scale
// stay within their ranges, are the same for a given (Seed, Draws) and
// differ between steps; eval mode is the identity.
func TestNormNoiseDraws(t *testing.T) {
	const n, c, s = 200, 3, 2
	bn := NewBNState(c, 0.1, 1e-5)
	st := NewNoiseState(0.5, 1.25, bn)
	st.Seed = 7
	g := G.NewGraph()
	x := tensorNode(g, "x", []int{n, c, 1, s}, make([]float32, n*c*s))
	y := mustNode(t)(NormNoise(x, st))
	op := y.Op().(*NormNoiseOp)
	in := make([]float32, n*c*s)
	for i := range in {
		in[i] = float32(i%5) - 2
	}
	out := make([]float32, len(in))
	forward := func() ([]float32, []float32) {
		op.Exec(out, [][]float32{in})
		return slices.Clone(out), slices.Clone(op.scale)
	}
	first, scale1 := forward()
	if st.Draws != 1 {
		t.Fatalf("Draws %d after one training forward, want 1", st.Draws)
	}
	second, _ := forward()
	st.Draws = 0
	again, _ := forward()
	if !slices.Equal(first, again) {
		t.Error("the same (Seed, Draws) drew different noise")
	}
	if slices.Equal(first, second) {
		t.Error("two steps drew the same noise")
	}
	// y = s·x + m: recover s and m from two inputs of each (example,
	// channel) and check their ranges; s also against the stash.
	lo, hi := float32(1*(1-NoiseJitter)), float32(1.25*(1+NoiseJitter))
	mlo, mhi := float32(-0.5-NoiseJitter), float32(0.5+NoiseJitter)
	for i := 0; i < n; i++ {
		for k := 0; k < c; k++ {
			b := (i*c + k) * s
			x0, x1 := in[b], in[b+1]
			if x0 == x1 {
				continue
			}
			sc := (first[b+1] - first[b]) / (x1 - x0)
			m := first[b] - sc*x0
			if math.Abs(float64(sc-scale1[i*c+k])) > 1e-5 {
				t.Fatalf("scale %v, stash %v", sc, scale1[i*c+k])
			}
			if sc < lo-1e-5 || sc > hi+1e-5 || m < mlo-1e-5 || m > mhi+1e-5 {
				t.Fatalf("example %d channel %d: scale %v (want [%v, %v]) shift %v (want [%v, %v])", i, k, sc, lo, hi, m, mlo, mhi)
			}
		}
	}
	// the per-channel mean shift is shared by the examples: the shifts of
	// one channel cluster within ±jitter of their mean.
	for k := 0; k < c; k++ {
		var ms []float64
		for i := 0; i < n; i++ {
			b := (i*c + k) * s
			if in[b] != in[b+1] {
				sc := (first[b+1] - first[b]) / (in[b+1] - in[b])
				ms = append(ms, float64(first[b]-sc*in[b]))
			}
		}
		mean := 0.0
		for _, v := range ms {
			mean += v / float64(len(ms))
		}
		for _, v := range ms {
			if math.Abs(v-mean) > 2*NoiseJitter {
				t.Fatalf("channel %d: shift %v far from the channel's %v", k, v, mean)
			}
		}
	}
	bn.Training = false
	st.Draws = 5
	eval, scale := forward()
	if !slices.Equal(eval, in) || st.Draws != 5 {
		t.Errorf("eval mode changed the input or drew noise (Draws %d)", st.Draws)
	}
	for _, v := range scale {
		if v != 1 {
			t.Fatalf("eval-mode scale %v, want 1", v)
		}
	}
}
