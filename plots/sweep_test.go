package plots

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"normtap/rundir"
)

// aggFixture is testdata/sweep_agg.json, made by sweep_agg.py with numpy.
type aggFixture struct {
	Runs []struct {
		Norm, Batch, Seed string
		TestAcc           float64 `json:"test_acc"`
		TestLoss          float64 `json:"test_loss"`
	}
	Expect []struct {
		Metric, Norm, Batch string
		N                   int
		Mean                float64
		SD                  *float64
		Min, Max, Lo, Hi    float64
	}
}

// makeSweep writes the fixture's runs as a sweep root (one metrics row
// each, config asking for one epoch), plus one unfinished run, and returns
// the root.
func makeSweep(t *testing.T, fx aggFixture) string {
	t.Helper()
	root := t.TempDir()
	ix := &rundir.SweepIndex{Version: rundir.SweepVersion, Fixed: []string{"--epochs", "1"}, Vary: []rundir.SweepAxis{
		{Flag: "norm", Values: []string{"batch", "layer"}}, {Flag: "batch", Values: []string{"2", "8", "64"}}, {Flag: "seed", Values: []string{"1", "2", "3", "4", "5", "6"}}}}
	write := func(dir string, epochs int, m rundir.Metrics, values map[string]string) {
		if err := os.MkdirAll(filepath.Join(root, dir), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := rundir.WriteConfig(filepath.Join(root, dir), &rundir.RunConfig{Config: rundir.Config{Epochs: epochs}}); err != nil {
			t.Fatal(err)
		}
		if err := rundir.WriteMetrics(filepath.Join(root, dir), []rundir.Metrics{m}); err != nil {
			t.Fatal(err)
		}
		ix.Runs = append(ix.Runs, rundir.SweepEntry{Dir: dir, Values: values})
	}
	for _, r := range fx.Runs {
		dir := "norm=" + r.Norm + ",batch=" + r.Batch + ",seed=" + r.Seed
		write(dir, 1, rundir.Metrics{Epoch: 1, Step: 10, TestAcc: r.TestAcc, TestLoss: r.TestLoss},
			map[string]string{"norm": r.Norm, "batch": r.Batch, "seed": r.Seed})
	}
	// unfinished: must not count
	write("norm=layer,batch=2,seed=9", 2, rundir.Metrics{Epoch: 1, Step: 10, TestAcc: 0.01, TestLoss: 9},
		map[string]string{"norm": "layer", "batch": "2", "seed": "9"})
	if err := rundir.WriteSweepIndex(root, ix); err != nil {
		t.Fatal(err)
	}
	return root
}

func loadAggFixture(t *testing.T) aggFixture {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "sweep_agg.json"))
	if err != nil {
		t.Fatal(err)
	}
	var fx aggFixture
	if err := json.Unmarshal(data, &fx); err != nil {
		t.Fatal(err)
	}
	return fx
}

// TestAggregateSweepMatchesNumpy: mean, sample sd, min, max and the band
// of each (norm, batch) cell over its seeds equal numpy's (1e-12).
func TestAggregateSweepMatchesNumpy(t *testing.T) {
	fx := loadAggFixture(t)
	s, err := LoadSweep([]string{makeSweep(t, fx)})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Unfinished) != 1 || len(s.Runs) != len(fx.Runs) {
		t.Fatalf("%d runs, %d unfinished; want %d and 1", len(s.Runs), len(s.Unfinished), len(fx.Runs))
	}
	const tol = 1e-12
	checked := 0
	for _, metric := range []string{"test_acc", "test_error", "test_loss"} {
		tab, err := AggregateSweep(s, "batch", metric)
		if err != nil {
			t.Fatal(err)
		}
		if !tab.Numeric || len(tab.GroupFlags) != 1 || tab.GroupFlags[0] != "norm" {
			t.Fatalf("table numeric %v, groups %v; want numeric x, grouped by norm", tab.Numeric, tab.GroupFlags)
		}
		// rows: norm in --vary order, then batch numerically (2 < 8 < 64)
		var order []string
		for _, r := range tab.Rows {
			order = append(order, r.Group[0]+"/"+r.X)
		}
		if got := strings.Join(order, " "); got != "batch/2 batch/8 batch/64 layer/2 layer/8 layer/64" {
			t.Fatalf("row order %s", got)
		}
		for _, e := range fx.Expect {
			if e.Metric != metric {
				continue
			}
			var row *SweepRow
			for i := range tab.Rows {
				if tab.Rows[i].Group[0] == e.Norm && tab.Rows[i].X == e.Batch {
					row = &tab.Rows[i]
				}
			}
			if row == nil {
				t.Fatalf("%s: no row for norm=%s batch=%s", metric, e.Norm, e.Batch)
			}
			if row.N != e.N {
				t.Errorf("%s %s/%s: n %d, want %d", metric, e.Norm, e.Batch, row.N, e.N)
			}
			near := func(what string, got, want float64) {
				if math.Abs(got-want) > tol {
					t.Errorf("%s %s/%s: %s %.15g, numpy %.15g", metric, e.Norm, e.Batch, what, got, want)
				}
			}
			near("mean", row.Mean, e.Mean)
			near("min", row.Min, e.Min)
			near("max", row.Max, e.Max)
			near("band low", row.Lo, e.Lo)
			near("band high", row.Hi, e.Hi)
			if e.SD == nil {
				if !math.IsNaN(row.SD) {
					t.Errorf("%s %s/%s: sd %g of one run, want NaN", metric, e.Norm, e.Batch, row.SD)
				}
			} else {
				near("sd", row.SD, *e.SD)
			}
			checked++
		}
	}
	if checked != 18 {
		t.Fatalf("checked %d cells, want 18", checked)
	}
}

