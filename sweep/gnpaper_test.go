package sweep

import (
	"slices"
	"strings"
	"testing"
)

// TestGNPaperPlan: every norm × batch × seed, each run's lr from its
// batch size (0.1 × B/256), the same examples per run.
func TestGNPaperPlan(t *testing.T) {
	flags := append(slices.Clone(testFlags), Flag{Name: "model"}, Flag{Name: "opt"}, Flag{Name: "momentum"},
		Flag{Name: "checkpoint-every-steps"}, Flag{Name: "device"}, Flag{Name: "dataset"})
	o := GNPaperQuick
	o.Root = "gn"
	spec := GNPaperSpec(o, []string{"batch", "layer"})
	spec.Flags = flags
	p, err := NewPlan(spec)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Runs) != 2*6*2 {
		t.Fatalf("%d runs, want 24", len(p.Runs))
	}
	want := map[string]string{"2": "--lr=0.00078125", "8": "--lr=0.003125", "64": "--lr=0.025"}
	for _, r := range p.Runs {
		if lr, ok := want[r.Values[1]]; ok && r.Args[len(r.Args)-1] != lr {
			t.Errorf("%s: args end %s, want %s", r.Dir, r.Args[len(r.Args)-1], lr)
		}
		if !strings.Contains(strings.Join(r.Args, " "), "--epochs 1 --train-limit 2048") {
			t.Errorf("%s: %v", r.Dir, r.Args)
		}
	}
	spec = GNPaperSpec(o, []string{"group"})
	spec.Flags = append(flags, Flag{Name: "groups"})
	if p, err = NewPlan(spec); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(p.Runs[0].Args[len(p.Runs[0].Args)-2:], " "); got != "--lr=0.00078125 --groups=8" {
		t.Fatalf("GroupNorm run ends %s, want its lr and --groups=8", got)
	}
	// the study sets --lr itself: a user may not also vary it
	spec.Axes = append(spec.Axes, Axis{Flag: "lr", Values: []string{"0.1"}})
	if _, err := NewPlan(spec); err == nil || !strings.Contains(err.Error(), "--lr is set for each run by the study") {
		t.Fatalf("varying lr too: %v", err)
	}
}

func TestAvailableNorms(t *testing.T) {
	ok, missing := AvailableNorms([]string{"batch", "cube", "layer"})
	if !slices.Equal(ok, []string{"batch", "layer"}) || !slices.Equal(missing, []string{"cube"}) {
		t.Fatalf("available %v, missing %v", ok, missing)
	}
}
