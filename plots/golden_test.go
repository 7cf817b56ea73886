package plots

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"gonum.org/v1/plot/cmpimg"
	"gonum.org/v1/plot/vg"
)

// TestGoldenFigures draws the seed figure (density) and the drift figure
// from fixed synthetic runs and compares the SVG byte for byte with
// testdata/*_golden.svg (gonum/plot's cmpimg): a figure that changes
// silently — layout, colours, a curve — fails here. After an intended
// change, look at the new figures and regenerate with
// `go test ./plots -run TestGoldenFigures -regen`.
func TestGoldenFigures(t *testing.T) {
	var runs []string
	for _, norm := range []string{"none", "batch"} {
		runs = append(runs, makeRun(t, norm, fakeRun{
			norm: norm, nodes: []string{"h2.act"}, neurons: []int{3},
			epochs: []int{1, 10, 30}, examples: 300,
		}))
	}
	for _, kind := range []string{KindDensity, KindDrift} {
		name := kind + ".svg"
		path := filepath.Join("testdata", name)
		t.Cleanup(func() { os.Remove(path); os.Remove(SideCSV(path)) })
		cmpimg.CheckPlot(func() {
			req := Request{Kind: kind, Runs: runs, Out: path, Sel: Selection{Neuron: -1}, Width: 8 * vg.Inch, Height: 3.5 * vg.Inch}
			if _, err := Render(context.Background(), req, io.Discard); err != nil {
				t.Fatalf("%s: %v", kind, err)
			}
		}, t, name)
	}
}
