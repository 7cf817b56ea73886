package bench

import (
	"fmt"
	"image/color"
	"os"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

var (
	normtapColor = color.NRGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}
	peerColor    = color.NRGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff}
	fwdColor     = color.NRGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff}
	bwdColor     = color.NRGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}
)

// throughputPlot draws examples/s per norm, normtap's bars beside the
// peer's when there is one.
func throughputPlot(r *Report) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = "training throughput"
	p.Y.Label.Text = "examples/s"
	names := make([]string, len(r.Results))
	ours := make(plotter.Values, len(r.Results))
	theirs := make(plotter.Values, len(r.Results))
	for i, x := range r.Results {
		names[i] = x.Norm.String()
		if x.NormOverhead != nil {
			names[i] = fmt.Sprintf("%s\nR %.2f", x.Norm, *x.NormOverhead)
		}
		ours[i] = x.ExamplesPerSec
		if r.Peer != nil {
			for _, y := range r.Peer.Results {
				if y.Norm == x.Norm {
					theirs[i] = y.ExamplesPerSec
				}
			}
		}
	}
	w := vg.Points(18)
	a, err := plotter.NewBarChart(ours, w)
	if err != nil {
		return nil, err
	}
	a.Color, a.LineStyle.Width = normtapColor, 0
	p.Add(a)
	p.Legend.Add("normtap", a)
	if r.Peer != nil {
		b, err := plotter.NewBarChart(theirs, w)
		if err != nil {
			return nil, err
		}
		a.Offset, b.Offset = -w/2, w/2
		b.Color, b.LineStyle.Width = peerColor, 0
		p.Add(b)
		p.Legend.Add(fmt.Sprintf("%s %s, %d thread(s)", r.Peer.Tool, r.Peer.Version, r.Peer.Threads), b)
	}
	p.Legend.Top = true
	p.NominalX(names...)
	p.Y.Min = 0
	p.Y.Max = 1.3 * max(maxOf(ours), maxOf(theirs))
	return p, nil
}

func maxOf(v plotter.Values) float64 {
	m := 0.0
	for _, x := range v {
		m = max(m, x)
	}
	return m
}

// microPlot draws the norm kernels' GB/s with the copy bandwidth as a line.
func microPlot(r *Report) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = "norm kernels, one core"
	p.Y.Label.Text = "GB/s"
	var names []string
	var fwd, bwd plotter.Values
	for _, x := range r.Micro {
		name := fmt.Sprintf("%s\n%dx%d", x.Kind, x.N, x.D)
		if x.Pass == "forward" {
			names = append(names, name)
			fwd = append(fwd, x.GBPerSec)
		} else {
			bwd = append(bwd, x.GBPerSec)
		}
	}
	w := vg.Points(12)
	a, err := plotter.NewBarChart(fwd, w)
	if err != nil {
		return nil, err
	}
	b, err := plotter.NewBarChart(bwd, w)
	if err != nil {
		return nil, err
	}
	a.Offset, b.Offset = -w/2, w/2
	a.Color, b.Color = fwdColor, bwdColor
	a.LineStyle.Width, b.LineStyle.Width = 0, 0
	p.Add(a, b)
	p.Legend.Add("forward", a)
	p.Legend.Add("backward", b)
	line, err := plotter.NewLine(plotter.XYs{{X: -0.5, Y: r.CopyGBPerSec}, {X: float64(len(names)) - 0.5, Y: r.CopyGBPerSec}})
	if err != nil {
		return nil, err
	}
	line.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	p.Add(line)
	p.Legend.Add(fmt.Sprintf("copy %.0f GB/s", r.CopyGBPerSec), line)
	p.Legend.Top = true
	p.NominalX(names...)
	p.Y.Min = 0
	p.Y.Max = 1.35 * max(maxOf(fwd), maxOf(bwd), r.CopyGBPerSec)
	return p, nil
}

// PlotFormat is the image format WritePlot picks for path, from its
// extension, or an error naming the flag.
func PlotFormat(path string) (string, error) {
	format := strings.TrimPrefix(strings.ToLower(filepath.Ext(path)), ".")
	switch format {
	case "png", "svg", "pdf", "jpg", "jpeg", "tif", "tiff", "eps":
		return format, nil
	}
	return "", fmt.Errorf("--plot %s: unknown format %q (want .png, .svg or .pdf)", path, format)
}

// WritePlot draws the throughput bars (and the kernel bandwidths when the
// report has them) into path; its extension picks the format (png, svg,
// pdf).
func (r *Report) WritePlot(path string) error {
	format, err := PlotFormat(path)
	if err != nil {
		return err
	}
	var row []*plot.Plot
	tp, err := throughputPlot(r)
	if err != nil {
		return fmt.Errorf("--plot %s: %w", path, err)
	}
	row = append(row, tp)
	if len(r.Micro) > 0 {
		mp, err := microPlot(r)
		if err != nil {
			return fmt.Errorf("--plot %s: %w", path, err)
		}
		row = append(row, mp)
	}
	width, height := vg.Points(330)*vg.Length(len(row)), vg.Points(300)
	c, err := draw.NewFormattedCanvas(width, height, format)
	if err != nil {
		return fmt.Errorf("--plot %s: %w", path, err)
	}
	tiles := draw.Tiles{Rows: 1, Cols: len(row), PadX: vg.Millimeter * 4, PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2}
	canvases := plot.Align([][]*plot.Plot{row}, tiles, draw.New(c))
	for i, p := range row {
		p.Draw(canvases[0][i])
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("--plot: %w", err)
	}
	if _, err := c.WriteTo(f); err != nil {
		f.Close()
		return fmt.Errorf("--plot %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("--plot %s: %w", path, err)
	}
	return nil
}
