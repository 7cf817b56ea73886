package bench

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"normtap/graph"
)

func TestNormBytes(t *testing.T) {
	cases := []struct {
		kind, pass string
		n, d       int
		want       int64
	}{
		// 128×1024: x and y (2·131072), γ β (2048), mean var invstd (3072)
		{"batch", "forward", 128, 1024, 4 * (2*131072 + 2048 + 3072)},
		{"layer", "forward", 128, 1024, 4 * (2*131072 + 2048 + 256)},
		{"batch", "backward", 128, 1024, 4 * (3*131072 + 3072 + 2048)},
		{"layer", "backward", 4096, 1024, 4 * (3*4194304 + 3072 + 8192)},
		// rms: γ only, 1/rms per row (128); group: mean, 1/σ per row and group
		{"rms", "forward", 128, 1024, 4 * (2*131072 + 1024 + 128)},
		{"rms", "backward", 128, 1024, 4 * (3*131072 + 2048 + 128)},
	}
	for _, c := range cases {
		got, err := NormBytes(c.kind, c.pass, c.n, c.d)
		if err != nil || got != c.want {
			t.Errorf("NormBytes(%s, %s, %d, %d) = %d, %v; want %d", c.kind, c.pass, c.n, c.d, got, err, c.want)
		}
	}
	if _, err := NormBytes("weight", "forward", 1, 1); err == nil {
		t.Error("NormBytes of an unknown kernel gave no error")
	}
	if _, err := NormBytes("group", "forward", 1, 1); err == nil {
		t.Error("NormBytes of GroupNorm without its group count gave no error")
	}
	for _, c := range []struct {
		pass string
		want int64
	}{{"forward", 4 * (2*131072 + 2048 + 2*128*32)}, {"backward", 4 * (3*131072 + 3072 + 2*128*32)}} {
		if got, err := NormBytesGroups("group", c.pass, 128, 1024, 32); err != nil || got != c.want {
			t.Errorf("NormBytesGroups(group, %s, 128, 1024, 32) = %d, %v; want %d", c.pass, got, err, c.want)
		}
	}
}

func TestPercentile(t *testing.T) {
	v := []float64{5, 1, 4, 2, 3}
	for _, c := range []struct{ p, want float64 }{{0, 1}, {50, 3}, {100, 5}, {10, 1.4}, {90, 4.6}} {
		if got := percentile(v, c.p); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("percentile(%v, %g) = %g, want %g", v, c.p, got, c.want)
		}
	}
	if !math.IsNaN(percentile(nil, 50)) {
		t.Error("percentile of nothing is not NaN")
	}
}

