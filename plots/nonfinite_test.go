package plots

import (
	"bytes"
	"context"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gonum.org/v1/plot/vg"

	"normtap/rundir"
)

// TestNonFiniteNeverReachesAxes: a NaN or an overflowing range in a panel
// is refused by Save with the panel and axis named (gonum's tick code
// loops without end on NaN limits), and the tick marker itself returns at
// once on such limits.
func TestNonFiniteNeverReachesAxes(t *testing.T) {
	for _, tc := range []struct {
		name string
		x, y []float64
		want string
	}{
		{"NaN y", []float64{1, 2, 3}, []float64{0.5, math.NaN(), 0.7}, `y axis range [NaN, NaN]`},
		{"+Inf y", []float64{1, 2}, []float64{0.5, math.Inf(1)}, `y axis range [0.5, +Inf]`},
		{"overflowing span", []float64{1, 2}, []float64{-1.7e308, 1.7e308}, "y axis range [-1.7e+308, 1.7e+308]"},
		{"NaN x", []float64{math.NaN(), 2}, []float64{1, 2}, "x axis range"},
	} {
		p := newPanel("test accuracy", "epoch", "accuracy")
		p.Plot.Add(xyLine(tc.x, tc.y, lineStyle(categoricalColor(0), 2)))
		err := Save(&Figure{Panels: []Panel{p}}, filepath.Join(t.TempDir(), "f.png"), DefaultWidth, DefaultHeight)
		if err == nil || !strings.Contains(err.Error(), `panel "test accuracy"`) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want it to name the panel and say %q", tc.name, err, tc.want)
		}
	}
	for _, lim := range [][2]float64{{math.NaN(), 1}, {0, math.NaN()}, {-1.7e308, 1.7e308}, {math.Inf(-1), math.Inf(1)}} {
		ticks := niceTicks{}.Ticks(lim[0], lim[1])
		if len(ticks) > 2 {
			t.Errorf("ticks on [%v, %v]: %d, want at most the two ends", lim[0], lim[1], len(ticks))
		}
	}
}

// TestCurvesRefuseNaNMetrics: the NaN test accuracy that once made
// `plot --kind curves` spin is refused naming the file, line and column.
func TestCurvesRefuseNaNMetrics(t *testing.T) {
	dir := makeRun(t, "run", fakeRun{norm: "batch", metrics: 3})
	path := filepath.Join(dir, rundir.MetricsFile)
	raw, _ := os.ReadFile(path)
	lines := strings.Split(string(raw), "\n")
	fields := strings.Split(lines[2], ",")
	fields[5] = "NaN"
	lines[2] = strings.Join(fields, ",")
	os.WriteFile(path, []byte(strings.Join(lines, "\n")), 0o644)
	_, err := Render(context.Background(), Request{Kind: KindCurves, Runs: []string{dir}, Out: filepath.Join(t.TempDir(), "c.png")}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), path+":3: column test_acc: NaN") {
		t.Fatalf("err %v, want it to name %s:3 and column test_acc", err, path)
	}
}

