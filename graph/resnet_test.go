package graph

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// prototypeBatch is a learnable task for a net that ends in a global
// average pool: each class is a random 3×3 pattern tiled over the image
// (protos holds the tiled images), each example its class's image plus
// noise of half its size.
func prototypeBatch(m *Model, rng *rand.Rand, protos [][]float32) (x, y []float32) {
	d := m.Spec.InFeatures()
	x = make([]float32, m.Batch*d)
	y = make([]float32, m.Batch)
	for i := range y {
		c := rng.IntN(m.Spec.Classes)
		y[i] = float32(c)
		for j := 0; j < d; j++ {
			x[i*d+j] = protos[c][j] + float32(0.5*rng.NormFloat64())
		}
	}
	return x, y
}

// TestResNetInit: every γ starts at 1 and every conv is He-initialised,
// except without a norm (Fixup): each block's second conv starts at 0, its
// first is scaled by L^-1/2 for L blocks.
func TestResNetInit(t *testing.T) {
	for _, norm := range Norms() {
		s := tinySpec(ModelResNet, norm)
		s.Blocks = 4 // L = 8 blocks in all
		m, err := Build(s, 4)
		if err != nil {
			t.Fatal(err)
		}
		m.Init(rand.New(rand.NewPCG(1, 2)))
		for _, p := range m.Params {
			if strings.HasSuffix(p.Name, ".gamma") && (p.InitStd != 0 || p.InitConst != 1) {
				t.Errorf("%s: %s starts at N(0, %v²) + %v, want 1", norm, p.Name, p.InitStd, p.InitConst)
			}
			if strings.HasSuffix(p.Name, ".conv1.W") || strings.HasSuffix(p.Name, ".conv2.W") {
				fanIn := p.Shape[1]
				want := math.Sqrt(2 / float64(fanIn))
				if norm == NormNone && strings.HasSuffix(p.Name, ".conv1.W") {
					want /= math.Sqrt(8)
				}
				if norm == NormNone && strings.HasSuffix(p.Name, ".conv2.W") {
					want = 0
				}
				if math.Abs(p.InitStd-want) > 1e-12 {
					t.Errorf("%s: %s drawn with std %v, want %v", norm, p.Name, p.InitStd, want)
				}
			}
		}
	}
}

// TestResNetTrainsWithoutNorm: a resnet of 16 blocks (two stages of 8)
// with --norm none learns a prototype task as the normalised ones do, and
// its logits at the start are of the same size as with BatchNorm (Fixup
// keeps the signal from growing with depth). 120 Adam steps; the losses
// start at about ln 5 = 1.61.
func TestResNetTrainsWithoutNorm(t *testing.T) {
	for _, norm := range []Norm{NormNone, NormBatch} {
		t.Run(norm.String(), func(t *testing.T) {
			s := tinySpec(ModelResNet, norm)
			s.Hidden, s.Blocks, s.InRows, s.InCols = []int{6, 8}, 8, 8, 8
			m, err := Build(s, 16)
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(3, 3))
			m.Init(rng)
			protos := make([][]float32, s.Classes)
			for c := range protos {
				var pattern [9]float32
				for k := range pattern {
					pattern[k] = float32(rng.NormFloat64())
				}
				protos[c] = make([]float32, s.InFeatures())
				for j := range protos[c] {
					r, col := j/s.InCols, j%s.InCols
					protos[c][j] = pattern[r%3*3+col%3]
				}
			}
			cm, err := NewCPUMachine(m, OptSpec{Kind: OptAdam, LR: 3e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8})
			if err != nil {
				t.Fatal(err)
			}
			defer cm.Close()
			x, _ := prototypeBatch(m, rng, protos)
			logits, err := cm.Forward(x)
			if err != nil {
				t.Fatal(err)
			}
			var ss float64
			for _, v := range logits {
				ss += float64(v) * float64(v)
			}
			if rms := math.Sqrt(ss / float64(len(logits))); !(rms < 3) {
				t.Errorf("logits at init have rms %.3g: the signal grew with depth", rms)
			}
			var first, last float64
			correct := 0
			for step := range 120 {
				x, y := prototypeBatch(m, rng, protos)
				loss, c, err := cm.Step(x, y)
				if err != nil {
					t.Fatal(err)
				}
				if step == 0 {
					first = float64(loss)
				}
				if step >= 100 {
					last += float64(loss) / 20
					correct += c
				}
			}
			acc := float64(correct) / float64(20*m.Batch)
			t.Logf("%s: loss %.3f → %.3f, accuracy %.2f over the last 20 steps", norm, first, last, acc)
			if !(last < 0.25*first) || acc < 0.9 {
				t.Errorf("%s: loss %.3f → %.3f, accuracy %.2f over the last 20 steps; want < 1/4 of the first and ≥ 0.9", norm, first, last, acc)
			}
		})
	}
}

// TestResNetTapNames: the names DESIGN.md's scheme gives the resnet, the
// same with and without norm.
func TestResNetTapNames(t *testing.T) {
	want := "[stem.conv stem.norm stem.act" +
		" s1.b1.conv1 s1.b1.norm1 s1.b1.act1 s1.b1.conv2 s1.b1.norm2 s1.b1.out" +
		" s1.b2.conv1 s1.b2.norm1 s1.b2.act1 s1.b2.conv2 s1.b2.norm2 s1.b2.out" +
		" s2.pool s2.b1.conv1 s2.b1.norm1 s2.b1.act1 s2.b1.conv2 s2.b1.norm2 s2.b1.proj s2.b1.out" +
		" s2.b2.conv1 s2.b2.norm1 s2.b2.act1 s2.b2.conv2 s2.b2.norm2 s2.b2.out pool logits]"
	for _, norm := range Norms() {
		s := tinySpec(ModelResNet, norm)
		m, err := Build(s, 4)
		if err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprint(m.TapNames()); got != want {
			t.Errorf("%s: taps\n %s\nwant\n %s", norm, got, want)
		}
		wantShape := fmt.Sprintf("(4, %d, 8, 8)", s.Hidden[1])
		if tp, _ := m.Tap("s2.b1.out"); fmt.Sprint(tp.Shape) != wantShape {
			t.Errorf("%s: s2.b1.out has shape %v, want %s", norm, tp.Shape, wantShape)
		}
	}
}