// fakePeer writes a script that prints peer.py's JSON with fixed times:
// 10 ms per step for every norm but layer (12 ms).
func fakePeer(t *testing.T) []string {
	t.Helper()
	out := map[string]any{"tool": "fake", "version": "0", "threads": 1}
	var results []Result
	for _, n := range []graph.Norm{graph.NormNone, graph.NormBatch, graph.NormLayer} {
		ms := 10.0
		if n == graph.NormLayer {
			ms = 12
		}
		results = append(results, Result{Norm: n, Device: "cpu", Model: graph.ModelMLP, Batch: 16, Hidden: []int{32},
			ExamplesPerSec: 16 / (ms / 1e3), MsPerStepMedian: ms, MsPerStepP10: ms - 1, MsPerStepP90: ms + 1, ForwardMsMedian: ms / 3})
	}
	out["results"] = results
	b, _ := json.Marshal(out)
	path := filepath.Join(t.TempDir(), "peer.json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return []string{"sh", "-c", "cat " + path}
}

// TestRunReportsEverything runs a tiny benchmark with a fake peer and
// checks the JSON keys the issue fixes, R, the ratios, and the plot.
func TestRunReportsEverything(t *testing.T) {
	spec := graph.DefaultSpec()
	spec.Hidden = []int{32}
	o := Options{Spec: spec, Norms: []graph.Norm{graph.NormNone, graph.NormBatch, graph.NormLayer}, Batch: 16, Steps: 3, Warmup: 1, Rounds: 2,
		Opt:        graph.OptSpec{Kind: graph.OptAdam, LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8},
		Seed:       1,
		NewMachine: func(m *graph.Model, o graph.OptSpec) (graph.Machine, error) { return graph.NewCPUMachine(m, o) },
		Threads:    1, Micro: true, MicroShapes: []Shape{{8, 64}}, MicroMinTime: time.Millisecond, Tap: true,
		PeerCommand: fakePeer(t), PeerDevice: "cpu"}
	rep, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := rep.WriteJSON(filepath.Join(dir, "b.json")); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Results []map[string]any `json:"results"`
	}
	b, _ := os.ReadFile(filepath.Join(dir, "b.json"))
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Results) != 3 {
		t.Fatalf("%d results, want 3", len(doc.Results))
	}
	for _, r := range doc.Results {
		for _, k := range []string{"norm", "device", "model", "batch", "hidden", "examples_per_sec", "ms_per_step_median", "ms_per_step_p10", "ms_per_step_p90", "forward_ms_median", "norm_overhead"} {
			if _, ok := r[k]; !ok {
				t.Errorf("result %v has no %q", r["norm"], k)
			}
		}
	}
	for _, r := range rep.Results {
		if r.Steps != 6 || !(r.MsPerStepP10 <= r.MsPerStepMedian && r.MsPerStepMedian <= r.MsPerStepP90) || r.ExamplesPerSec <= 0 {
			t.Errorf("%s: %d steps, p10/median/p90 %g/%g/%g, %g examples/s", r.Norm, r.Steps, r.MsPerStepP10, r.MsPerStepMedian, r.MsPerStepP90, r.ExamplesPerSec)
		}
	}
	if r := rep.Results[0].NormOverhead; r == nil || *r != 1 {
		t.Errorf("R of none is %v, want 1", r)
	}
	if rep.Peer == nil || len(rep.Peer.Ratios) != 3 || len(rep.Peer.Rounds) != 2 {
		t.Fatalf("peer summary %+v", rep.Peer)
	}
	for _, ra := range rep.Peer.Ratios {
		want := 10.0
		if ra.Norm == graph.NormLayer {
			want = 12
		}
		if ra.PeerMs != want || math.Abs(ra.RatioOfMedians-want/ra.NormtapMs) > 1e-12 {
			t.Errorf("%s: peer %g ms, ratio of medians %g with normtap %g ms", ra.Norm, ra.PeerMs, ra.RatioOfMedians, ra.NormtapMs)
		}
		if len(ra.RoundRatios) != 2 || ra.ExamplesPerSecRatio != median(ra.RoundRatios) {
			t.Errorf("%s: ratio %g, want the median of the rounds' %v", ra.Norm, ra.ExamplesPerSecRatio, ra.RoundRatios)
		}
		for i, rd := range rep.Peer.Rounds {
			if i < len(ra.RoundRatios) && math.Abs(ra.RoundRatios[i]-want/rd.NormtapMs[ra.Norm]) > 1e-12 {
				t.Errorf("%s round %d: ratio %g, want %g ÷ %g", ra.Norm, i, ra.RoundRatios[i], want, rd.NormtapMs[ra.Norm])
			}
		}
	}
	if r := rep.Peer.Results[2].NormOverhead; r == nil || math.Abs(*r-1.2) > 1e-12 {
		t.Errorf("peer R of layer is %v, want 1.2", r)
	}
	if len(rep.Micro) != 2*len(MicroKinds) || rep.CopyGBPerSec <= 0 {
		t.Errorf("%d micro results, copy %g GB/s", len(rep.Micro), rep.CopyGBPerSec)
	}
	for _, m := range rep.Micro {
		want, _ := NormBytesGroups(m.Kind, m.Pass, m.N, m.D, m.Groups)
		if m.BytesPerIter != want || math.Abs(m.GBPerSec-float64(want)/m.NsPerIter) > 1e-9 {
			t.Errorf("%s %s: %d bytes, %g GB/s from %g ns", m.Kind, m.Pass, m.BytesPerIter, m.GBPerSec, m.NsPerIter)
		}
	}
	if rep.Tap == nil || rep.Tap.Node != "h1.act" || rep.Tap.TapMsMedian <= 0 || rep.Tap.OverheadFraction <= 0 {
		t.Errorf("tap overhead %+v", rep.Tap)
	}
	var table strings.Builder
	if err := rep.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"examples/s", "normtap/peer", "GB/s", "tapping"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}
	png := filepath.Join(dir, "b.png")
	if err := rep.WritePlot(png); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(png); err != nil || len(b) < 1000 || string(b[1:4]) != "PNG" {
		t.Errorf("plot: %d bytes, %v", len(b), err)
	}
	if err := rep.WritePlot(filepath.Join(dir, "b.gif")); err == nil {
		t.Error("a .gif plot gave no error")
	}
}

func TestOptionsValidateNamesFlags(t *testing.T) {
	base := Options{Spec: graph.DefaultSpec(), Norms: []graph.Norm{graph.NormNone}, Batch: 8, Steps: 1, Rounds: 1,
		Opt: graph.OptSpec{Kind: graph.OptAdam, LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}}
	for _, c := range []struct {
		flag string
		edit func(*Options)
	}{
		{"--norm", func(o *Options) { o.Norms = nil }},
		{"--batch", func(o *Options) { o.Batch = 0 }},
		{"--steps", func(o *Options) { o.Steps = 0 }},
		{"--rounds", func(o *Options) { o.Rounds = 0 }},
		{"--warmup", func(o *Options) { o.Warmup = -1 }},
	} {
		o := base
		c.edit(&o)
		if err := o.Validate(); err == nil || !strings.Contains(err.Error(), c.flag) {
			t.Errorf("%s: error %v", c.flag, err)
		}
	}
}

