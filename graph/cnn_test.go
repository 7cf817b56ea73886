package graph

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// cnnPinLosses are the losses of five momentum steps of the two-block CNN
// below, recorded from main at 4136238 (before the CNN took any depth) with the
// pure-Go BLAS.
// Building the two-block CNN the general way must give the same network:
// same tap names and shapes, same parameters in the same order, the same
// losses (to float rounding: a different BLAS or a re-batched convolution
// sums in another order, a structural change moves them by far more).
var cnnPinLosses = map[Norm][]float64{
	NormNone:  {2.6303436756134033, 1.6624834537506104, 0.8533022403717041, 0.619952917098999},
	NormBatch: {2.1390042304992676, 1.6429678201675415, 1.1354199647903442, 0.6561219096183777},
	NormLayer: {2.2723548412323, 1.6917954683303833, 1.3703809976577759, 1.0365866422653198},
}

// cnnPinShapes are its tap points and parameters, recorded with the losses.
var cnnPinShapes = map[Norm]string{
	NormNone:  "[c1.conv(8, 4, 28, 28) c1.norm(8, 4, 28, 28) c1.act(8, 4, 28, 28) c1.pool(8, 4, 14, 14) c2.conv(8, 8, 14, 14) c2.norm(8, 8, 14, 14) c2.act(8, 8, 14, 14) c2.pool(8, 8, 7, 7) logits(8, 10) c1.W(4, 9) c1.b(1, 4) c2.W(8, 36) c2.b(1, 8) out.W(392, 10) out.b(1, 10)]",
	NormBatch: "[c1.conv(8, 4, 28, 28) c1.norm(8, 4, 28, 28) c1.act(8, 4, 28, 28) c1.pool(8, 4, 14, 14) c2.conv(8, 8, 14, 14) c2.norm(8, 8, 14, 14) c2.act(8, 8, 14, 14) c2.pool(8, 8, 7, 7) logits(8, 10) c1.W(4, 9) c1.b(1, 4) c1.gamma(1, 4) c1.beta(1, 4) c2.W(8, 36) c2.b(1, 8) c2.gamma(1, 8) c2.beta(1, 8) out.W(392, 10) out.b(1, 10)]",
	NormLayer: "[c1.conv(8, 4, 28, 28) c1.norm(8, 4, 28, 28) c1.act(8, 4, 28, 28) c1.pool(8, 4, 14, 14) c2.conv(8, 8, 14, 14) c2.norm(8, 8, 14, 14) c2.act(8, 8, 14, 14) c2.pool(8, 8, 7, 7) logits(8, 10) c1.W(4, 9) c1.b(1, 4) c1.gamma(1, 3136) c1.beta(1, 3136) c2.W(8, 36) c2.b(1, 8) c2.gamma(1, 1568) c2.beta(1, 1568) out.W(392, 10) out.b(1, 10)]",
}

func cnnPinRun(t *testing.T, norm Norm) ([]float64, []string) {
	t.Helper()
	s := DefaultSpec()
	s.Model, s.Norm, s.Hidden = ModelCNN, norm, []int{4, 8}
	m, err := Build(s, 8)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(11, 12))
	m.Init(rng)
	x, y := randomBatch(m, rng)
	cm, err := NewCPUMachine(m, OptSpec{Kind: OptMomentum, LR: 0.01, Momentum: 0.9})
	if err != nil {
		t.Fatal(err)
	}
	defer cm.Close()
	var losses []float64
	for range 4 {
		loss, _, err := cm.Step(x, y)
		if err != nil {
			t.Fatal(err)
		}
		losses = append(losses, float64(loss))
	}
	var desc []string
	for _, tp := range m.Taps {
		desc = append(desc, fmt.Sprintf("%s%v", tp.Name, tp.Shape))
	}
	for _, p := range m.Params {
		desc = append(desc, fmt.Sprintf("%s%v", p.Name, p.Shape))
	}
	return losses, desc
}

// TestTwoBlockCNNPinned: the two-block CNN is the network main built
// before the CNN took any depth (seeded init, four momentum steps).
func TestTwoBlockCNNPinned(t *testing.T) {
	for _, norm := range []Norm{NormNone, NormBatch, NormLayer} {
		losses, desc := cnnPinRun(t, norm)
		if got := fmt.Sprint(desc); got != cnnPinShapes[norm] {
			t.Errorf("%s: taps and parameters\n %s\nwant\n %s", norm, got, cnnPinShapes[norm])
		}
		// 1e-5 relative: the two BLAS builds differ by < 1e-6 here
		for i, want := range cnnPinLosses[norm] {
			if d := math.Abs(losses[i] - want); d > 1e-5*want {
				t.Errorf("%s: step %d loss %.9g, recorded %.9g", norm, i+1, losses[i], want)
			}
		}
	}
}

// TestConvModelsStepAllocateNothing: TestStepAllocatesNothing for the
// three-block CNN and the resnet.
func TestConvModelsStepAllocateNothing(t *testing.T) {
	for _, model := range []ModelKind{tinyCNN3, ModelResNet} {
		for _, norm := range Norms() {
			t.Run(tinyName(model)+"/"+norm.String(), func(t *testing.T) {
				m, err := Build(tinySpec(model, norm), 6)
				if err != nil {
					t.Fatal(err)
				}
				rng := rand.New(rand.NewPCG(5, 6))
				m.Init(rng)
				x, y := randomBatch(m, rng)
				cm, err := NewCPUMachine(m, OptSpec{Kind: OptAdam, LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8})
				if err != nil {
					t.Fatal(err)
				}
				defer cm.Close()
				if _, _, err := cm.Step(x, y); err != nil {
					t.Fatal(err)
				}
				if a := testing.AllocsPerRun(10, func() {
					if _, _, err := cm.Step(x, y); err != nil {
						t.Fatal(err)
					}
				}); a != 0 {
					t.Errorf("Step allocates %v times per call, want 0", a)
				}
				if a := testing.AllocsPerRun(10, func() {
					cm.SetTraining(false)
					if _, err := cm.Forward(x); err != nil {
						t.Fatal(err)
					}
					cm.SetTraining(true)
				}); a != 0 {
					t.Errorf("eval Forward allocates %v times per call, want 0", a)
				}
			})
		}
	}
}