// TestRenderSweep: the figure and its CSV beside it; the CSV's numbers
// are the table's; bad --x is an error naming the varied flags.
func TestRenderSweep(t *testing.T) {
	fx := loadAggFixture(t)
	root := makeSweep(t, fx)
	out := filepath.Join(t.TempDir(), "acc.png")
	var stdout bytes.Buffer
	files, err := Render(context.Background(), Request{Kind: KindSweep, Runs: []string{root}, Out: out, X: "batch", Metric: "test_error"}, &stdout)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 2 || files[1] != strings.TrimSuffix(out, ".png")+".csv" {
		t.Fatalf("wrote %v", files)
	}
	data, err := os.ReadFile(files[1])
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(recs[0], ","); got != "norm,batch,n,test_error_mean,test_error_sd,test_error_min,test_error_max,band_lo,band_hi" {
		t.Fatalf("header %s", got)
	}
	if len(recs) != 7 || recs[1][0] != "batch" || recs[1][1] != "2" || recs[1][2] != "6" {
		t.Fatalf("csv:\n%s", data)
	}
	if st, err := os.Stat(out); err != nil || st.Size() < 1000 {
		t.Fatalf("figure: %v", err)
	}
	if !strings.Contains(stdout.String(), "1 unfinished run") {
		t.Errorf("no note of the unfinished run: %s", stdout.String())
	}
	for _, c := range []struct{ x, want string }{{"lr", "does not vary it; it varies norm, batch, seed"}, {"seed", "averaged over the seed"}} {
		_, err := Render(context.Background(), Request{Kind: KindSweep, Runs: []string{root}, Out: out, X: c.x}, &stdout)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("--x %s: %v, want %q", c.x, err, c.want)
		}
	}
	// curves of every run, from the root
	if _, err := Render(context.Background(), Request{Kind: KindCurves, Runs: []string{root}, Out: filepath.Join(t.TempDir(), "c.svg")}, &stdout); err != nil {
		t.Fatal(err)
	}
}

// TestAggregateTwoSweeps: runs of two roots stay apart, labelled by root.
func TestAggregateTwoSweeps(t *testing.T) {
	fx := loadAggFixture(t)
	a, b := makeSweep(t, fx), makeSweep(t, fx)
	s, err := LoadSweep([]string{a, b})
	if err != nil {
		t.Fatal(err)
	}
	tab, err := AggregateSweep(s, "batch", "test_acc")
	if err != nil {
		t.Fatal(err)
	}
	if len(tab.GroupFlags) != 2 || tab.GroupFlags[0] != "sweep" || len(tab.Rows) != 12 {
		t.Fatalf("groups %v, %d rows; want sweep, norm and 12 rows", tab.GroupFlags, len(tab.Rows))
	}
	one, _ := LoadSweep([]string{a})
	single, _ := AggregateSweep(one, "batch", "test_acc")
	for i, r := range tab.Rows[:6] {
		if r.Group[0] != filepath.Base(a) && r.Group[0] != filepath.Base(b) || r.N != single.Rows[i].N || r.Mean != single.Rows[i].Mean {
			t.Fatalf("row %d %+v, want root-labelled copy of %+v", i, r, single.Rows[i])
		}
	}
}
