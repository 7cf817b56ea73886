package plots

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/text/encoding/charmap"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgpdf"
	"gonum.org/v1/plot/vg/vgsvg"

	"normtap/rundir"
)

// Formats are the file extensions Save writes.
var Formats = []string{".png", ".svg", ".pdf"}

// Default figure size, and the largest Save draws.
const (
	DefaultWidth  = 10 * vg.Inch
	DefaultHeight = 4 * vg.Inch
	MaxSide       = 50 * vg.Inch
)

// PNGDPI is the resolution of png figures: a 10in × 4in figure is
// 1500 × 600 pixels.
const PNGDPI = 150

// Text sizes, chosen to stay readable at the default 10in × 4in.
const (
	titleSize   = 13
	labelSize   = 12
	tickSize    = 11
	legendSize  = 12
	captionSize = 11
)

var sans = font.Font{Typeface: "Liberation", Variant: "Sans"}

// textStyle is plot's default text style in sans at size points.
func textStyle(size vg.Length) text.Style {
	return text.Style{Color: color.Black, Font: font.From(sans, size), Handler: plot.DefaultTextHandler}
}

// Figure is panels side by side, a legend shared by all panels under them
// and a caption under that.
type Figure struct {
	Panels  []Panel
	Legend  []LegendEntry
	Caption string // parts separated by " · " may go on separate lines
}

// Panel is one plot of a Figure with its title. The Figure draws the
// titles in one row: a plot's own title would sit as high as its tick
// labels let it, and so differ from panel to panel.
type Panel struct {
	Title string
	Plot  *plot.Plot
}

// LegendEntry is one label of a Figure's legend with its sample style.
type LegendEntry struct {
	Label string
	Thumb plot.Thumbnailer
}

// newPanel returns a titled plot with normtap's fonts and a light grid.
func newPanel(title, xLabel, yLabel string) Panel {
	p := plot.New()
	for _, ax := range []*plot.Axis{&p.X, &p.Y} {
		align := ax.Label.TextStyle
		ax.Label.TextStyle = textStyle(labelSize)
		ax.Label.TextStyle.XAlign, ax.Label.TextStyle.YAlign = align.XAlign, align.YAlign
		tick := ax.Tick.Label
		ax.Tick.Label = textStyle(tickSize)
		ax.Tick.Label.XAlign, ax.Tick.Label.YAlign = tick.XAlign, tick.YAlign
		ax.Tick.Length = vg.Points(5)
		ax.Padding = vg.Points(2)
		ax.Tick.Marker = niceTicks{}
	}
	p.X.Label.Text = xLabel
	p.Y.Label.Text = yLabel
	grid := plotter.NewGrid()
	grid.Vertical.Color = color.Gray{Y: 225}
	grid.Horizontal.Color = color.Gray{Y: 225}
	p.Add(grid)
	return Panel{Title: title, Plot: p}
}

// Draw draws the figure onto c.
func (f *Figure) Draw(c draw.Canvas) {
	c.SetColor(color.White)
	c.Fill(c.Rectangle.Path())
	margin := vg.Points(6)
	c = draw.Crop(c, margin, -margin, margin, -margin)
	width := c.Max.X - c.Min.X

	captionStyle := textStyle(captionSize)
	captionStyle.Color = color.Gray{Y: 70}
	captionStyle.XAlign = draw.XCenter
	legendStyle := textStyle(legendSize)
	legendStyle.YAlign = draw.YCenter
	titleStyle := textStyle(titleSize)
	titleStyle.XAlign, titleStyle.YAlign = draw.XCenter, draw.YTop

	// From the bottom up: caption lines, legend rows, then the panels.
	bottom := c.Min.Y
	lines := wrapParts(strings.Split(f.Caption, " · "), " · ", width, captionStyle)
	for i := len(lines) - 1; i >= 0; i-- {
		c.FillText(captionStyle, vg.Point{X: c.Center().X, Y: bottom}, lines[i])
		bottom += captionStyle.Height(lines[i])
	}
	if len(lines) > 0 {
		bottom += vg.Points(4)
	}
	rows := legendRows(f.Legend, width, legendStyle)
	rowHeight := legendStyle.Height("Mg") * 1.3
	for i := len(rows) - 1; i >= 0; i-- {
		drawLegendRow(c, rows[i], bottom+rowHeight/2, legendStyle)
		bottom += rowHeight
	}
	if len(rows) > 0 {
		bottom += vg.Points(4)
	}
	if len(f.Panels) == 0 {
		return
	}
	// Titles go above the panels, in lines split at " · " where a panel is
	// too narrow for one.
	padX := vg.Points(18)
	tileWidth := (width - padX*vg.Length(len(f.Panels)-1)) / vg.Length(len(f.Panels))
	titles := make([][]string, len(f.Panels))
	lineHeight := titleStyle.Height("Mg")
	var titleRow vg.Length
	plots := make([]*plot.Plot, len(f.Panels))
	for i, p := range f.Panels {
		plots[i] = p.Plot
		titles[i] = wrapParts(strings.Split(p.Title, " · "), " · ", tileWidth, titleStyle)
		if len(titles[i]) > 0 {
			titleRow = max(titleRow, lineHeight*vg.Length(len(titles[i]))+vg.Points(6))
		}
	}
	area := draw.Crop(c, 0, 0, bottom-c.Min.Y, -titleRow)
	tiles := draw.Tiles{Rows: 1, Cols: len(plots), PadX: padX}
	canvases := plot.Align([][]*plot.Plot{plots}, tiles, area)
	for i, p := range f.Panels {
		p.Plot.Draw(canvases[0][i])
		data := p.Plot.DataCanvas(canvases[0][i])
		centre := data.Center().X
		for j, line := range titles[i] {
			c.FillText(titleStyle, vg.Point{X: centre, Y: c.Max.Y - lineHeight*vg.Length(j)}, line)
		}
	}
}

