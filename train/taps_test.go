package train

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"normtap/graph"
	"normtap/rundir"
)

// TestChannelTaps (#13 item 2): with --tap-unit channel a conv node's tap
// keeps the chosen channels at every position of every probe example, rows
// in (example, y, x) order: the same values a neuron tap of all the node's
// columns holds, rearranged.
func TestChannelTaps(t *testing.T) {
	base := smallConfig(t, graph.NormBatch)
	base.Spec.Model, base.Spec.Hidden = graph.ModelCNN, []int{4, 8}
	base.Epochs, base.TrainLimit = 1, 320
	base.Taps = TapConfig{Nodes: []string{"c1.conv"}, Neurons: []int{3, 1}, AllEpochs: true, Examples: 6, Mode: rundir.ModeProbe, Unit: rundir.UnitChannel}
	byNeuron := base
	byNeuron.Out = filepath.Join(t.TempDir(), "neurons")
	byNeuron.Taps.Unit, byNeuron.Taps.Neurons, byNeuron.Taps.AllNeurons = rundir.UnitNeuron, nil, true
	for _, cfg := range []Config{base, byNeuron} {
		if _, err := Run(context.Background(), cfg, Options{}); err != nil {
			t.Fatal(err)
		}
	}
	read := func(dir string) (rundir.TapEntry, []float32) {
		ix, err := rundir.ReadIndex(dir)
		if err != nil || len(ix.Entries) != 1 {
			t.Fatalf("index: %v %+v", err, ix)
		}
		data, _, _, err := rundir.ReadTap(dir, ix.Entries[0])
		if err != nil {
			t.Fatal(err)
		}
		return ix.Entries[0], data
	}
	ce, ch := read(base.Out)
	_, all := read(byNeuron.Out)
	const hw = 28 * 28
	if ce.Unit != rundir.UnitChannel || ce.Examples != 6*hw || !slices.Equal(ce.Neurons, []int{3, 1}) {
		t.Fatalf("channel tap entry %+v", ce)
	}
	for i := range 6 {
		for p := range hw {
			for j, c := range []int{3, 1} {
				got, want := ch[(i*hw+p)*2+j], all[i*4*hw+c*hw+p]
				if got != want {
					t.Fatalf("example %d, position %d, channel %d: %v, the neuron tap has %v", i, p, c, got, want)
				}
			}
		}
	}
	if _, err := resolveTaps(mustBuild(t, base), TapConfig{Nodes: []string{"logits"}, Unit: rundir.UnitChannel}); err == nil {
		t.Fatal("a channel tap of a 2-D node was accepted")
	}
}

func mustBuild(t *testing.T, cfg Config) *graph.Model {
	t.Helper()
	cfg.Spec.InChannels, cfg.Spec.InRows, cfg.Spec.InCols, cfg.Spec.Classes = 1, 28, 28, 10
	m, err := graph.Build(cfg.Spec, cfg.Batch)
	if err != nil {
		t.Fatal(err)
	}
	return m
}
