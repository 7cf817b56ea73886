package plots

import (
	"fmt"
	"image/color"
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
	fig := &Figure{Caption: fmt.Sprintf("%s · %s · heights scaled to the panel's tallest curve%s", SilvermanRule, examplesNote(curves), constantNote(runs, curves))}
	for i, r := range runs {
		p := newPanel(fmt.Sprintf("%s · %s · neuron %d", r.Label, sel.Node, sel.Neuron), "activation", "epoch")
		cs := curves[i]
		scale := ridgeHeight / spikeHeight(cs)
		ticks := make([]plot.Tick, len(cs))
		every := (len(cs) + 11) / 12 // label at most 12 epochs
		for k, c := range cs {
			base := float64(len(cs) - 1 - k)
			t := 0.0
			if len(cs) > 1 {
				t = float64(k) / float64(len(cs)-1)
			}
			ticks[k] = plot.Tick{Value: base}
			if k%every == 0 || k == len(cs)-1 {
				ticks[k].Label = strconv.Itoa(c.Epoch)
			}
			if c.Constant {
				// below the next baseline, so that stacked spikes stay apart
				p.Plot.Add(xyLine([]float64{c.Value, c.Value}, []float64{base, base + 0.8}, lineStyle(sequentialColor(t), 2.5)),
					markers([]float64{c.Value}, []float64{base + 0.8}, sequentialColor(t)))
				continue
			}
			ring := make(plotter.XYs, 0, len(c.X)+2)
			ring = append(ring, plotter.XY{X: c.X[0], Y: base})
			for j := range c.X {
				ring = append(ring, plotter.XY{X: c.X[j], Y: base + c.Y[j]*scale})
			}
			ring = append(ring, plotter.XY{X: c.X[len(c.X)-1], Y: base})
			p.Plot.Add(&plotter.Polygon{
				XYs:       []plotter.XYs{ring},
				Color:     withAlpha(sequentialColor(t), 0.8),
				LineStyle: lineStyle(color.Gray{Y: 40}, 0.8),
			})
		}
		p.Plot.Y.Tick.Marker = plot.ConstantTicks(ticks)
		p.Plot.Y.Min = -0.25 // keep the last baseline off the x axis
		fig.Panels = append(fig.Panels, p)
	}
	sharedRange(xAxes(fig.Panels))
	return fig, nil
}
