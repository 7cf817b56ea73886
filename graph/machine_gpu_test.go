//go:build gpu

package graph

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestGPUMachineMatchesCPU runs the same MLP, initial parameters and
// batches on the CPU machine and the GPU machine for a few steps (Adam;
// momentum with BatchNorm) in
// training mode, then one eval forward: losses, right answers, parameters
// and BatchNorm running statistics must agree. Tolerance: 1e-4 relative
// plus 1e-5 absolute (GEMM reductions of up to 64 terms in another order).
func TestGPUMachineMatchesCPU(t *testing.T) {
	for _, c := range []struct {
		model ModelKind
		act   string
	}{
		{ModelMLP, "relu"}, {ModelMLP, "gelu"}, {ModelMLP, "sigmoid"}, {ModelMLP, "tanh"}, {ModelCNN, "relu"}, {ModelCNN, "tanh"},
		{tinyCNN3, "relu"}, {ModelResNet, "relu"}, {ModelResNet, "tanh"},
	} {
		for _, norm := range Norms() {
			model, act := c.model, c.act
			t.Run(tinyName(model)+"/"+norm.String()+"/"+act, func(t *testing.T) {
				s := DefaultSpec()
				s.Model, s.Norm, s.Act, s.Hidden = model, norm, act, []int{64, 48}
				s.InRows, s.InCols, s.Classes = 8, 8, 10
				tapNode := "h2.norm"
				switch model {
				case ModelCNN:
					s.Hidden, s.InRows, s.InCols, tapNode = []int{3, 5}, 10, 10, "c2.norm"
				case tinyCNN3: // 16→8→4, the third block without a pool
					s.Model, s.Hidden, s.InRows, s.InCols, tapNode = ModelCNN, []int{3, 5, 4}, 16, 16, "c3.norm"
				case ModelResNet: // identity skips in s1, a pool, a 1×1 projection, the global average pool
					s.Hidden, s.Blocks, s.InRows, s.InCols, tapNode = []int{3, 5}, 2, 10, 10, "s2.b1.norm2"
				}
				if norm == NormGroup { // groups of 8 and 6 units, or of 2 and 3 channels
					s.Groups = 8
					if model != ModelMLP {
						s.Groups = 2
						s.Hidden = []int{4, 6}
						if model == tinyCNN3 {
							s.Hidden = []int{4, 6, 4}
						}
					}
				}
				build := func() *Model {
					m, err := Build(s, 32)
					if err != nil {
						t.Fatal(err)
					}
					m.Init(rand.New(rand.NewPCG(11, 12)))
					return m
				}
				opt := OptSpec{Kind: OptAdam, LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}
				if norm == NormBatch {
					// The bias before a BatchNorm has a zero gradient up to
					// rounding; Adam would blow that noise up to steps of
					// size lr, different on each device. Momentum does not.
					opt = OptSpec{Kind: OptMomentum, LR: 0.05, Momentum: 0.9}
				}
				if norm == NormGroup && act == "sigmoid" {
					// With Adam, h2.W[2991] ended 5 steps 0.16·lr apart
					// (Adam divides by √v: a weight whose gradient is near
					// rounding level moves by ~lr either way); momentum
					// keeps differences proportional, as for BatchNorm.
					opt = OptSpec{Kind: OptMomentum, LR: 0.05, Momentum: 0.9}
				}
				mc, mg := build(), build()
				cpu, err := NewCPUMachine(mc, opt)
				if err != nil {
					t.Fatal(err)
				}
				gpu, err := NewGPUMachine(mg, opt)
				if err != nil {
					t.Fatal(err)
				}
				defer gpu.Close()
				rng := rand.New(rand.NewPCG(5, 6))
				for step := 0; step < 5; step++ {
					x, y := randomBatch(mc, rng)
					lc, rc, err := cpu.Step(x, y)
					if err != nil {
						t.Fatal(err)
					}
					lg, rg, err := gpu.Step(x, y)
					if err != nil {
						t.Fatal(err)
					}
					if !close32(lc, lg) || rc != rg {
						t.Fatalf("step %d: cpu loss %v right %d, gpu %v %d", step, lc, rc, lg, rg)
					}
				}
				if err := gpu.SyncParams(); err != nil {
					t.Fatal(err)
				}
				for i, p := range mc.Params {
					if err := near(p.Value, mg.Params[i].Value); err != nil {
						t.Fatalf("%s after 5 steps: %v", p.Name, err)
					}
				}
				for i, l := range mc.BN {
					if err := near(l.State.RunningVar, mg.BN[i].State.RunningVar); err != nil {
						t.Fatalf("%s running var: %v", l.Name, err)
					}
				}
				cpu.SetTraining(false)
				gpu.SetTraining(false)
				x, _ := randomBatch(mc, rng)
				a, _ := cpu.Forward(x)
				a = append([]float32(nil), a...)
				b, err := gpu.Forward(x)
				if err != nil {
					t.Fatal(err)
				}
				if err := near(a, b); err != nil {
					t.Fatalf("eval logits: %v", err)
				}
				tp, err := mc.Tap(tapNode)
				if err != nil {
					t.Fatal(err)
				}
				tg, err := mg.Tap(tapNode)
				if err != nil {
					t.Fatal(err)
				}
				cols := []int{5, 0, 47}
				tc, tgpu := make([]float32, 20*3), make([]float32, 20*3)
				if err := cpu.ReadTap(tp, cols, 20, tc); err != nil {
					t.Fatal(err)
				}
				if err := gpu.ReadTap(tg, cols, 20, tgpu); err != nil {
					t.Fatal(err)
				}
				if err := near(tc, tgpu); err != nil {
					t.Fatalf("tap %s: %v", tapNode, err)
				}
			})
		}
	}
}

