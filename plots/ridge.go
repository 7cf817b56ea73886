package plots

import (
	"fmt"
	"image/color"
	"math"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
)

// ridgeHeight is the height of the tallest curve of a ridge panel, in
// units of the spacing between epochs: curves overlap their neighbours.
const ridgeHeight = 1.8

// RidgeFigure draws all tapped epochs of each run (or sel.Epochs) as stacked
// density curves, first epoch at the top, one panel per run on a shared x
// range (a ridge or joy plot).
func RidgeFigure(runs []*Run, sel Selection) (*Figure, error) {
	sel, curves, err := DensityCurves(runs, sel, allEpochs)
	if err != nil {
		return nil, err
	}
	fig := &Figure{Caption: fmt.Sprintf("%s · %s · heights scaled to the panel's tallest curve", SilvermanRule, examplesNote(curves))}
	for i, r := range runs {
		p := newPanel(fmt.Sprintf("%s · %s · neuron %d", r.Label, sel.Node, sel.Neuron), "activation", "epoch")
		cs := curves[i]
		peak := 0.0
		for _, c := range cs {
			for _, y := range c.Y {
				peak = math.Max(peak, y)
			}
		}
		scale := ridgeHeight / peak
		ticks := make([]plot.Tick, len(cs))
		every := (len(cs) + 11) / 12 // label at most 12 epochs
		for k, c := range cs {
			base := float64(len(cs) - 1 - k)
			ring := make(plotter.XYs, 0, len(c.X)+2)
			ring = append(ring, plotter.XY{X: c.X[0], Y: base})
			for j := range c.X {
				ring = append(ring, plotter.XY{X: c.X[j], Y: base + c.Y[j]*scale})
			}
			ring = append(ring, plotter.XY{X: c.X[len(c.X)-1], Y: base})
			t := 0.0
			if len(cs) > 1 {
				t = float64(k) / float64(len(cs)-1)
			}
			p.Plot.Add(&plotter.Polygon{
				XYs:       []plotter.XYs{ring},
				Color:     withAlpha(sequentialColor(t), 0.8),
				LineStyle: lineStyle(color.Gray{Y: 40}, 0.8),
			})
			ticks[k] = plot.Tick{Value: base}
			if k%every == 0 || k == len(cs)-1 {
				ticks[k].Label = strconv.Itoa(c.Epoch)
			}
		}
		p.Plot.Y.Tick.Marker = plot.ConstantTicks(ticks)
		p.Plot.Y.Min = -0.25 // keep the last baseline off the x axis
		fig.Panels = append(fig.Panels, p)
	}
	sharedRange(xAxes(fig.Panels))
	return fig, nil
}
