package plots

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestMissingTapsAreClearErrors checks that asking for taps a run lacks
// fails with one line naming the run dir, the node and what the run has.
func TestMissingTapsAreClearErrors(t *testing.T) {
	tapped := makeRun(t, "tapped", fakeRun{norm: "batch", nodes: []string{"h1.act", "h2.act"}, neurons: []int{0, 5},
		epochs: []int{1, 2, 3}, steps: []int{100, 200}, examples: 50, metrics: 3})
	stepsOnly := makeRun(t, "stepsonly", fakeRun{norm: "none", nodes: []string{"h2.act"}, neurons: []int{0}, steps: []int{100, 200, 300}, examples: 50})
	untapped := makeRun(t, "untapped", fakeRun{norm: "layer", metrics: 2})
	missing := filepath.Join(t.TempDir(), "nope")
	notRun := t.TempDir()

	for _, tc := range []struct {
		name string
		req  Request
		want []string // all in the error
	}{
		{"missing run dir", Request{Kind: KindDensity, Runs: []string{missing}},
			[]string{"run dir " + missing + " does not exist"}},
		{"not a run dir", Request{Kind: KindDensity, Runs: []string{notRun}},
			[]string{notRun, "config.json"}},
		{"no taps at all", Request{Kind: KindDensity, Runs: []string{untapped}},
			[]string{"run " + untapped + " has no taps", filepath.Join(untapped, "taps/index.json")}},
		{"several nodes, none chosen", Request{Kind: KindDensity, Runs: []string{tapped}},
			[]string{"h1.act, h2.act", "--node"}},
		{"unknown node", Request{Kind: KindDensity, Runs: []string{tapped}, Sel: Selection{Node: "h9.act", Neuron: -1}},
			[]string{"run " + tapped, "node h9.act", "h1.act (epochs 1-3; steps 100-200, 2 taps)", "h2.act (epochs 1-3"}},
		{"node in one run only", Request{Kind: KindDensity, Runs: []string{tapped, untapped}, Sel: Selection{Node: "h1.act", Neuron: -1}},
			[]string{"run " + untapped + " has no taps"}},
		{"epoch not tapped", Request{Kind: KindDensity, Runs: []string{tapped}, Sel: Selection{Node: "h2.act", Neuron: -1, Epochs: []int{1, 10}}},
			[]string{"run " + tapped, "node h2.act", "epoch 10", "tapped epochs: 1-3"}},
		{"neuron not tapped", Request{Kind: KindDrift, Runs: []string{tapped}, Sel: Selection{Node: "h1.act", Neuron: 3}},
			[]string{"run " + tapped, "taps/h1.act/epoch-0001.npy", "neurons 0,5", "node h1.act", "not neuron 3"}},
		{"only step taps, density wants epochs", Request{Kind: KindDensity, Runs: []string{stepsOnly}, Sel: Selection{Neuron: -1}},
			[]string{"run " + stepsOnly, "no epoch taps of node h2.act", "steps 100-300, 3 taps"}},
		{"ridge too", Request{Kind: KindRidge, Runs: []string{stepsOnly}, Sel: Selection{Neuron: -1}},
			[]string{"no epoch taps of node h2.act"}},
		{"percentiles, steps outside --epochs", Request{Kind: KindPercentiles, Runs: []string{stepsOnly}, Sel: Selection{Neuron: -1, Epochs: []int{9}}},
			[]string{"run " + stepsOnly, "no step taps of node h2.act in epochs 9"}},
		{"curves without metrics", Request{Kind: KindCurves, Runs: []string{tapped, stepsOnly}},
			[]string{filepath.Join(stepsOnly, "metrics.csv")}},
		{"unknown kind", Request{Kind: "histogram", Runs: []string{tapped}},
			[]string{`"histogram"`, "density, percentiles, curves, drift, ridge"}},
		{"bad bands", Request{Kind: KindPercentiles, Runs: []string{stepsOnly}, Bands: "fancy", Sel: Selection{Neuron: -1}},
			[]string{`"fancy"`, "tensorboard"}},
	} {
		out := filepath.Join(t.TempDir(), "fig.png")
		if tc.req.Out == "" {
			tc.req.Out = out
		}
		if tc.req.Sel.Node == "" && tc.req.Sel.Neuron == 0 {
			tc.req.Sel.Neuron = -1
		}
		_, err := Render(context.Background(), tc.req, io.Discard)
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		msg := err.Error()
		if strings.Contains(msg, "\n") {
			t.Errorf("%s: error is several lines:\n%s", tc.name, msg)
		}
		for _, want := range tc.want {
			if !strings.Contains(msg, want) {
				t.Errorf("%s: error %q lacks %q", tc.name, msg, want)
			}
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("%s: wrote %s despite the error", tc.name, out)
		}
	}
}

func TestCheckFormat(t *testing.T) {
	for _, ok := range []string{"a.png", "dir/b.SVG", "c.pdf"} {
		if err := CheckFormat(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{"a.jpg", "b", "c.png.txt"} {
		err := CheckFormat(bad)
		if err == nil || !strings.Contains(err.Error(), ".png, .svg, .pdf") || !strings.Contains(err.Error(), bad) {
			t.Errorf("%s: %v, want an error naming it and the supported formats", bad, err)
		}
	}
}

func TestParseEpochs(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []int
	}{
		{"1,10,30", []int{1, 10, 30}},
		{"30, 1", []int{1, 30}},
		{"1-4,10", []int{1, 2, 3, 4, 10}},
		{"3-3", []int{3}},
	} {
		got, err := ParseEpochs(tc.in)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("ParseEpochs(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "0", "a", "1,,2", "5-2", "1-x", "-3", "1-999999999"} {
		if got, err := ParseEpochs(bad); err == nil {
			t.Errorf("ParseEpochs(%q) = %v, want an error", bad, got)
		}
	}
}

func TestFormatInts(t *testing.T) {
	for _, tc := range []struct {
		in   []int
		want string
	}{
		{[]int{1, 2, 3, 4, 5}, "1-5"},
		{[]int{30, 1, 10}, "1,10,30"},
		{[]int{1, 2, 5, 6, 7, 9}, "1,2,5-7,9"},
	} {
		if got := formatInts(tc.in); got != tc.want {
			t.Errorf("formatInts(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