// TestMeasuredGapsAreGaps: NaN and infinite values in ics.csv and
// landscape.csv are drawn as gaps (and counted in the caption), never
// bridged and never handed to the axes.
func TestMeasuredGapsAreGaps(t *testing.T) {
	dir := measuredRun(t, "gappy", "none")
	ics, err := rundir.ReadICS(dir)
	if err != nil {
		t.Fatal(err)
	}
	ics[5].Cos, ics[9].L2 = math.NaN(), math.Inf(1)
	land, err := rundir.ReadLandscape(dir)
	if err != nil {
		t.Fatal(err)
	}
	land[3].GradPred, land[4].LossMax, land[6].BetaSmooth = math.NaN(), math.Inf(1), math.Inf(-1)
	if err := rundir.WriteICS(dir, ics); err != nil {
		t.Fatal(err)
	}
	if err := rundir.WriteLandscape(dir, land); err != nil {
		t.Fatal(err)
	}
	runs, err := LoadRuns([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	fig, err := ICSFigure(runs)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(fig.Caption, "gaps: 2 values not drawn") {
		t.Errorf("ics caption %q does not count the 2 gaps", fig.Caption)
	}
	if err := Save(fig, filepath.Join(t.TempDir(), "ics.svg"), DefaultWidth, DefaultHeight); err != nil {
		t.Error(err)
	}
	fig, err = LandscapeFigure(runs)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(fig.Caption, "gaps: 3 values not drawn") {
		t.Errorf("landscape caption %q does not count the 3 gaps", fig.Caption)
	}
	if err := Save(fig, filepath.Join(t.TempDir(), "landscape.svg"), DefaultWidth, DefaultHeight); err != nil {
		t.Error(err)
	}
	// A gap splits a series: 10 cos values with one NaN in the middle are
	// two lines, and a lone point between gaps is a marker.
	x := []float64{1, 2, 3, 4, 5}
	ps, missing := gapLines(x, []float64{1, math.NaN(), 3, math.NaN(), 5}, isFinite, lineStyle(categoricalColor(0), 1))
	if missing != 2 || len(ps) != 3 {
		t.Errorf("gapLines: %d plotters, %d missing; want 3 (three lone points) and 2", len(ps), missing)
	}
	ps, missing = gapLines(x, []float64{1, 2, math.NaN(), 4, 5}, isFinite, lineStyle(categoricalColor(0), 1))
	if missing != 1 || len(ps) != 2 {
		t.Errorf("gapLines: %d plotters, %d missing; want 2 lines and 1", len(ps), missing)
	}
}

// TestDeadNeuronIsASpike: a constant neuron (a dead ReLU at 0) gets no
// invented kernel bump: its curve is marked constant, drawn as a spike and
// named in the caption, beside real curves of the same figure.
func TestDeadNeuronIsASpike(t *testing.T) {
	value := func(rng *rand.Rand, neuron, epoch, step, i int) float64 {
		if epoch >= 10 {
			return 0 // died
		}
		return 1 + rng.NormFloat64()
	}
	dir := makeRun(t, "dead", fakeRun{norm: "none", nodes: []string{"h1.act"}, neurons: []int{0}, epochs: []int{1, 10, 30}, examples: 200, value: value})
	runs, err := LoadRuns([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	_, curves, err := DensityCurves(runs, Selection{Neuron: -1}, allEpochs)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range curves[0] {
		if dead := c.Epoch >= 10; c.Constant != dead || (dead && (c.Value != 0 || c.Y != nil)) {
			t.Errorf("epoch %d: constant %v value %v, want constant %v at 0 without a curve", c.Epoch, c.Constant, c.Value, dead)
		}
	}
	for _, kind := range []string{KindDensity, KindRidge} {
		path := filepath.Join(outDir(t), "dead-"+kind+".svg")
		if _, err := Render(context.Background(), Request{Kind: kind, Runs: []string{dir}, Out: path, Sel: Selection{Neuron: -1}, Width: 8 * vg.Inch}, io.Discard); err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		png := strings.TrimSuffix(path, ".svg") + ".png" // to look at, with $NORMTAP_PLOTS_OUT
		if _, err := Render(context.Background(), Request{Kind: kind, Runs: []string{dir}, Out: png, Sel: Selection{Neuron: -1}, Width: 8 * vg.Inch}, io.Discard); err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		svg, _ := os.ReadFile(path)
		if !bytes.Contains(svg, []byte("drawn as a spike")) || bytes.Contains(svg, []byte("NaN")) {
			t.Errorf("%s: the svg does not name the spike, or holds NaN", kind)
		}
	}
	// Only dead samples: a panel of spikes on a usable range.
	allDead := makeRun(t, "alldead", fakeRun{norm: "none", nodes: []string{"h1.act"}, neurons: []int{0}, epochs: []int{1, 2}, examples: 50,
		value: func(*rand.Rand, int, int, int, int) float64 { return 0 }})
	if _, err := Render(context.Background(), Request{Kind: KindDensity, Runs: []string{allDead}, Out: filepath.Join(t.TempDir(), "d.png"), Sel: Selection{Neuron: -1}}, io.Discard); err != nil {
		t.Errorf("all-dead density: %v", err)
	}
	if lo, hi := spikeRange(math.Inf(1), math.Inf(-1), 0, 0); lo != -1 || hi != 1 {
		t.Errorf("spikeRange of a lone 0: [%v, %v], want [-1, 1]", lo, hi)
	}
	if lo, hi := spikeRange(-2, 2, 5, 5); lo != -2 || hi != 5.2 {
		t.Errorf("spikeRange: [%v, %v], want [-2, 5.2]", lo, hi)
	}
}

// TestNonFiniteTapIsRefused: a NaN or infinite activation in a tap is an
// error naming the file, neuron and example, in every kind that reads
// taps (one neuron or all of them).
func TestNonFiniteTapIsRefused(t *testing.T) {
	value := func(rng *rand.Rand, neuron, epoch, step, i int) float64 {
		if epoch == 2 && i == 7 {
			return math.Inf(1)
		}
		return rng.NormFloat64()
	}
	dir := makeRun(t, "inf", fakeRun{norm: "none", nodes: []string{"h1.act"}, neurons: []int{0, 1}, epochs: []int{1, 2}, examples: 20, value: value})
	for _, req := range []Request{
		{Kind: KindDensity, Sel: Selection{Neuron: -1}},
		{Kind: KindDrift, Sel: Selection{Neuron: 1}},
		{Kind: KindDrift, Sel: Selection{Neuron: -1, AllNeurons: true}},
		{Kind: KindPercentiles, Sel: Selection{Neuron: -1, AllNeurons: true}},
		{Kind: KindRidge, Sel: Selection{Neuron: -1}},
	} {
		req.Runs, req.Out = []string{dir}, filepath.Join(t.TempDir(), "f.png")
		_, err := Render(context.Background(), req, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "taps/h1.act/epoch-0002.npy has a non-finite value (+Inf)") || !strings.Contains(err.Error(), "example 7") {
			t.Errorf("%s all=%v: %v, want the file, the value and example 7 named", req.Kind, req.Sel.AllNeurons, err)
		}
	}
}
