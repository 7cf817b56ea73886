package plots

import (
	"fmt"
	"image/color"
	"math"
	"slices"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg/draw"

	"normtap/rundir"
)

// Group is the runs of one configuration: runs whose configs differ in
// nothing that changes what they compute but --seed.
type Group struct {
	Label string // the configuration: its norm, with what sets it apart from another group of that norm
	Runs  []*Run
}

// sameComputation reports whether a difference between two configs leaves
// what the runs compute alike: the seed (which groups them), and what is
// only observed or saved (taps, measurements, checkpoints).
func sameComputation(d rundir.Difference) bool {
	return d.Field == "--seed" || slices.ContainsFunc([]string{"--tap", "--ics", "--landscape", "--checkpoint"}, func(p string) bool {
		return strings.HasPrefix(d.Field, p)
	})
}

// differences lists what sets config b apart from a, as flag=value.
func differences(a, b *rundir.RunConfig) []string {
	var out []string
	for _, d := range rundir.Diff(a.Config, b.Config) {
		if !sameComputation(d) {
			out = append(out, d.Field+" "+d.Now)
		}
	}
	return out
}

// GroupBySeed puts runs that differ only in --seed into one Group each,
// in the order of their first run, and labels the groups.
func GroupBySeed(runs []*Run) []*Group {
	var groups []*Group
	for _, r := range runs {
		i := slices.IndexFunc(groups, func(g *Group) bool { return len(differences(g.Runs[0].Config, r.Config)) == 0 })
		if i < 0 {
			groups = append(groups, &Group{Runs: []*Run{r}})
			continue
		}
		groups[i].Runs = append(groups[i].Runs, r)
	}
	for _, g := range groups {
		first := g.Runs[0]
		norm := first.Config.Config.Spec.Norm
		var apart []string
		for _, other := range groups {
			if other != g && other.Runs[0].Config.Config.Spec.Norm == norm {
				for _, d := range differences(other.Runs[0].Config, first.Config) {
					if !slices.Contains(apart, d) {
						apart = append(apart, d)
					}
				}
			}
		}
		if len(apart) > 3 {
			apart = append(apart[:3], "…")
		}
		switch {
		case !norm.Valid() || (len(apart) == 0 && len(g.Runs) == 1):
			g.Label = first.Label
		case len(apart) > 0:
			g.Label = norm.String() + " (" + strings.Join(apart, ", ") + ")"
		default:
			g.Label = norm.String()
		}
		if len(g.Runs) > 1 {
			g.Label += fmt.Sprintf(", %d seeds", len(g.Runs))
		}
	}
	return groups
}

// SeedStats summarises one value over a configuration's seeds.
type SeedStats struct {
	N                  int
	Mean, SD, Min, Max float64 // SD: the sample standard deviation (n − 1), NaN for one value
	Lo, Hi             float64 // the band drawn: min–max below BandSDFrom values, mean ± SD from it
}

// seedStats is SeedStats of v (at least one value): what the sweep table
// and the seed bands of curves and drift both draw.
func seedStats(v []float64) SeedStats {
	st := SeedStats{N: len(v), Mean: v[0], SD: math.NaN(), Min: v[0], Max: v[0]}
	if len(v) > 1 {
		st.Mean, st.SD = meanSD(v, 1)
		st.Min, st.Max = slices.Min(v), slices.Max(v)
	}
	st.Lo, st.Hi = st.Min, st.Max
	if len(v) >= BandSDFrom {
		st.Lo, st.Hi = st.Mean-st.SD, st.Mean+st.SD
	}
	return st
}

// SeedBand is a configuration's curve over its seeds: at each x, the mean
// over the seeds that have a value there, and the band around it.
type SeedBand struct {
	X, Mean, Lo, Hi []float64
	Seeds           []int // how many seeds have a value at each x
	SD              bool  // the band is mean ± 1 sample standard deviation at every x (else min to max somewhere)
}

// MeanBand summarises the series (xs[k], ys[k]) of k seeds: at each x any
// seed has, seedStats of the seeds' finite values there (min to max below
// BandSDFrom values, else mean ± their sample standard deviation). An x
// where no seed has a finite value is left out.
func MeanBand(xs, ys [][]float64) SeedBand {
	at := map[float64][]float64{}
	for k := range xs {
		for i, x := range xs[k] {
			if isFinite(ys[k][i]) {
				at[x] = append(at[x], ys[k][i])
			}
		}
	}
	b := SeedBand{SD: len(at) > 0}
	for x := range at {
		b.X = append(b.X, x)
	}
	slices.Sort(b.X)
	for _, x := range b.X {
		st := seedStats(at[x])
		b.Mean, b.Lo, b.Hi = append(b.Mean, st.Mean), append(b.Lo, st.Lo), append(b.Hi, st.Hi)
		b.Seeds = append(b.Seeds, st.N)
		b.SD = b.SD && st.N >= BandSDFrom
	}
	return b
}

// bandNote says what the seed bands are, for captions.
func bandNote(groups []*Group) string {
	var minMax, sd bool
	for _, g := range groups {
		switch n := len(g.Runs); {
		case n >= BandSDFrom:
			sd = true
		case n > 1:
			minMax = true
		}
	}
	switch {
	case minMax && sd:
		return " · runs differing only in --seed: their mean, shaded min to max (±1 sd with 5 or more seeds)"
	case sd:
		return " · runs differing only in --seed: their mean, shaded ±1 sd"
	case minMax:
		return " · runs differing only in --seed: their mean, shaded min to max"
	}
	return ""
}

// addSeries draws one configuration's series on p in colour c: one run's
// as a line (markers where few points), several seeds' as their mean line
// over a shaded band.
func addSeries(p *plot.Plot, xs, ys [][]float64, c color.NRGBA) {
	if len(xs) == 1 {
		lines, _ := gapLines(xs[0], ys[0], isFinite, lineStyle(c, 2))
		p.Add(lines...)
		if len(xs[0]) <= markerLimit {
			x, y := finite(xs[0], ys[0])
			p.Add(markers(x, y, c))
		}
		return
	}
	b := MeanBand(xs, ys)
	addBand(p, b.X, b.Mean, b.Lo, b.Hi, c)
}

// addBand draws the line (x, mid) over the band shaded from lo to hi.
func addBand(p *plot.Plot, x, mid, lo, hi []float64, c color.NRGBA) {
	if poly := bandPolygon(x, lo, hi, c); poly != nil {
		poly.Color = withAlpha(c, 0.22)
		p.Add(poly)
	}
	p.Add(xyLine(x, mid, lineStyle(c, 2)))
	if len(x) <= markerLimit {
		p.Add(markers(x, mid, c))
	}
}

// seriesLegend is the legend entry of a configuration drawn by addSeries.
func seriesLegend(g *Group, c color.NRGBA) LegendEntry {
	if len(g.Runs) == 1 {
		return LegendEntry{Label: g.Label, Thumb: &plotter.Line{LineStyle: lineStyle(c, 2.5)}}
	}
	return LegendEntry{Label: g.Label, Thumb: bandThumb{c}}
}

// bandThumb is a legend sample of a line over a shaded band.
type bandThumb struct{ c color.NRGBA }

func (b bandThumb) Thumbnail(c *draw.Canvas) {
	(&plotter.Polygon{Color: withAlpha(b.c, 0.22)}).Thumbnail(c)
	(&plotter.Line{LineStyle: lineStyle(b.c, 2.5)}).Thumbnail(c)
}
