//go:build gpu

package graph

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestGPUMeasureNeverChangesTraining is TestMeasureNeverChangesTraining on
// the GPU machine (also under -tags 'gpu cudaemu'): two GPU machines train
// the same MLP with BatchNorm, one measured before every step; after each
// step their parameters, optimizer state and running statistics agree bit
// for bit. The measurements also agree with the CPU machine's.
func TestGPUMeasureNeverChangesTraining(t *testing.T) {
	s := tinySpec(ModelMLP, NormBatch)
	s.Act, s.Hidden = "sigmoid", []int{16, 12}
	opt := OptSpec{Kind: OptAdam, LR: 0.01, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}
	build := func() *Model {
		m, err := Build(s, 8)
		if err != nil {
			t.Fatal(err)
		}
		m.Init(rand.New(rand.NewPCG(21, 1)))
		return m
	}
	var gpus [2]*GPUMachine
	for i := range gpus {
		g, err := NewGPUMachine(build(), opt)
		if err != nil {
			t.Fatal(err)
		}
		defer g.Close()
		gpus[i] = g
	}
	cpu, err := NewCPUMachine(build(), opt)
	if err != nil {
		t.Fatal(err)
	}
	plain, measured := gpus[0], gpus[1]
	spec := MeasureSpec{ICS: true, Etas: []float64{0.005, 0.04}}
	rng := rand.New(rand.NewPCG(4, 4))
	for step := 1; step <= 3; step++ {
		x, y := randomBatch(plain.m, rng)
		got, err := Measure(measured, x, y, spec)
		if err != nil {
			t.Fatal(err)
		}
		want, err := Measure(cpu, x, y, spec)
		if err != nil {
			t.Fatal(err)
		}
		for i, l := range want.ICS {
			g := got.ICS[i]
			if math.Abs(g.L2-l.L2) > 1e-3*l.GradL2+1e-6 || math.Abs(g.Cos-l.Cos) > 1e-3 {
				t.Errorf("step %d %s: gpu ‖G−G′‖ %v cos %v, cpu %v %v", step, l.Layer, g.L2, g.Cos, l.L2, l.Cos)
			}
		}
		if math.Abs(got.Landscape.GradPred-want.Landscape.GradPred) > 1e-3*want.Landscape.GradL2 {
			t.Errorf("step %d: gpu gradient predictiveness %v, cpu %v", step, got.Landscape.GradPred, want.Landscape.GradPred)
		}
		for _, m := range []Machine{plain, measured, cpu} {
			if _, _, err := m.Step(x, y); err != nil {
				t.Fatal(err)
			}
		}
		for _, g := range gpus {
			if err := g.SyncParams(); err != nil {
				t.Fatal(err)
			}
		}
		a, b := plain.m, measured.m
		for i, p := range a.Params {
			if !slices.Equal(p.Value, b.Params[i].Value) {
				t.Fatalf("step %d: %s differs after measuring", step, p.Name)
			}
		}
		for i, l := range a.BN {
			if !slices.Equal(l.State.RunningMean, b.BN[i].State.RunningMean) || !slices.Equal(l.State.RunningVar, b.BN[i].State.RunningVar) {
				t.Fatalf("step %d: %s running statistics differ after measuring", step, l.Name)
			}
		}
		_, sa := plain.Opt()
		_, sb := measured.Opt()
		for i := range sa.Slots {
			if sa.Step != sb.Step || !slices.Equal(sa.Slots[i], sb.Slots[i]) {
				t.Fatalf("step %d: optimizer state differs after measuring", step)
			}
		}
	}
}
