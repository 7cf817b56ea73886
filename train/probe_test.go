package train

import (
	"context"
	"math/rand/v2"
	"testing"

	"normtap/dataset"
	"normtap/graph"
	"normtap/rundir"
)

// TestProbeTapperTapsWhatTheModelComputes: the tap bench times is train's
// probe tap: its file holds, for each probe example, the tapped column of
// an eval-mode forward pass over that example's batch.
func TestProbeTapperTapsWhatTheModelComputes(t *testing.T) {
	spec := graph.DefaultSpec()
	spec.Hidden = []int{16}
	const batch, examples = 8, 20 // two full batches and a partial one
	m, err := graph.Build(spec, batch)
	if err != nil {
		t.Fatal(err)
	}
	m.Init(rand.New(rand.NewPCG(3, 1)))
	mach, err := graph.NewCPUMachine(m, graph.OptSpec{Kind: graph.OptSGD, LR: 0.1})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 2))
	images := make([]float32, examples*spec.InFeatures())
	for i := range images {
		images[i] = rng.Float32()
	}
	probe := &dataset.Set{Images: images, Labels: make([]uint8, examples), N: examples, Rows: 28, Cols: 28, Classes: 10}
	dir := t.TempDir()
	tw, err := rundir.OpenTapWriter(dir)
	if err != nil {
		t.Fatal(err)
	}
	tapper, err := NewProbeTapper(m, mach, batch, probe, examples, "h1.act", []int{5}, tw)
	if err != nil {
		t.Fatal(err)
	}
	if err := tapper.Tap(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	got, _, _, err := rundir.ReadTap(dir, tw.Index().Entries[0])
	if err != nil {
		t.Fatal(err)
	}
	point, _ := m.Tap("h1.act")
	mach.SetTraining(false)
	x := make([]float32, batch*spec.InFeatures())
	for first := 0; first < examples; first += batch {
		rows := min(batch, examples-first)
		clear(x)
		copy(x, images[first*spec.InFeatures():(first+rows)*spec.InFeatures()])
		if _, err := mach.Forward(x); err != nil {
			t.Fatal(err)
		}
		want := make([]float32, rows)
		if err := mach.ReadTap(point, []int{5}, rows, want); err != nil {
			t.Fatal(err)
		}
		for i, w := range want {
			if got[first+i] != w {
				t.Fatalf("example %d: tapped %v, forward pass gives %v", first+i, got[first+i], w)
			}
		}
	}
	if _, err := NewProbeTapper(m, mach, batch, probe, examples+1, "h1.act", []int{5}, tw); err == nil {
		t.Error("a probe larger than the set was accepted")
	}
}
