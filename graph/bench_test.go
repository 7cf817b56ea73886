package graph

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// adamSpec is the optimizer the benchmarks and the peer script use.
var adamSpec = OptSpec{Kind: OptAdam, LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}

// newMLPMachine builds an MNIST-shaped MLP with the given norm on a CPU
// machine, initialised from seed, and one random batch for it.
func newMLPMachine(tb testing.TB, norm Norm, hidden []int, batch int, seed uint64) (*CPUMachine, []float32, []float32) {
	tb.Helper()
	spec := DefaultSpec()
	spec.Norm, spec.Hidden = norm, hidden
	return newSpecMachine(tb, spec, batch, seed)
}

// newCNNMachine is newMLPMachine for the CNN with the given channels.
func newCNNMachine(tb testing.TB, norm Norm, channels []int, batch int, seed uint64) (*CPUMachine, []float32, []float32) {
	tb.Helper()
	spec := DefaultSpec()
	spec.Model, spec.Norm, spec.Hidden = ModelCNN, norm, channels
	return newSpecMachine(tb, spec, batch, seed)
}

func newSpecMachine(tb testing.TB, spec Spec, batch int, seed uint64) (*CPUMachine, []float32, []float32) {
	tb.Helper()
	m, err := Build(spec, batch)
	if err != nil {
		tb.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	m.Init(rng)
	cm, err := NewCPUMachine(m, adamSpec)
	if err != nil {
		tb.Fatal(err)
	}
	x := make([]float32, batch*spec.InFeatures())
	for i := range x {
		x[i] = rng.Float32()
	}
	labels := make([]float32, batch)
	for i := range labels {
		labels[i] = float32(rng.IntN(spec.Classes))
	}
	return cm, x, labels
}

// randomBatches is a pool of n random batches for m (RandomBatches).
func randomBatches(m *Model, n int, seed uint64) (xs, ys [][]float32) {
	return RandomBatches(m, n, rand.New(rand.NewPCG(seed, 9)))
}

// BenchmarkTrainStep times one training step (forward, backward, Adam) of
// the 784-1024-1024-10 MLP and the 16,32 CNN at batch 128, per norm, on a
// pool of 64 random batches.
func BenchmarkTrainStep(b *testing.B) {
	models := []struct {
		name string
		make func(testing.TB, Norm, []int, int, uint64) (*CPUMachine, []float32, []float32)
		hid  []int
	}{{"mlp-784-1024-1024-10", newMLPMachine, []int{1024, 1024}}, {"cnn-16-32", newCNNMachine, []int{16, 32}}}
	for _, mod := range models {
		for _, norm := range Norms() {
			b.Run(fmt.Sprintf("%s/batch128/%s", mod.name, norm), func(b *testing.B) {
				cm, _, _ := mod.make(b, norm, mod.hid, 128, 1)
				benchTrainStep(b, cm)
			})
		}
	}
}

func benchTrainStep(b *testing.B, cm *CPUMachine) {
	defer cm.Close()
	xs, ys := randomBatches(cm.Model(), 64, 1)
	for i := range 3 {
		if _, _, err := cm.Step(xs[i], ys[i]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		if _, _, err := cm.Step(xs[i%64], ys[i%64]); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(128*b.N)/b.Elapsed().Seconds(), "examples/s")
}

// BenchmarkForward times the forward pass up to the logits.
func BenchmarkForward(b *testing.B) {
	for _, norm := range Norms() {
		b.Run(fmt.Sprintf("mlp-784-1024-1024-10/batch128/%s", norm), func(b *testing.B) {
			cm, x, _ := newMLPMachine(b, norm, []int{1024, 1024}, 128, 1)
			defer cm.Close()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := cm.Forward(x); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
