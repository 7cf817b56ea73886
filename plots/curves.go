package plots

import (
	"fmt"
	"path/filepath"

	"normtap/rundir"
)

// CurvesFigure draws the test accuracy and the test loss of each run over
// epochs (Ioffe & Szegedy 2015, Fig. 1 a): two panels, one line per run;
// runs that differ only in --seed are one configuration, drawn as their
// mean over a band (GroupBySeed, MeanBand).
func CurvesFigure(runs []*Run) (*Figure, error) {
	acc := newPanel("test accuracy", "epoch", "accuracy (%)")
	loss := newPanel("test loss", "epoch", "cross-entropy")
	wholeNumbersX(acc.Plot)
	wholeNumbersX(loss.Plot)
	groups := GroupBySeed(runs)
	fig := &Figure{Panels: []Panel{acc, loss}, Caption: "from metrics.csv, one row per epoch" + bandNote(groups)}
	for i, g := range groups {
		var epochs, accuracy, lossValues [][]float64
		for _, r := range g.Runs {
			rows, err := rundir.ReadMetrics(r.Dir)
			if err != nil {
				return nil, err
			}
			if len(rows) == 0 {
				return nil, fmt.Errorf("%s has no rows", filepath.Join(r.Dir, rundir.MetricsFile))
			}
			e, a, l := make([]float64, len(rows)), make([]float64, len(rows)), make([]float64, len(rows))
			for j, m := range rows {
				e[j], a[j], l[j] = float64(m.Epoch), 100*m.TestAcc, m.TestLoss
			}
			epochs, accuracy, lossValues = append(epochs, e), append(accuracy, a), append(lossValues, l)
		}
		c := categoricalColor(i)
		addSeries(acc.Plot, epochs, accuracy, c)
		addSeries(loss.Plot, epochs, lossValues, c)
		fig.Legend = append(fig.Legend, seriesLegend(g, c))
	}
	return fig, nil
}