func close32(a, b float32) bool {
	return math.Abs(float64(a-b)) <= 1e-5+1e-4*math.Abs(float64(a))
}

func near(a, b []float32) error {
	for i := range a {
		if !close32(a[i], b[i]) {
			return fmt.Errorf("[%d] cpu %v gpu %v", i, a[i], b[i])
		}
	}
	return nil
}

// TestGPUCNNLaunchesPerStep: a CNN training step's kernel launches do not
// grow with the batch (one im2col/col2im and one GEMM per convolution and
// gradient for the whole batch). GEMM plans may split k differently at
// another batch size, which adds or removes a reduction launch per GEMM,
// hence the small slack.
func TestGPUCNNLaunchesPerStep(t *testing.T) {
	launches := map[int]int64{}
	for _, batch := range []int{4, 32} {
		s := DefaultSpec()
		s.Model, s.Norm, s.Act, s.Hidden = ModelCNN, NormBatch, "relu", []int{3, 5}
		s.InRows, s.InCols, s.Classes = 10, 10, 10
		m, err := Build(s, batch)
		if err != nil {
			t.Fatal(err)
		}
		m.Init(rand.New(rand.NewPCG(1, 2)))
		gm, err := NewGPUMachine(m, OptSpec{Kind: OptAdam, LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8})
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(3, 4))
		x, y := randomBatch(m, rng)
		if _, _, err := gm.Step(x, y); err != nil { // first step: allocations
			t.Fatal(err)
		}
		before := gm.dev.Launches()
		if _, _, err := gm.Step(x, y); err != nil {
			t.Fatal(err)
		}
		launches[batch] = gm.dev.Launches() - before
		gm.Close()
	}
	t.Logf("kernel launches per CNN training step by batch size: %v", launches)
	if d := launches[32] - launches[4]; d > 8 || d < -8 {
		t.Errorf("launches per step: %d at batch 4, %d at batch 32; want (nearly) equal", launches[4], launches[32])
	}
}

// TestGPUMachineGraphMode: with NORMTAP_CUDA_GRAPH=1 the step is captured
// once and replayed; losses, right answers and parameters after 6 steps
// equal the eager GPU machine's bit for bit (the same kernels on the same
// buffers), for Adam (whose step counter then lives on the device) and
// momentum, an MLP and a CNN, across a switch to eval mode and back.
func TestGPUMachineGraphMode(t *testing.T) {
	for _, c := range []struct {
		model ModelKind
		norm  Norm
		opt   OptSpec
	}{
		{ModelMLP, NormBatch, OptSpec{Kind: OptAdam, LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}},
		{ModelMLP, NormLayer, OptSpec{Kind: OptMomentum, LR: 0.05, Momentum: 0.9}},
		{ModelCNN, NormBatch, OptSpec{Kind: OptAdam, LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}},
	} {
		t.Run(c.model.String()+"/"+c.norm.String()+"/"+c.opt.Kind.String(), func(t *testing.T) {
			s := DefaultSpec()
			s.Model, s.Norm, s.Act, s.Hidden = c.model, c.norm, "relu", []int{32, 24}
			s.InRows, s.InCols, s.Classes = 8, 8, 10
			if c.model == ModelCNN {
				s.Hidden, s.InRows, s.InCols = []int{3, 5}, 10, 10
			}
			machine := func(graphMode bool) *GPUMachine {
				m, err := Build(s, 16)
				if err != nil {
					t.Fatal(err)
				}
				m.Init(rand.New(rand.NewPCG(11, 12)))
				if graphMode {
					t.Setenv("NORMTAP_CUDA_GRAPH", "1")
				} else {
					t.Setenv("NORMTAP_CUDA_GRAPH", "0")
				}
				gm, err := NewGPUMachine(m, c.opt)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { gm.Close() })
				return gm
			}
			eager, graphed := machine(false), machine(true)
			rng := rand.New(rand.NewPCG(5, 6))
			for step := 0; step < 6; step++ {
				if step == 3 { // eval mode, then back: a new capture each time
					for _, gm := range []*GPUMachine{eager, graphed} {
						gm.SetTraining(false)
					}
				}
				if step == 4 {
					for _, gm := range []*GPUMachine{eager, graphed} {
						gm.SetTraining(true)
					}
				}
				x, y := randomBatch(eager.m, rng)
				le, re, err := eager.Step(x, y)
				if err != nil {
					t.Fatal(err)
				}
				lg, rg, err := graphed.Step(x, y)
				if err != nil {
					t.Fatal(err)
				}
				if le != lg || re != rg {
					t.Fatalf("step %d: eager loss %v right %d, graph %v %d", step, le, re, lg, rg)
				}
			}
			if graphed.graph == nil {
				t.Fatal("graph mode captured no graph")
			}
			for _, gm := range []*GPUMachine{eager, graphed} {
				if err := gm.SyncParams(); err != nil {
					t.Fatal(err)
				}
			}
			for i, p := range eager.m.Params {
				q := graphed.m.Params[i].Value
				for j := range p.Value {
					if p.Value[j] != q[j] {
						t.Fatalf("%s[%d] after 6 steps: eager %v, graph %v", p.Name, j, p.Value[j], q[j])
					}
				}
			}
			if eager.state.Step != graphed.state.Step {
				t.Errorf("step counters: eager %d, graph %d", eager.state.Step, graphed.state.Step)
			}
		})
	}
}
