package graph

import "testing"

// TestStepFLOP: the FLOP of a training step's matrix products, against
// the count by hand: forward, input gradient (not for the first layer,
// whose input is data) and weight gradient, 2 FLOP per multiply-add.
func TestStepFLOP(t *testing.T) {
	mlp := DefaultSpec()
	cnn := DefaultSpec()
	cnn.Model, cnn.Hidden = ModelCNN, []int{16, 32}
	cases := []struct {
		name string
		spec Spec
		macs int64 // per example
	}{
		// 784-1024-1024-10: 3·(784·1024 + 1024·1024 + 1024·10) − 784·1024
		// = 4,782,080 MACs, 9.56 MFLOP (11.17 if the first layer's input
		// gradient were computed, as the textbook 6·parameters counts).
		{"mlp 784-1024-1024-10", mlp, 3*(784*1024+1024*1024+1024*10) - 784*1024},
		// conv1 1→16 at 28×28 (forward, weight gradient), conv2 16→32 at
		// 14×14 (all three), linear 32·7·7 → 10 (all three).
		{"cnn 16,32", cnn, 2*16*9*784 + 3*32*144*196 + 3*1568*10},
	}
	for _, c := range cases {
		for _, norm := range Norms() {
			s := c.spec
			s.Norm = norm
			m, err := Build(s, 128)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := m.StepFLOP(), 2*c.macs*128; got != want {
				t.Errorf("%s %s: StepFLOP %d, want %d", c.name, norm, got, want)
			}
		}
	}
}
