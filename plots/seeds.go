package plots

import (
	"fmt"
	"image/color"
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

// sdBandSeeds is the number of seeds from which a configuration's band is
// ±1 standard deviation; below it, the band is min to max.
const sdBandSeeds = 5

// SeedBand is a configuration's curve over its seeds: at each x, the mean
// over the seeds that have a value there, and the band around it.
type SeedBand struct {
	X, Mean, Lo, Hi []float64
	Seeds           []int // how many seeds have a value at each x
	SD              bool  // the band is mean ± 1 sample standard deviation (else min to max)
}

// MeanBand summarises the series (xs[k], ys[k]) of k seeds: at each x any
// seed has, the mean of the seeds' finite values there and, with fewer than
// sdBandSeeds seeds, their min and max, else mean ± their sample standard
// deviation (n−1). An x where no seed has a finite value is left out.
func MeanBand(xs, ys [][]float64) SeedBand {
	b := SeedBand{SD: len(xs) >= sdBandSeeds}
	at := map[float64][]float64{}
	for k := range xs {
		for i, x := range xs[k] {
			if isFinite(ys[k][i]) {
				at[x] = append(at[x], ys[k][i])
			}
		}
	}
	for x := range at {
		b.X = append(b.X, x)
	}
	slices.Sort(b.X)
	for _, x := range b.X {
		v := at[x]
		mean, sd := meanSD(v, 1)
		lo, hi := slices.Min(v), slices.Max(v)
		if b.SD {
			lo, hi = mean-sd, mean+sd
		}
		b.Mean, b.Lo, b.Hi = append(b.Mean, mean), append(b.Lo, lo), append(b.Hi, hi)
		b.Seeds = append(b.Seeds, len(v))
	}
	return b
}

// bandNote says what the seed bands are, for captions.
func bandNote(groups []*Group) string {
	var minMax, sd bool
	for _, g := range groups {
		switch n := len(g.Runs); {
		case n >= sdBandSeeds:
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
