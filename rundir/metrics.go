package rundir

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
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

// ReadMetrics reads dir/metrics.csv. Its errors name the file and line.
func ReadMetrics(dir string) ([]Metrics, error) {
	path := filepath.Join(dir, MetricsFile)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read metrics: %w", err)
	}
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: empty file, want header %v", path, MetricsHeader)
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if !slices.Equal(header, MetricsHeader) {
		return nil, fmt.Errorf("%s:1: header is %v, want %v", path, header, MetricsHeader)
	}
	var rows []Metrics
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return rows, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err) // csv.ParseError names the line
		}
		line, _ := r.FieldPos(0)
		m, err := parseMetrics(rec)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		rows = append(rows, m)
	}
}

func parseMetrics(rec []string) (Metrics, error) {
	var m Metrics
	if len(rec) != len(MetricsHeader) {
		return m, fmt.Errorf("%d fields, want %d", len(rec), len(MetricsHeader))
	}
	ints := []*int{&m.Epoch, &m.Step}
	floats := []*float64{&m.TrainLoss, &m.TrainAcc, &m.TestLoss, &m.TestAcc, &m.WallS, &m.ExamplesPerS}
	for i, p := range ints {
		v, err := strconv.Atoi(rec[i])
		if err != nil {
			return m, fmt.Errorf("column %s: %q is not an integer", MetricsHeader[i], rec[i])
		}
		*p = v
	}
	for i, p := range floats {
		col := len(ints) + i
		v, err := strconv.ParseFloat(rec[col], 64)
		if err != nil {
			return m, fmt.Errorf("column %s: %q is not a number", MetricsHeader[col], rec[col])
		}
		*p = v
	}
	return m, nil
}
