package graph

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// tinyCNN3 asks tinySpec for a three-block CNN (the last block without a
// pool); it is a test's name only, not a model kind.
const tinyCNN3 ModelKind = 200

// tinyName names a tinySpec model kind in subtests.
func tinyName(m ModelKind) string {
	if m == tinyCNN3 {
		return "cnn3"
	}
	return m.String()
}

// tinySpec is a small model of the given kind: mlp, cnn (two blocks, both
// pooling), tinyCNN3, resnet (two stages of two blocks: identity skips in
// s1, a pool and a projection in s2).
func tinySpec(model ModelKind, norm Norm) Spec {
	s := DefaultSpec()
	s.Model, s.Norm = model, norm
	s.InRows, s.InCols, s.Classes = 8, 8, 5
	s.Hidden = []int{12, 7}
	switch model {
	case ModelCNN:
		s.Hidden = []int{3, 4}
		s.InRows, s.InCols = 16, 16 // both blocks pool: 16→8→4
	case tinyCNN3:
		s.Model, s.Hidden = ModelCNN, []int{3, 4, 2}
		s.InRows, s.InCols = 16, 16 // 16→8→4, the third block stays 4×4
	case ModelResNet:
		s.Hidden, s.Blocks = []int{3, 4}, 2
		s.InRows, s.InCols = 16, 16
	}
	if norm == NormGroup { // groups of 3 and 2 units, or 3 and 4 channels: neither LayerNorm nor InstanceNorm
		s.Hidden, s.Groups = []int{12, 8}, 4
		switch model {
		case ModelCNN, ModelResNet:
			s.Hidden, s.Groups = []int{6, 8}, 2
		case tinyCNN3:
			s.Hidden, s.Groups = []int{6, 8, 4}, 2
		}
	}
	return s
}

// randomBatch fills the model's input and labels with random values.
func randomBatch(m *Model, rng *rand.Rand) (x, y []float32) {
	x = make([]float32, m.Batch*m.Spec.InFeatures())
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	y = make([]float32, m.Batch)
	for i := range y {
		y[i] = float32(rng.IntN(m.Spec.Classes))
	}
	return x, y
}

// TestCPUMachineMatchesTapeMachine runs the same graph on gorgonia's own
// tape machine and on normtap's CPU machine: loss and every parameter
// gradient must agree. This is what shows the graph is a real Gorgonia
// graph and that the machine runs it faithfully.
func TestCPUMachineMatchesTapeMachine(t *testing.T) {
	for _, model := range []ModelKind{ModelMLP, ModelCNN, tinyCNN3, ModelResNet} {
		for _, norm := range Norms() {
			for _, pos := range []NormPos{NormPre, NormPost} {
				if model == ModelResNet && pos == NormPost {
					continue // the resnet takes pre only (Spec.Validate)
				}
				t.Run(fmt.Sprintf("%s/%s/%s", tinyName(model), norm, pos), func(t *testing.T) {
					s := tinySpec(model, norm)
					s.NormPos = pos
					m, err := Build(s, 6)
					if err != nil {
						t.Fatal(err)
					}
					rng := rand.New(rand.NewPCG(7, 7))
					m.Init(rng)
					x, y := randomBatch(m, rng)
					// gorgonia's tape machine on the graph's own input values
					copy(m.X.Value().Data().([]float32), x)
					copy(m.Labels.Value().Data().([]float32), y)
					tm := G.NewTapeMachine(m.G)
					defer tm.Close()
					if err := tm.RunAll(); err != nil {
						t.Fatal(err)
					}
					wantLoss := float32(*(m.Loss.Value().(*G.F32)))
					want := make([][]float32, len(m.Params))
					for i, p := range m.Params {
						want[i] = append([]float32(nil), p.Grad.Value().Data().([]float32)...)
					}
					tm.Reset()
					cm, err := NewCPUMachine(m, OptSpec{Kind: OptSGD, LR: 0})
					if err != nil {
						t.Fatal(err)
					}
					loss, _, err := cm.Backward(x, y) // Step would consume the gradients it checks
					if err != nil {
						t.Fatal(err)
					}
					if d := math.Abs(float64(loss - wantLoss)); d > 1e-6*math.Max(1, math.Abs(float64(wantLoss))) {
						t.Fatalf("loss %v, tape machine %v", loss, wantLoss)
					}
					for i, p := range m.Params {
						got := cm.grads[i]
						for j := range got {
							if d := math.Abs(float64(got[j] - want[i][j])); d > 1e-5+1e-4*math.Abs(float64(want[i][j])) {
								t.Fatalf("d%s[%d] = %v, tape machine %v", p.Name, j, got[j], want[i][j])
							}
						}
					}
				})
			}
		}
	}
}

// TestMachineRejectsForeignOps: the machine runs normtap's ops only and
// names the op it cannot run.
func TestMachineRejectsForeignOps(t *testing.T) {
	m, err := Build(tinySpec(ModelMLP, NormNone), 4)
	if err != nil {
		t.Fatal(err)
	}
	// a gorgonia-native op hanging off the logits
	if _, err := G.Sum(m.Logits); err != nil {
		t.Fatal(err)
	}
	_, err = NewCPUMachine(m, OptSpec{Kind: OptSGD, LR: 0.1})
	if err == nil {
		t.Fatal("a graph with a gorgonia Sum was accepted")
	}
	t.Log(err)
}

// TestTapNames follows DESIGN.md: the same names with and without norm.
func TestTapNames(t *testing.T) {
	want := map[ModelKind][]string{
		ModelMLP: {"h1.linear", "h1.norm", "h1.act", "h2.linear", "h2.norm", "h2.act", "logits"},
		ModelCNN: {"c1.conv", "c1.norm", "c1.act", "c1.pool", "c2.conv", "c2.norm", "c2.act", "c2.pool", "logits"},
		tinyCNN3: {"c1.conv", "c1.norm", "c1.act", "c1.pool", "c2.conv", "c2.norm", "c2.act", "c2.pool",
			"c3.conv", "c3.norm", "c3.act", "logits"},
	}
	for model, names := range want {
		for _, norm := range Norms() {
			m, err := Build(tinySpec(model, norm), 4)
			if err != nil {
				t.Fatal(err)
			}
			got := m.TapNames()
			if fmt.Sprint(got) != fmt.Sprint(names) {
				t.Errorf("%s/%s: taps %v, want %v", model, norm, got, names)
			}
		}
	}
	m, _ := Build(tinySpec(ModelMLP, NormBatch), 4)
	if _, err := m.Tap("h9.act"); err == nil {
		t.Error("unknown tap accepted")
	}
	tp, _ := m.Tap("h1.act")
	if tp.Neurons != 12 || !tp.Shape.Eq(tensor.Shape{4, 12}) {
		t.Errorf("h1.act: %v with %d neurons", tp.Shape, tp.Neurons)
	}
}