// checkRanges refuses a figure whose axes would get NaN or overflowing
// limits: gonum's tick code loops without end on them. The figures keep
// non-finite values out of their data (rejecting them where they are read,
// or drawing them as gaps); this is the net under that.
func (f *Figure) checkRanges() error {
	for _, p := range f.Panels {
		for _, ax := range []struct {
			name string
			a    *plot.Axis
		}{{"x", &p.Plot.X}, {"y", &p.Plot.Y}} {
			lo, hi := ax.a.Min, ax.a.Max
			// +Inf, -Inf is an axis without data, which gonum sanitizes;
			// -Inf or +Inf the other way round came from the data.
			if math.IsNaN(lo) || math.IsNaN(hi) || math.IsInf(lo, -1) || math.IsInf(hi, 1) ||
				(isFinite(lo) && isFinite(hi) && !isFinite(hi-lo)) {
				return fmt.Errorf("panel %q: %s axis range [%v, %v] is not drawable: a non-finite or out-of-range value reached the figure", p.Title, ax.name, lo, hi)
			}
		}
	}
	return nil
}

// Legend entry layout, in points.
const (
	thumbWidth   = 26 // the line or patch sample
	thumbGap     = 5  // between sample and label
	entrySpacing = 18 // between entries
)

func entryWidth(e LegendEntry, sty text.Style) vg.Length {
	return vg.Points(thumbWidth+thumbGap) + sty.Width(e.Label)
}

// legendRows splits the entries into rows that fit in width.
func legendRows(entries []LegendEntry, width vg.Length, sty text.Style) [][]LegendEntry {
	var rows [][]LegendEntry
	var rowWidth vg.Length
	for _, e := range entries {
		w := entryWidth(e, sty)
		if n := len(rows); n > 0 && rowWidth+vg.Points(entrySpacing)+w <= width {
			rows[n-1] = append(rows[n-1], e)
			rowWidth += vg.Points(entrySpacing) + w
			continue
		}
		rows = append(rows, []LegendEntry{e})
		rowWidth = w
	}
	return rows
}

// drawLegendRow draws entries in one centred row at height y.
func drawLegendRow(c draw.Canvas, entries []LegendEntry, y vg.Length, sty text.Style) {
	total := vg.Points(entrySpacing) * vg.Length(len(entries)-1)
	for _, e := range entries {
		total += entryWidth(e, sty)
	}
	thumbHeight := sty.Height("M")
	x := c.Center().X - total/2
	for _, e := range entries {
		thumb := draw.Canvas{Canvas: c.Canvas, Rectangle: vg.Rectangle{
			Min: vg.Point{X: x, Y: y - thumbHeight/2},
			Max: vg.Point{X: x + vg.Points(thumbWidth), Y: y + thumbHeight/2},
		}}
		e.Thumb.Thumbnail(&thumb)
		c.FillText(sty, vg.Point{X: x + vg.Points(thumbWidth+thumbGap), Y: y}, e.Label)
		x += entryWidth(e, sty) + vg.Points(entrySpacing)
	}
}

// wrapParts joins parts with sep into as few lines as fit in width.
func wrapParts(parts []string, sep string, width vg.Length, sty text.Style) []string {
	var lines []string
	for _, part := range parts {
		if part == "" {
			continue
		}
		if n := len(lines); n > 0 && sty.Width(lines[n-1]+sep+part) <= width {
			lines[n-1] += sep + part
			continue
		}
		lines = append(lines, part)
	}
	return lines
}

