package rundir

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMeasureFilesRoundTrip: ics.csv and landscape.csv read back what was
// written, non-finite values (a diverging landscape probe) included, and a
// damaged file is an error naming the file and line.
func TestMeasureFilesRoundTrip(t *testing.T) {
	dir := t.TempDir()
	ics := []ICSRow{{Step: 200, Layer: "h1.W", L2: 0, Cos: 1, GradL2: 0.5}, {Step: 200, Layer: "out.W", L2: 0.125, Cos: -0.25, GradL2: 1e-7}}
	land := []LandscapeRow{{Step: 200, LossMin: 0.5, LossMax: math.Inf(1), GradPred: math.NaN(), BetaSmooth: 3, Loss: 0.7, GradL2: 2, EtaMin: 0.25, EtaMax: 2}}
	if err := WriteICS(dir, ics); err != nil {
		t.Fatal(err)
	}
	if err := WriteLandscape(dir, land); err != nil {
		t.Fatal(err)
	}
	gotICS, err := ReadICS(dir)
	if err != nil || len(gotICS) != 2 || gotICS[0] != ics[0] || gotICS[1] != ics[1] {
		t.Fatalf("ics: %v %+v", err, gotICS)
	}
	gotLand, err := ReadLandscape(dir)
	if err != nil || len(gotLand) != 1 {
		t.Fatalf("landscape: %v %+v", err, gotLand)
	}
	g := gotLand[0]
	if !math.IsInf(g.LossMax, 1) || !math.IsNaN(g.GradPred) || g.EtaMax != 2 || g.Step != 200 {
		t.Fatalf("landscape row %+v", g)
	}
	data, _ := os.ReadFile(filepath.Join(dir, ICSFile))
	if !strings.HasPrefix(string(data), "step,layer,ics_l2,ics_cos,grad_l2\n") {
		t.Fatalf("ics.csv starts %q", data[:40])
	}
	bad := strings.Replace(string(data), "0.125", "x", 1)
	os.WriteFile(filepath.Join(dir, ICSFile), []byte(bad), 0o644)
	if _, err := ReadICS(dir); err == nil || !strings.Contains(err.Error(), "ics.csv:3") || !strings.Contains(err.Error(), "ics_l2") {
		t.Fatalf("damaged ics.csv: %v, want an error naming line 3 and the column", err)
	}
}
