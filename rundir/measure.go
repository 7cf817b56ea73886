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

// The measurement files of `normtap train --ics-every / --landscape-every`
// (graph.Measure computes the numbers).
const (
	ICSFile       = "ics.csv"
	LandscapeFile = "landscape.csv"
)

// ICSHeader is the header row of ics.csv.
var ICSHeader = []string{"step", "layer", "ics_l2", "ics_cos", "grad_l2"}

// ICSRow is one layer's internal covariate shift at one step.
type ICSRow struct {
	Step   int     // the optimizer step (1-based) whose update was measured
	Layer  string  // the weight: h2.W, out.W, c1.W
	L2     float64 // ‖G−G′‖₂
	Cos    float64 // cos(G, G′)
	GradL2 float64 // ‖G‖₂
}

// LandscapeHeader is the header row of landscape.csv.
var LandscapeHeader = []string{"step", "loss_min", "loss_max", "grad_pred", "beta_smooth", "loss", "grad_l2", "eta_min", "eta_max"}

// LandscapeRow is the loss landscape along the gradient at one step.
type LandscapeRow struct {
	Step       int     // the optimizer step (1-based) whose gradient g was followed
	LossMin    float64 // min over η of L(w−ηg)
	LossMax    float64 // max over η of L(w−ηg)
	GradPred   float64 // max over η of ‖∇L(w)−∇L(w−ηg)‖₂
	BetaSmooth float64 // max over η of ‖∇L(w)−∇L(w−ηg)‖₂ / ‖ηg‖₂
	Loss       float64 // L(w)
	GradL2     float64 // ‖g‖₂
	EtaMin     float64 // the step sizes probed: from EtaMin to EtaMax
	EtaMax     float64
}

func fmtFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// WriteICS rewrites dir/ics.csv, atomically, with the header and rows.
func WriteICS(dir string, rows []ICSRow) error {
	recs := make([][]string, len(rows))
	for i, r := range rows {
		recs[i] = []string{strconv.Itoa(r.Step), r.Layer, fmtFloat(r.L2), fmtFloat(r.Cos), fmtFloat(r.GradL2)}
	}
	return WriteCSV(filepath.Join(dir, ICSFile), ICSHeader, recs)
}

// WriteLandscape rewrites dir/landscape.csv, atomically, with the header
// and rows.
func WriteLandscape(dir string, rows []LandscapeRow) error {
	recs := make([][]string, len(rows))
	for i, r := range rows {
		recs[i] = []string{strconv.Itoa(r.Step), fmtFloat(r.LossMin), fmtFloat(r.LossMax), fmtFloat(r.GradPred),
			fmtFloat(r.BetaSmooth), fmtFloat(r.Loss), fmtFloat(r.GradL2), fmtFloat(r.EtaMin), fmtFloat(r.EtaMax)}
	}
	return WriteCSV(filepath.Join(dir, LandscapeFile), LandscapeHeader, recs)
}

// ReadICS reads dir/ics.csv. Its errors name the file and line.
func ReadICS(dir string) ([]ICSRow, error) {
	var rows []ICSRow
	err := readCSV(filepath.Join(dir, ICSFile), ICSHeader, func(rec []string) error {
		var r ICSRow
		var err error
		if r.Step, err = parseInt(ICSHeader[0], rec[0]); err != nil {
			return err
		}
		r.Layer = rec[1]
		if err := parseFloats(ICSHeader[2:], rec[2:], &r.L2, &r.Cos, &r.GradL2); err != nil {
			return err
		}
		rows = append(rows, r)
		return nil
	})
	return rows, err
}

// ReadLandscape reads dir/landscape.csv. Its errors name the file and line.
func ReadLandscape(dir string) ([]LandscapeRow, error) {
	var rows []LandscapeRow
	err := readCSV(filepath.Join(dir, LandscapeFile), LandscapeHeader, func(rec []string) error {
		var r LandscapeRow
		var err error
		if r.Step, err = parseInt(LandscapeHeader[0], rec[0]); err != nil {
			return err
		}
		if err := parseFloats(LandscapeHeader[1:], rec[1:], &r.LossMin, &r.LossMax, &r.GradPred, &r.BetaSmooth,
			&r.Loss, &r.GradL2, &r.EtaMin, &r.EtaMax); err != nil {
			return err
		}
		rows = append(rows, r)
		return nil
	})
	return rows, err
}

// readCSV checks the header and hands each row, of the header's length, to
// row.
func readCSV(path string, header []string, row func([]string) error) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read %s: %w", filepath.Base(path), err)
	}
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	got, err := r.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("%s: empty file, want header %v", path, header)
		}
		return fmt.Errorf("%s: %w", path, err)
	}
	if !slices.Equal(got, header) {
		return fmt.Errorf("%s:1: header is %v, want %v", path, got, header)
	}
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		line, _ := r.FieldPos(0)
		if len(rec) != len(header) {
			return fmt.Errorf("%s:%d: %d fields, want %d", path, line, len(rec), len(header))
		}
		if err := row(rec); err != nil {
			return fmt.Errorf("%s:%d: %w", path, line, err)
		}
	}
}

func parseInt(col, s string) (int, error) {
	v, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("column %s: %q is not an integer", col, s)
	}
	return v, nil
}

func parseFloats(cols, recs []string, dst ...*float64) error {
	for i, p := range dst {
		v, err := strconv.ParseFloat(recs[i], 64)
		if err != nil {
			return fmt.Errorf("column %s: %q is not a number", cols[i], recs[i])
		}
		*p = v
	}
	return nil
}