// CheckFormat returns an error unless path ends in a supported extension.
func CheckFormat(path string) error {
	ext := strings.ToLower(filepath.Ext(path))
	for _, f := range Formats {
		if ext == f {
			return nil
		}
	}
	if ext == "" {
		return fmt.Errorf("output %s has no extension; supported: %s", path, strings.Join(Formats, ", "))
	}
	return fmt.Errorf("output %s: unsupported format %s; supported: %s", path, ext, strings.Join(Formats, ", "))
}

// Save draws f at w × h and writes it to path, atomically, as png, svg or
// pdf according to the extension.
func Save(f *Figure, path string, w, h vg.Length) error {
	if err := CheckFormat(path); err != nil {
		return err
	}
	if !(w > 0 && h > 0 && w <= MaxSide && h <= MaxSide) {
		return fmt.Errorf("figure size %.4gin × %.4gin: want each side above 0 and at most %gin", w/vg.Inch, h/vg.Inch, MaxSide/vg.Inch)
	}
	if err := f.checkRanges(); err != nil {
		return fmt.Errorf("draw %s: %w", path, err)
	}
	var c vg.CanvasWriterTo
	switch strings.ToLower(filepath.Ext(path)) {
	case ".png":
		c = vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(PNGDPI))}
	case ".svg":
		c = vgsvg.New(w, h)
	case ".pdf":
		c = pdfCanvas{vgpdf.New(w, h)}
	}
	f.Draw(draw.New(c))
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return fmt.Errorf("draw %s: %w", path, err)
	}
	return rundir.AtomicWriteFile(path, buf.Bytes(), 0o644)
}

// pdfCanvas passes text to vgpdf in its font encoding, code page 1252:
// vgpdf takes the bytes of a string as they are, so "·" in UTF-8 would come
// out as "Â·". Characters outside cp1252 become "?".
type pdfCanvas struct{ *vgpdf.Canvas }

func (c pdfCanvas) FillString(f font.Face, pt vg.Point, s string) {
	enc := charmap.Windows1252.NewEncoder()
	var b strings.Builder
	for _, r := range s {
		out, err := enc.String(string(r))
		if err != nil {
			out = "?"
		}
		b.WriteString(out)
	}
	c.Canvas.FillString(f, pt, b.String())
}

// Colours. categorical is the Okabe–Ito palette (distinct, colour-blind
// safe) reordered so the first three contrast most; sequential samples
// viridis for many ordered curves (ridge plots).
var categorical = []color.NRGBA{
	{0x00, 0x72, 0xB2, 0xff}, // blue
	{0xE6, 0x9F, 0x00, 0xff}, // orange
	{0xCC, 0x3D, 0x8A, 0xff}, // reddish purple
	{0x00, 0x9E, 0x73, 0xff}, // bluish green
	{0x56, 0xB4, 0xE9, 0xff}, // sky blue
	{0xD5, 0x5E, 0x00, 0xff}, // vermilion
	{0x33, 0x33, 0x33, 0xff}, // near black
	{0x99, 0x88, 0x22, 0xff}, // olive
}

func categoricalColor(i int) color.NRGBA { return categorical[i%len(categorical)] }

var viridis = []color.NRGBA{
	{0x44, 0x01, 0x54, 0xff}, {0x48, 0x28, 0x78, 0xff}, {0x3e, 0x4a, 0x89, 0xff},
	{0x31, 0x68, 0x8e, 0xff}, {0x26, 0x82, 0x8e, 0xff}, {0x1f, 0x9e, 0x89, 0xff},
	{0x35, 0xb7, 0x79, 0xff}, {0x6d, 0xcd, 0x59, 0xff}, {0xb4, 0xde, 0x2c, 0xff},
	{0xfd, 0xe7, 0x25, 0xff},
}

// sequentialColor returns viridis at t in [0, 1], stopping short of its
// pale yellow end so that every colour shows on white.
func sequentialColor(t float64) color.NRGBA {
	t = math.Max(0, math.Min(1, t)) * 0.85 * float64(len(viridis)-1)
	i := int(t)
	if i >= len(viridis)-1 {
		return viridis[len(viridis)-1]
	}
	frac := t - float64(i)
	a, b := viridis[i], viridis[i+1]
	mix := func(x, y uint8) uint8 { return uint8(math.Round(float64(x) + frac*(float64(y)-float64(x)))) }
	return color.NRGBA{mix(a.R, b.R), mix(a.G, b.G), mix(a.B, b.B), 0xff}
}

