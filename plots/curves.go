package plots

import (
	"fmt"
	"path/filepath"

	"gonum.org/v1/plot/plotter"

	"normtap/rundir"
)

// CurvesFigure draws the test accuracy and the test loss of each run over
// epochs (Ioffe & Szegedy 2015, Fig. 1 a): two panels, one line per run.
func CurvesFigure(runs []*Run) (*Figure, error) {
	acc := newPanel("test accuracy", "epoch", "accuracy (%)")
	loss := newPanel("test loss", "epoch", "cross-entropy")
	wholeNumbersX(acc.Plot)
	wholeNumbersX(loss.Plot)
	fig := &Figure{Panels: []Panel{acc, loss}, Caption: "from metrics.csv, one row per epoch"}
	for i, r := range runs {
		rows, err := rundir.ReadMetrics(r.Dir)
		if err != nil {
			return nil, err
		}
		if len(rows) == 0 {
			return nil, fmt.Errorf("%s has no rows", filepath.Join(r.Dir, rundir.MetricsFile))
		}
		epochs := make([]float64, len(rows))
		accuracy := make([]float64, len(rows))
		lossValues := make([]float64, len(rows))
		for j, m := range rows {
			epochs[j], accuracy[j], lossValues[j] = float64(m.Epoch), 100*m.TestAcc, m.TestLoss
		}
		sty := lineStyle(categoricalColor(i), 2)
		acc.Plot.Add(xyLine(epochs, accuracy, sty))
		loss.Plot.Add(xyLine(epochs, lossValues, sty))
		if len(rows) <= markerLimit {
			acc.Plot.Add(markers(epochs, accuracy, categoricalColor(i)))
			loss.Plot.Add(markers(epochs, lossValues, categoricalColor(i)))
		}
		fig.Legend = append(fig.Legend, LegendEntry{Label: r.Label, Thumb: &plotter.Line{LineStyle: lineStyle(categoricalColor(i), 2.5)}})
	}
	return fig, nil
}
