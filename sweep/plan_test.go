package sweep

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// testFlags stand for normtap train's flags.
var testFlags = []Flag{{Name: "norm"}, {Name: "batch"}, {Name: "seed"}, {Name: "lr"}, {Name: "epochs"},
	{Name: "hidden"}, {Name: "tap"}, {Name: "out"}, {Name: "resume", Bool: true}, {Name: "norm-noise", Bool: true},
	{Name: "threads"}, {Name: "train-limit"}, {Name: "quiet", Bool: true}}

func mustVary(t *testing.T, specs ...string) []Axis {
	t.Helper()
	var axes []Axis
	for _, s := range specs {
		a, err := ParseVary(s)
		if err != nil {
			t.Fatal(err)
		}
		axes = append(axes, a)
	}
	return axes
}

func TestEscapeValue(t *testing.T) {
	cases := map[string]string{
		"batch":      "batch",
		"1e-3":       "1e-3",
		"0.001":      "0.001",
		"64,64":      "64%2C64",
		"a/b":        "a%2Fb",
		"../x":       "%2E.%2Fx",
		".hidden":    "%2Ehidden",
		"a b":        "a%20b",
		"x=y":        "x%3Dy",
		"50%":        "50%25",
		"h2.act":     "h2.act",
		"café":       "caf%C3%A9",
		"a|b*?:<>\\": "a%7Cb%2A%3F%3A%3C%3E%5C",
	}
	seen := map[string]string{}
	for in, want := range cases {
		got := EscapeValue(in)
		if got != want {
			t.Errorf("EscapeValue(%q) = %q, want %q", in, got, want)
		}
		if strings.ContainsAny(got, "/,=") || filepath.Base(got) != got {
			t.Errorf("EscapeValue(%q) = %q is not one plain path element", in, got)
		}
		if other, ok := seen[got]; ok {
			t.Errorf("%q and %q both escape to %q", in, other, got)
		}
		seen[got] = in
	}
	// "%" itself is escaped, so a value that looks escaped stays distinct
	if EscapeValue("%2C") == EscapeValue(",") {
		t.Error(`"%2C" and "," escape alike`)
	}
}

func TestPlanLayout(t *testing.T) {
	p, err := NewPlan(Spec{Root: "study", Flags: testFlags, Fixed: []string{"--epochs", "3", "--tap=h1.act"},
		Axes: mustVary(t, "norm=none|batch", "--hidden=64,64|128", "seed=1|2")})
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, r := range p.Runs {
		dirs = append(dirs, r.Dir)
	}
	want := []string{
		"norm=none,hidden=64%2C64,seed=1", "norm=none,hidden=64%2C64,seed=2",
		"norm=none,hidden=128,seed=1", "norm=none,hidden=128,seed=2",
		"norm=batch,hidden=64%2C64,seed=1", "norm=batch,hidden=64%2C64,seed=2",
		"norm=batch,hidden=128,seed=1", "norm=batch,hidden=128,seed=2",
	}
	if strings.Join(dirs, " ") != strings.Join(want, " ") {
		t.Fatalf("dirs\n%v\nwant\n%v", dirs, want)
	}
	got := strings.Join(p.TrainArgs(p.Runs[2]), " ")
	if want := "train --epochs 3 --tap=h1.act --norm=none --hidden=128 --seed=1 --out study/norm=none,hidden=128,seed=1"; got != want {
		t.Fatalf("train args\n%s\nwant\n%s", got, want)
	}
}

// TestPrintGolden: --print's lines, quoting included.
func TestPrintGolden(t *testing.T) {
	p, err := NewPlan(Spec{Root: "runs/study 1", Flags: testFlags, Fixed: []string{"--epochs", "3", "--tap", "h1.act,h2.act"},
		Axes: mustVary(t, "norm=none|batch", "lr=1e-3|0.01", "seed=1|2")})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := p.Print(&buf, "normtap"); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "print.golden")
	if *update {
		os.WriteFile(golden, buf.Bytes(), 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if buf.String() != string(want) {
		t.Fatalf("--print output\n%s\nwant (%s)\n%s", buf.String(), golden, want)
	}
	if n := strings.Count(buf.String(), "\n"); n != 8 {
		t.Fatalf("%d lines, want 8 (one per run)", n)
	}
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"plain": "plain", "--lr=1e-3": "--lr=1e-3", "a b": "'a b'", "it's": `'it'\''s'`, "": "''", "x|y": "'x|y'", "$HOME": "'$HOME'",
	} {
		if got := ShellQuote(in); got != want {
			t.Errorf("ShellQuote(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestPlanErrors(t *testing.T) {
	cases := []struct {
		name  string
		vary  []string
		fixed []string
		want  string
	}{
		{"unknown flag", []string{"nrm=a|b"}, nil, "normtap train has no flag --nrm"},
		{"fixed and varied", []string{"norm=none|batch"}, []string{"--norm", "layer"}, "--norm is both fixed and varied"},
		{"fixed and varied with =", []string{"norm=none|batch"}, []string{"--norm=layer"}, "--norm is both fixed and varied"},
		{"varied twice", []string{"norm=none", "norm=batch"}, nil, "--vary norm given twice"},
		{"reserved", []string{"out=a|b"}, nil, "cannot be varied"},
		{"reserved fixed", []string{"norm=none"}, []string{"--resume"}, "the sweep resumes"},
		{"unknown fixed", []string{"norm=none"}, []string{"--bacth", "8"}, "--bacth: normtap train has no such flag"},
		{"missing value", []string{"norm=none"}, []string{"--epochs"}, "--epochs: missing its value"},
		{"stray word", []string{"norm=none"}, []string{"3"}, `"3": want train flags`},
		{"bool values", []string{"norm-noise=yes|no"}, nil, "its values are true and false"},
		{"nothing varies", nil, nil, "nothing varies"},
		{"sweep flag late", []string{"norm=none"}, []string{"--epochs", "2", "-j", "2"}, "-j after the train flags"},
		{"vary late", []string{"norm=none"}, []string{"--vary=seed=1|2"}, "--vary=seed=1|2 after the train flags"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := NewPlan(Spec{Root: "r", Flags: testFlags, Fixed: c.fixed, Axes: mustVary(t, c.vary...)})
			if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %v, want one line containing %q", err, c.want)
			}
		})
	}
	for _, bad := range []string{"norm", "norm=", "norm=a||b", "=a|b", "norm=a|a"} {
		if _, err := ParseVary(bad); err == nil {
			t.Errorf("ParseVary(%q) accepted it", bad)
		}
	}
}
