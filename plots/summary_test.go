package plots

import (
	"bytes"
	"context"
	"encoding/csv"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func close(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func closeAll(got, want []float64, tol float64) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if !close(got[i], want[i], tol) {
			return false
		}
	}
	return true
}

// TestMeanBand: hand values, and numpy.std(ddof=1) for the ±1 sd band.
func TestMeanBand(t *testing.T) {
	// three seeds, the third shorter and with a NaN: min-max bands
	b := MeanBand([][]float64{{1, 2, 3}, {1, 2, 3}, {1, 2, 3}}, [][]float64{{1, 2, 3}, {3, 4, 5}, {2, 9, math.NaN()}})
	if b.SD || !slices.Equal(b.X, []float64{1, 2, 3}) || !slices.Equal(b.Mean, []float64{2, 5, 4}) ||
		!slices.Equal(b.Lo, []float64{1, 2, 3}) || !slices.Equal(b.Hi, []float64{3, 9, 5}) || !slices.Equal(b.Seeds, []int{3, 3, 2}) {
		t.Errorf("3 seeds: %+v", b)
	}
	// five seeds: mean ± sample sd; numpy.std([1, 2, 3, 4, 10], ddof=1) = 3.5355339059327378
	xs := [][]float64{{1}, {1}, {1}, {1}, {1}}
	b = MeanBand(xs, [][]float64{{1}, {2}, {3}, {4}, {10}})
	const sd = 3.5355339059327378
	if !b.SD || b.Mean[0] != 4 || !close(b.Lo[0], 4-sd, 1e-12) || !close(b.Hi[0], 4+sd, 1e-12) {
		t.Errorf("5 seeds: %+v, want 4 ± %v", b, sd)
	}
}

// TestQuartilesByEpoch: numpy.percentile([0.5, 7, 1, 3], [25, 50, 75]) =
// [0.875, 2, 4]; non-finite values are left out.
func TestQuartilesByEpoch(t *testing.T) {
	var rows []DriftRow
	for _, v := range []float64{0.5, 7, 1, 3, math.NaN(), math.Inf(1)} {
		rows = append(rows, DriftRow{Epoch: 2, StdRatio: v}, DriftRow{Epoch: 1, StdRatio: 1})
	}
	q := QuartilesByEpoch(rows, func(r DriftRow) float64 { return r.StdRatio })
	if !slices.Equal(q.Epochs, []float64{1, 2}) || !closeAll(q.Q25, []float64{1, 0.875}, 1e-12) ||
		!closeAll(q.Median, []float64{1, 2}, 1e-12) || !closeAll(q.Q75, []float64{1, 4}, 1e-12) || !slices.Equal(q.Neurons, []int{6, 4}) {
		t.Errorf("quartiles %+v", q)
	}
}

// TestGroupBySeed: runs that differ only in --seed are one configuration;
// another learning rate is another one, labelled by it.
func TestGroupBySeed(t *testing.T) {
	var dirs []string
	for seed := uint64(1); seed <= 3; seed++ {
		dirs = append(dirs, makeRun(t, "batch", fakeRun{norm: "batch", seed: seed, lr: 0.001, metrics: 10,
			nodes: []string{"h2.act"}, neurons: []int{3}, epochs: []int{1, 5, 10}, examples: 300}))
	}
	dirs = append(dirs, makeRun(t, "batch", fakeRun{norm: "batch", seed: 1, lr: 0.1, metrics: 10,
		nodes: []string{"h2.act"}, neurons: []int{3}, epochs: []int{1, 5, 10}, examples: 300}))
	dirs = append(dirs, makeRun(t, "none", fakeRun{norm: "none", seed: 4, metrics: 10,
		nodes: []string{"h2.act"}, neurons: []int{3}, epochs: []int{1, 5, 10}, examples: 300}))
	runs, err := LoadRuns(dirs)
	if err != nil {
		t.Fatal(err)
	}
	groups := GroupBySeed(runs)
	var labels []string
	var sizes []int
	for _, g := range groups {
		labels, sizes = append(labels, g.Label), append(sizes, len(g.Runs))
	}
	if want := []string{"batch (optimizer.lr 0.001), 3 seeds", "batch (optimizer.lr 0.1)", "none"}; !slices.Equal(sizes, []int{3, 1, 1}) || !slices.Equal(labels, want) {
		t.Errorf("groups %q of %v, want %q of 3, 1, 1", labels, sizes, want)
	}
	fig, err := CurvesFigure(runs)
	if err != nil {
		t.Fatal(err)
	}
	if len(fig.Legend) != 3 || !strings.Contains(fig.Caption, "their mean, shaded min to max") {
		t.Errorf("curves: %d legend entries, caption %q", len(fig.Legend), fig.Caption)
	}
	out := outDir(t)
	for _, kind := range []string{KindCurves, KindDensity, KindDrift} {
		if _, err := Render(context.Background(), Request{Kind: kind, Runs: dirs, Out: filepath.Join(out, "seeds-"+kind+".png"), Sel: Selection{Neuron: -1}}, &bytes.Buffer{}); err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
	}
	fig, err = DensityFigure(runs, Selection{Neuron: -1})
	if err != nil || len(fig.Panels) != 3 || !strings.Contains(fig.Caption, "one light curve per seed") {
		t.Errorf("density: %v, %d panels (want one per configuration: 3), caption %q", err, len(fig.Panels), fig.Caption)
	}
}