// withAlpha returns c with opacity alpha in [0, 1].
func withAlpha(c color.NRGBA, alpha float64) color.NRGBA {
	c.A = uint8(math.Round(alpha * 255))
	return c
}

// lineStyle is a solid line of the given colour and width in points.
func lineStyle(c color.Color, width float64) draw.LineStyle {
	return draw.LineStyle{Color: c, Width: vg.Points(width)}
}

// xyLine returns a line through the points (x[i], y[i]).
func xyLine(x, y []float64, sty draw.LineStyle) *plotter.Line {
	xys := make(plotter.XYs, len(x))
	for i := range x {
		xys[i] = plotter.XY{X: x[i], Y: y[i]}
	}
	return &plotter.Line{XYs: xys, LineStyle: sty}
}

// gapLines draws y over x as lines that break wherever keep(y) is false (a
// NaN, or a value a log axis cannot show): a missing value is a gap, not a
// line bridging it. A point alone between gaps gets a marker. It returns
// the plotters and how many points it left out.
func gapLines(x, y []float64, keep func(float64) bool, sty draw.LineStyle) (out []plot.Plotter, missing int) {
	flush := func(xs, ys []float64) {
		switch len(xs) {
		case 0:
		case 1:
			out = append(out, markers(xs, ys, colorOf(sty.Color)))
		default:
			out = append(out, xyLine(xs, ys, sty))
		}
	}
	var xs, ys []float64
	for i := range x {
		if !keep(y[i]) {
			missing++
			flush(xs, ys)
			xs, ys = nil, nil
			continue
		}
		xs, ys = append(xs, x[i]), append(ys, y[i])
	}
	flush(xs, ys)
	return out, missing
}

func colorOf(c color.Color) color.NRGBA {
	if n, ok := c.(color.NRGBA); ok {
		return n
	}
	return color.NRGBAModel.Convert(c).(color.NRGBA)
}

// sharedRange sets the same axis range on all panels' X (or Y) axes.
func sharedRange(axes []*plot.Axis) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, a := range axes {
		lo, hi = math.Min(lo, a.Min), math.Max(hi, a.Max)
	}
	for _, a := range axes {
		a.Min, a.Max = lo, hi
	}
}

// niceTicks labels four to seven ticks at steps of 1, 2 or 5 × 10^k (whole
// numbers when integer is set, for epochs and steps), with a minor tick
// between labels. gonum's DefaultTicks aims at three labels, too few for
// reading values off a figure.
type niceTicks struct{ integer bool }

func (t niceTicks) Ticks(lo, hi float64) []plot.Tick {
	const labels = 7 // at most about this many
	raw := (hi - lo) / labels
	if !(raw > 0) || !isFinite(raw) {
		// NaN or overflowing limits (Save refuses them before drawing; this
		// keeps the marker from looping if one gets here): label the ends.
		var ticks []plot.Tick
		for _, v := range []float64{lo, hi} {
			if isFinite(v) {
				ticks = append(ticks, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'g', 4, 64)})
			}
		}
		return ticks
	}
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := 10 * mag
	for _, m := range []float64{1, 2, 5} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	if t.integer && step < 1 {
		step = 1
	}
	decimals := max(0, int(-math.Floor(math.Log10(step)+1e-9)))
	format := func(v float64) string {
		if math.Abs(v) < step*1e-9 {
			v = 0 // not "-0"
		}
		if decimals > 6 || math.Abs(v) >= 1e7 {
			// enough significant digits that neighbouring labels differ
			// (a range of 1 ± 1e-7 is not labelled 1, 1, 1)
			digits := int(math.Ceil(math.Log10(math.Max(math.Abs(lo), math.Abs(hi))/step))) + 1
			return strconv.FormatFloat(v, 'g', min(17, max(4, digits)), 64)
		}
		return strconv.FormatFloat(v, 'f', decimals, 64)
	}
	var ticks []plot.Tick
	first := math.Ceil(lo/step) * step
	for i := 0; ; i++ {
		v := first + float64(i)*step
		if v > hi+step*1e-9 {
			break
		}
		ticks = append(ticks, plot.Tick{Value: v, Label: format(v)})
		if minor := v + step/2; minor <= hi {
			ticks = append(ticks, plot.Tick{Value: minor})
		}
	}
	if minor := first - step/2; minor >= lo {
		ticks = append(ticks, plot.Tick{Value: minor})
	}
	return ticks
}

// wholeNumbersX marks p's x axis (epochs, steps) at whole numbers only.
func wholeNumbersX(p *plot.Plot) { p.X.Tick.Marker = niceTicks{integer: true} }
