package plots

import (
	"bytes"
	"compress/zlib"
	"context"
	"image/png"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// outDir is where the rendering tests write figures: a temp dir, or
// $NORMTAP_PLOTS_OUT to keep them for looking at.
func outDir(t *testing.T) string {
	if dir := os.Getenv("NORMTAP_PLOTS_OUT"); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	return t.TempDir()
}

func TestEachKindRendersInEachFormat(t *testing.T) {
	runs := threeRuns(t)
	out := outDir(t)
	for _, tc := range []struct {
		kind, bands string
		runs        []string
		marker      string // text that must be in the svg
	}{
		{kind: KindDensity, runs: runs, marker: "batch · h2.act · neuron 3"},
		{kind: KindPercentiles, runs: runs, marker: "15th and 85th percentiles"},
		{kind: KindPercentiles, bands: BandsTensorBoard, runs: runs, marker: "31-69th"},
		{kind: KindCurves, runs: runs, marker: "test accuracy"},
		{kind: KindDrift, runs: runs, marker: "Wasserstein-1 distance"},
		{kind: KindRidge, runs: runs[:1], marker: "none · h2.act · neuron 3"},
	} {
		name := tc.kind
		if tc.bands != "" {
			name += "-" + tc.bands
		}
		for _, ext := range Formats {
			path := filepath.Join(out, name+ext)
			var stdout bytes.Buffer
			req := Request{Kind: tc.kind, Runs: tc.runs, Out: path, Sel: Selection{Neuron: -1}, Bands: tc.bands}
			written, err := Render(context.Background(), req, &stdout)
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			switch ext {
			case ".png":
				checkPNG(t, path, data)
			case ".svg":
				if len(data) < 10000 || !bytes.Contains(data, []byte("<svg")) || !bytes.Contains(data, []byte(tc.marker)) {
					t.Errorf("%s: %d bytes, want a large svg containing %q", path, len(data), tc.marker)
				}
			case ".pdf":
				if len(data) < 10000 || !bytes.HasPrefix(data, []byte("%PDF-")) || !bytes.Contains(data, []byte("%%EOF")) {
					t.Errorf("%s: %d bytes, want a large, complete pdf", path, len(data))
				}
				if text := pdfText(data); !strings.Contains(text, cp1252(tc.marker)) {
					t.Errorf("%s: no text %q in the font's encoding (cp1252)", path, tc.marker)
				}
			}
			if tc.kind == KindDrift {
				csvPath := strings.TrimSuffix(path, ext) + ".csv"
				if len(written) != 2 || written[1] != csvPath {
					t.Errorf("drift wrote %v, want the figure and %s", written, csvPath)
				}
				csv, _ := os.ReadFile(csvPath)
				if !bytes.HasPrefix(csv, []byte(strings.Join(DriftHeader, ",")+"\n")) || bytes.Count(csv, []byte("\n")) != 1+3*6 {
					t.Errorf("%s:\n%s\nwant a header and 18 rows", csvPath, csv)
				}
				if !strings.Contains(stdout.String(), "W1") || strings.Count(stdout.String(), "h2.act") != 18 {
					t.Errorf("drift table:\n%s\nwant a header and 18 rows", stdout.String())
				}
			} else if stdout.Len() != 0 {
				t.Errorf("%s printed %q, want nothing", tc.kind, stdout.String())
			}
		}
	}
}

// checkPNG decodes a figure and checks that it is the size of 10in × 4in
// at PNGDPI and that a good share of it is drawn, in colour.
func checkPNG(t *testing.T, path string, data []byte) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	b := img.Bounds()
	if b.Dx() != 10*PNGDPI || b.Dy() != 4*PNGDPI {
		t.Errorf("%s: %d×%d pixels, want %d×%d", path, b.Dx(), b.Dy(), 10*PNGDPI, 4*PNGDPI)
	}
	var drawn, coloured int
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if r < 0xf000 || g < 0xf000 || bl < 0xf000 {
				drawn++
			}
			if max(r, g, bl)-min(r, g, bl) > 0x3000 {
				coloured++
			}
		}
	}
	total := b.Dx() * b.Dy()
	if drawn < total/50 || coloured < total/200 {
		t.Errorf("%s: %d of %d pixels drawn, %d coloured: looks blank", path, drawn, total, coloured)
	}
}

