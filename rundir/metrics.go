package rundir

import (
	"fmt"
	"math"
	"path/filepath"
	"strconv"
	"strings"
)

// MetricsHeader is the header row of metrics.csv.
var MetricsHeader = []string{"epoch", "step", "train_loss", "train_acc", "test_loss", "test_acc", "wall_s", "examples_per_s"}

// Metrics is one row of metrics.csv: the state of a run at the end of an epoch.
type Metrics struct {
	Epoch        int     // 1-based
	Step         int     // optimizer steps done so far
	TrainLoss    float64 // mean over the epoch's batches
	TrainAcc     float64 // fraction in [0, 1]
	TestLoss     float64
	TestAcc      float64 // fraction in [0, 1]
	WallS        float64 // seconds since the run started
	ExamplesPerS float64 // training throughput over the epoch
}

func (m Metrics) record() []string {
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	return []string{strconv.Itoa(m.Epoch), strconv.Itoa(m.Step),
		f(m.TrainLoss), f(m.TrainAcc), f(m.TestLoss), f(m.TestAcc), f(m.WallS), f(m.ExamplesPerS)}
}

// WriteMetrics rewrites dir/metrics.csv, atomically, with the header and rows.
func WriteMetrics(dir string, rows []Metrics) error {
	recs := make([][]string, len(rows))
	for i, m := range rows {
		recs[i] = m.record()
	}
	return WriteCSV(filepath.Join(dir, MetricsFile), MetricsHeader, recs)
}

// ReadMetrics reads dir/metrics.csv. Its errors name the file, line and
// column: a value no run writes (a non-finite number, an accuracy outside
// [0, 1], a negative loss, time or epoch) is refused, so that nothing
// downstream draws it.
func ReadMetrics(dir string) ([]Metrics, error) {
	var rows []Metrics
	err := readCSV(filepath.Join(dir, MetricsFile), MetricsHeader, func(rec []string) error {
		m, err := parseMetrics(rec)
		if err != nil {
			return err
		}
		rows = append(rows, m)
		return nil
	})
	return rows, err
}

func parseMetrics(rec []string) (Metrics, error) {
	var m Metrics
	var err error
	if m.Epoch, err = parseInt(MetricsHeader[0], rec[0]); err != nil {
		return m, err
	}
	if m.Epoch < 1 {
		return m, fmt.Errorf("column epoch: %d, want an epoch ≥ 1", m.Epoch)
	}
	if m.Step, err = parseInt(MetricsHeader[1], rec[1]); err != nil {
		return m, err
	}
	if m.Step < 0 {
		return m, fmt.Errorf("column step: %d, want a step count ≥ 0", m.Step)
	}
	floats := []*float64{&m.TrainLoss, &m.TrainAcc, &m.TestLoss, &m.TestAcc, &m.WallS, &m.ExamplesPerS}
	if err := parseFloats(MetricsHeader[2:], rec[2:], floats...); err != nil {
		return m, err
	}
	for i, v := range floats {
		col := MetricsHeader[2+i]
		hi := math.Inf(1)
		if strings.HasSuffix(col, "_acc") {
			hi = 1
		}
		if !(*v >= 0 && *v <= hi) || math.IsInf(*v, 0) {
			return m, fmt.Errorf("column %s: %v is outside %s", col, *v, rangeText(hi))
		}
	}
	return m, nil
}

// rangeText describes [0, hi] for errors: "[0, 1]" or "the finite numbers ≥ 0".
func rangeText(hi float64) string {
	if math.IsInf(hi, 1) {
		return "the finite numbers ≥ 0"
	}
	return fmt.Sprintf("[0, %g]", hi)
}
