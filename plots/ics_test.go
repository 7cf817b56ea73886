package plots

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"normtap/rundir"
)

// measuredRun writes a run directory with ics.csv and landscape.csv: ICS
// that shrinks with norm "batch" less than the landscape's roughness does,
// and a first layer with G' = G.
func measuredRun(t *testing.T, name, norm string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := rundir.WriteConfig(dir, fakeConfig(t, norm, "sigmoid", 100, 100, 100)); err != nil {
		t.Fatal(err)
	}
	rough := 1.0
	if norm == "batch" {
		rough = 0.05
	}
	var ics []rundir.ICSRow
	var land []rundir.LandscapeRow
	for step := 200; step <= 2000; step += 200 {
		s := float64(step)
		ics = append(ics, rundir.ICSRow{Step: step, Layer: "h1.W", L2: 0, Cos: 1, GradL2: 1})
		for k, layer := range []string{"h2.W", "h3.W", "out.W"} {
			ics = append(ics, rundir.ICSRow{Step: step, Layer: layer, L2: 0.01 * float64(k+1) * (1 + s/2000), Cos: 0.9 + 0.05*math.Sin(s/300), GradL2: 1})
		}
		land = append(land, rundir.LandscapeRow{Step: step, LossMin: 2 - s/2000, LossMax: 2 - s/2000 + rough,
			GradPred: rough * (2 + math.Sin(s/400)), BetaSmooth: rough * 3, Loss: 2, GradL2: 1, EtaMin: 0.25, EtaMax: 2})
	}
	if err := rundir.WriteICS(dir, ics); err != nil {
		t.Fatal(err)
	}
	if err := rundir.WriteLandscape(dir, land); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestICSOverTrainingReadsSeries(t *testing.T) {
	runs, err := LoadRuns([]string{measuredRun(t, "a", "none")})
	if err != nil {
		t.Fatal(err)
	}
	series, err := ICSOverTraining(runs)
	if err != nil {
		t.Fatal(err)
	}
	s := series[0]
	if len(s) != 4 || s[0].Layer != "h1.W" || s[3].Layer != "out.W" {
		t.Fatalf("layers %+v", s)
	}
	if !s[0].Trivial() || s[1].Trivial() {
		t.Error("only h1.W has G' = G")
	}
	if len(s[2].Steps) != 10 || s[2].Steps[9] != 2000 || math.Abs(s[2].L2[9]-0.04) > 1e-12 {
		t.Errorf("h3.W: steps %v, l2 %v", s[2].Steps, s[2].L2)
	}
	ls, err := LandscapeOverTraining(runs)
	if err != nil {
		t.Fatal(err)
	}
	if len(ls[0].Steps) != 10 || ls[0].LossMax[0]-ls[0].LossMin[0] != 1 || ls[0].EtaMax != 2 {
		t.Errorf("landscape %+v", ls[0])
	}
}

func TestICSAndLandscapeRender(t *testing.T) {
	runs := []string{measuredRun(t, "none", "none"), measuredRun(t, "batch", "batch")}
	out := outDir(t)
	for _, tc := range []struct{ kind, marker string }{
		{KindICS, "gradient change"},
		{KindLandscape, "gradient predictiveness"},
	} {
		for _, ext := range Formats {
			path := filepath.Join(out, tc.kind+ext)
			var stdout bytes.Buffer
			if _, err := Render(context.Background(), Request{Kind: tc.kind, Runs: runs, Out: path}, &stdout); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			switch ext {
			case ".png":
				checkPNG(t, path, data)
			case ".svg":
				text := string(data)
				if !strings.Contains(text, tc.marker) || !strings.Contains(text, "batch") {
					t.Errorf("%s lacks %q or the run labels", path, tc.marker)
				}
				if tc.kind == KindICS && (!strings.Contains(text, "not drawn: h1.W") || !strings.Contains(text, "out.W")) {
					t.Errorf("%s: want out.W in the legend and h1.W named as not drawn", path)
				}
			case ".pdf":
				if !strings.Contains(pdfText(data), cp1252(tc.marker)) {
					t.Errorf("%s: no text %q", path, tc.marker)
				}
			}
		}
	}
}

func TestMeasureFiguresNameTheMissingFlag(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "plain")
	os.MkdirAll(dir, 0o755)
	rundir.WriteConfig(dir, fakeConfig(t, "none", "relu", 16))
	for kind, flag := range map[string]string{KindICS: "--ics-every", KindLandscape: "--landscape-every"} {
		_, err := Render(context.Background(), Request{Kind: kind, Runs: []string{dir}, Out: filepath.Join(t.TempDir(), "x.png")}, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), flag) {
			t.Errorf("%s of a run without measurements: %v, want an error naming %s", kind, err, flag)
		}
	}
}