// TestModelBytes: the estimate against hand counts, and the bound.
func TestModelBytes(t *testing.T) {
	s := graph.DefaultSpec()
	s.Hidden = []int{100}
	// params 784·100 + 3·100 + 100·10 + 10 = 79710; activations 110 per example
	if got, want := ModelBytes(s, 2), 16*(79710+2*110.0); got != want {
		t.Errorf("mlp: %v bytes, want %v", got, want)
	}
	s.Model, s.Hidden, s.Blocks = graph.ModelResNet, []int{8}, 1
	// one stage of width 8: 1·8·9 + 2·8·8·9 + 3·3·8 params, 3·8·784 activations; pooled to 8·784 flattened (upper bound) ·10 + 10
	params := 1*8*9 + 2*8*8*9 + 3*3*8 + 8*784*10 + 10.0
	if got, want := ModelBytes(s, 1), 16*(params+3*8*784+10); got != want {
		t.Errorf("resnet: %v bytes, want %v", got, want)
	}
	s = graph.DefaultSpec()
	s.Hidden = []int{65536, 65536}
	if err := CheckModelSize(s, 128); err == nil || !strings.Contains(err.Error(), "--hidden 65536,65536 with --batch 128") {
		t.Errorf("a 65536x65536 MLP: %v", err)
	}
	if err := CheckModelSize(graph.DefaultSpec(), 128); err != nil {
		t.Errorf("the default MLP: %v", err)
	}
}

// TestRunRotatesOrder: each round starts one configuration later, so that
// whatever slows the first configuration after the peer hits every norm
// alike; the results stay in --norm order.
func TestRunRotatesOrder(t *testing.T) {
	spec := graph.DefaultSpec()
	spec.Hidden = []int{16}
	var log strings.Builder
	o := Options{Spec: spec, Norms: []graph.Norm{graph.NormNone, graph.NormBatch, graph.NormLayer}, Batch: 8, Steps: 1, Warmup: 0, Rounds: 3,
		Opt:        graph.OptSpec{Kind: graph.OptSGD, LR: 1e-3},
		Seed:       1,
		NewMachine: func(m *graph.Model, o graph.OptSpec) (graph.Machine, error) { return graph.NewCPUMachine(m, o) },
		Threads:    1, Log: &log}
	rep, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, l := range strings.Split(log.String(), "\n") {
		if _, rest, ok := strings.Cut(l, "/3: "); ok && strings.Contains(rest, "timed steps") {
			order = append(order, strings.SplitN(rest, ",", 2)[0])
		}
	}
	want := "none batch layer batch layer none layer none batch"
	if got := strings.Join(order, " "); got != want {
		t.Fatalf("configurations ran in the order %q, want %q", got, want)
	}
	for i, r := range rep.Results {
		if r.Norm != o.Norms[i] {
			t.Fatalf("result %d is %s, want %s (the --norm order)", i, r.Norm, o.Norms[i])
		}
	}
}

// TestPairedRatios: R and the normtap/peer ratio are medians of each
// round's ratio, so a round where the machine ran slow for both sides does
// not move them: here normtap's none runs 10, 20, 12 ms and its batch 11,
// 22, 30 (R per round 1.1, 1.1, 2.5), the peer 20, 40, 30 ms (ratio 2, 2,
// 2.5). The ratios of the medians would say R 2.0 and 2.5×.
func TestPairedRatios(t *testing.T) {
	rounds := []map[graph.Norm]float64{
		{graph.NormNone: 10, graph.NormBatch: 11},
		{graph.NormNone: 20, graph.NormBatch: 22},
		{graph.NormNone: 12, graph.NormBatch: 30},
	}
	rs := []Result{{Norm: graph.NormNone, MsPerStepMedian: 12}, {Norm: graph.NormBatch, MsPerStepMedian: 22}}
	setOverheads(rs, rounds)
	if r := rs[1].NormOverhead; r == nil || math.Abs(*r-1.1) > 1e-12 {
		t.Errorf("R of batch %s, want 1.1 (the median of 1.1, 1.1, 2.5)", fmtR(r))
	}
	if r := rs[0].NormOverhead; r == nil || *r != 1 {
		t.Errorf("R of none %s, want 1", fmtR(r))
	}
	setOverheads(rs, nil)
	if r := rs[1].NormOverhead; r == nil || math.Abs(*r-22.0/12) > 1e-12 {
		t.Errorf("R without rounds %s, want the ratio of the medians %g", fmtR(r), 22.0/12)
	}
	o := &Options{Norms: []graph.Norm{graph.NormNone}, Steps: 5}
	var runs []*PeerRun
	for _, ms := range []float64{20, 40, 30} {
		runs = append(runs, &PeerRun{Tool: "fake", Results: []Result{{Norm: graph.NormNone, Batch: 8, MsPerStepMedian: ms}}})
	}
	p := summarizePeer(o, runs, rounds, rs[:1])
	if len(p.Ratios) != 1 {
		t.Fatalf("ratios %+v", p.Ratios)
	}
	ra := p.Ratios[0]
	if math.Abs(ra.ExamplesPerSecRatio-2) > 1e-12 || math.Abs(ra.RatioOfMedians-2.5) > 1e-12 {
		t.Errorf("normtap/peer %g (want 2, the median of 2, 2, 2.5), of medians %g (want 30/12 = 2.5)", ra.ExamplesPerSecRatio, ra.RatioOfMedians)
	}
}