// shiftedNeurons: neuron n at epoch e is the same 200 evenly spread values
// shifted by n·(e−1)/2, so its W1 from epoch 1 is exactly that shift.
func shiftedNeurons(rng *rand.Rand, neuron, epoch, step, i int) float64 {
	return float64(i)/200 + float64(neuron)*float64(epoch-1)/2
}

// TestAllNeurons: drift --neuron all summarises every tapped neuron by its
// median and quartiles (hand values from the exact shifts), writes every
// neuron's row to the CSV, and percentiles --neuron all draws the
// quartiles over the neurons of their medians.
func TestAllNeurons(t *testing.T) {
	dir := makeRun(t, "shift", fakeRun{norm: "none", nodes: []string{"h2.act"}, neurons: []int{0, 1, 2, 3}, epochs: []int{1, 3, 5}, examples: 200, value: shiftedNeurons})
	out := filepath.Join(outDir(t), "all-drift.png")
	var stdout bytes.Buffer
	written, err := Render(context.Background(), Request{Kind: KindDrift, Runs: []string{dir}, Out: out, Sel: Selection{Neuron: -1, AllNeurons: true}}, &stdout)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(SideCSV(out))
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil || len(written) != 2 || len(recs) != 1+4*3 {
		t.Fatalf("wrote %v; csv %d records (%v), want the header and 4 neurons × 3 epochs", written, len(recs), err)
	}
	_, rows, err := DriftTable(mustLoad(t, dir), Selection{Neuron: -1, AllNeurons: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if want := float64(r.Neuron) * float64(r.Epoch-1) / 2; !close(r.W1, want, 1e-5) {
			t.Errorf("neuron %d epoch %d: W1 %v, want %v", r.Neuron, r.Epoch, r.W1, want)
		}
	}
	// W1 at epoch e over neurons 0-3 is {0, a, 2a, 3a}, a = (e−1)/2: numpy's
	// quartiles 0.75a, 1.5a, 2.25a
	q := QuartilesByEpoch(rows, func(r DriftRow) float64 { return r.W1 })
	for i, e := range q.Epochs {
		a := (e - 1) / 2
		if !close(q.Q25[i], 0.75*a, 1e-5) || !close(q.Median[i], 1.5*a, 1e-5) || !close(q.Q75[i], 2.25*a, 1e-5) {
			t.Errorf("epoch %g: quartiles %v %v %v, want %v %v %v", e, q.Q25[i], q.Median[i], q.Q75[i], 0.75*a, 1.5*a, 2.25*a)
		}
	}
	if !strings.Contains(stdout.String(), "W1 median") || strings.Count(stdout.String(), "\n") != 4 {
		t.Errorf("summary table:\n%s\nwant a header and one line per epoch", stdout.String())
	}
	// percentiles: each neuron's median at epoch e is median(i/200) + n(e−1)/2
	// = 0.4975 + n(e−1)/2; over neurons 0-3 the same quartiles, shifted
	_, series, prow, err := MedianOverNeurons(mustLoad(t, dir), Selection{Neuron: -1, AllNeurons: true})
	if err != nil {
		t.Fatal(err)
	}
	s := series[0]
	for i, e := range s.X {
		a := (e - 1) / 2
		if !closeAll([]float64{s.Values[0][i], s.Values[1][i], s.Values[2][i]}, []float64{0.4975 + 0.75*a, 0.4975 + 1.5*a, 0.4975 + 2.25*a}, 1e-5) {
			t.Errorf("epoch %g: %v %v %v", e, s.Values[0][i], s.Values[1][i], s.Values[2][i])
		}
	}
	if len(prow) != 12 || prow[0].Neuron != 0 || prow[11].Neuron != 3 {
		t.Errorf("%d per-neuron percentile rows, want 12 by neuron", len(prow))
	}
	pout := filepath.Join(outDir(t), "all-percentiles.png")
	if written, err := Render(context.Background(), Request{Kind: KindPercentiles, Runs: []string{dir}, Out: pout, Sel: Selection{Neuron: -1, AllNeurons: true}}, &stdout); err != nil || len(written) != 2 {
		t.Errorf("percentiles --neuron all: wrote %v, %v; want the figure and its CSV", written, err)
	}
}

func mustLoad(t *testing.T, dirs ...string) []*Run {
	t.Helper()
	runs, err := LoadRuns(dirs)
	if err != nil {
		t.Fatal(err)
	}
	return runs
}