func TestDensityDefaultEpochs(t *testing.T) {
	for _, tc := range []struct{ tapped, want []int }{
		{[]int{1, 2, 5, 10, 20, 30}, []int{1, 10, 30}},
		{[]int{1, 2, 3, 4, 5}, []int{1, 3, 5}},
		{[]int{1, 10, 20}, []int{1, 10, 20}},
		{[]int{2, 4}, []int{2, 4}},
		{[]int{7}, []int{7}},
	} {
		if got := seedEpochs(tc.tapped); !slices.Equal(got, tc.want) {
			t.Errorf("seedEpochs(%v) = %v, want %v", tc.tapped, got, tc.want)
		}
	}
	runs, err := LoadRuns(threeRuns(t)[:1])
	if err != nil {
		t.Fatal(err)
	}
	sel, curves, err := DensityCurves(runs, Selection{Neuron: -1}, seedEpochs)
	if err != nil {
		t.Fatal(err)
	}
	if sel.Node != "h2.act" || sel.Neuron != 3 {
		t.Errorf("defaults: node %q neuron %d, want h2.act and the first tapped column, 3", sel.Node, sel.Neuron)
	}
	var epochs []int
	for _, c := range curves[0] {
		epochs = append(epochs, c.Epoch)
		if integral := trapezoid(c.X, c.Y); integral < 0.999 || integral > 1.001 {
			t.Errorf("epoch %d: density integrates to %v on the shared grid", c.Epoch, integral)
		}
	}
	if !slices.Equal(epochs, []int{1, 10, 30}) {
		t.Errorf("curves at epochs %v, want 1, 10, 30", epochs)
	}
}

// TestDriftTableOfShiftedCopies uses taps that are one sample shifted by
// epoch−1 and scaled by 2 at epoch 4, so every number is known exactly.
func TestDriftTableOfShiftedCopies(t *testing.T) {
	base := []float64{-1.5, -0.25, 0, 0.5, 0.75, 2, 3.5, 4}
	baseMean, baseStd := MeanStd(base)
	dir := makeRun(t, "shifted", fakeRun{norm: "none", nodes: []string{"h1.norm"}, neurons: []int{2}, epochs: []int{1, 2, 3, 4}, examples: len(base),
		value: func(_ *rand.Rand, _, epoch, _, i int) float64 {
			if epoch == 4 {
				return 2 * base[i]
			}
			return base[i] + float64(epoch-1)
		}})
	runs, err := LoadRuns([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	sel, rows, err := DriftTable(runs, Selection{Neuron: -1})
	if err != nil {
		t.Fatal(err)
	}
	if sel.Node != "h1.norm" || sel.Neuron != 2 || len(rows) != 4 {
		t.Fatalf("node %s neuron %d, %d rows", sel.Node, sel.Neuron, len(rows))
	}
	// W1 between x and 2x is the quantile integral ∫|Q − 2Q| = mean |x|.
	var meanAbs float64
	for _, v := range base {
		meanAbs += math.Abs(v) / float64(len(base))
	}
	want := []struct{ w1, meanShift, stdRatio float64 }{{0, 0, 1}, {1, 1, 1}, {2, 2, 1}, {meanAbs, baseMean, 2}}
	for i, row := range rows {
		w := want[i]
		if row.Epoch != i+1 || row.Step != (i+1)*100 || row.Examples != len(base) || row.Run != "none" {
			t.Errorf("row %d: %+v", i, row)
		}
		if math.Abs(row.W1-w.w1) > 1e-6 || math.Abs(row.MeanShift-w.meanShift) > 1e-6 || math.Abs(row.StdRatio-w.stdRatio) > 1e-6 {
			t.Errorf("epoch %d: W1 %v, mean shift %v, std ratio %v; want %v, %v, %v", row.Epoch, row.W1, row.MeanShift, row.StdRatio, w.w1, w.meanShift, w.stdRatio)
		}
		if math.Abs(row.StdShift-(w.stdRatio-1)*baseStd) > 1e-6 {
			t.Errorf("epoch %d: std shift %v, want %v", row.Epoch, row.StdShift, (w.stdRatio-1)*baseStd)
		}
	}
	var table strings.Builder
	if err := PrintDriftTable(&table, rows); err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(table.String()), "\n"); len(lines) != 5 || !strings.Contains(lines[0], "W1") || !strings.Contains(lines[2], "h1.norm") {
		t.Errorf("table:\n%s", table.String())
	}
}

// pdfText returns the decompressed content streams of a pdf.
func pdfText(pdf []byte) string {
	var text strings.Builder
	for {
		start := bytes.Index(pdf, []byte(">>\nstream\n"))
		if start < 0 {
			break
		}
		pdf = pdf[start+len(">>\nstream\n"):]
		end := bytes.Index(pdf, []byte("endstream"))
		if end < 0 {
			break
		}
		if r, err := zlib.NewReader(bytes.NewReader(pdf[:end])); err == nil {
			b, _ := io.ReadAll(r)
			text.Write(b)
		}
		pdf = pdf[end:]
	}
	return text.String()
}

// cp1252 encodes s as the pdf's fonts do: "·" is the byte 0xB7.
func cp1252(s string) string {
	return strings.ReplaceAll(s, "·", "\xb7")
}
