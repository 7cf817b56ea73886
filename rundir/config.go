package rundir

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"normtap/dataset"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	"normtap/graph"
)

// ConfigSchema is the version of config.json's layout that this normtap
// writes. 1: runs made before the version was recorded (no "schema" key;
// the same "config", "device", "params" and "taps", with the build fields
// at the top level). 2: RunConfig.
const ConfigSchema = 2

// RunConfig is config.json: the resolved job and what ran it. train writes
// it; plots, --resume and sweeps read it.
type RunConfig struct {
	Schema int      `json:"schema"`
	Config Config   `json:"config"`
	Device string   `json:"device"` // the machine that ran it, in words
	Params int      `json:"params"` // learnable values
	Taps   []string `json:"taps"`   // the model's tap points, in graph order
	// Build records the binary's provenance (Go, BLAS, module versions);
	// normtap never reads it back.
	Build map[string]any `json:"build,omitempty"`
}

// Config is a resolved training job: every field that decides what a run
// computes, and where it writes. A field's flag tag names the train flag
// that sets it, for messages that compare two configs.
type Config struct {
	Spec       graph.Spec    `json:"spec"`
	Opt        graph.OptSpec `json:"optimizer"`
	Batch      int           `json:"batch" flag:"--batch"`
	Epochs     int           `json:"epochs" flag:"--epochs"`
	Seed       uint64        `json:"seed" flag:"--seed"`
	Data       string        `json:"data" flag:"--data"`               // IDX directory; "" for the bundled MNIST
	TrainLimit int           `json:"train_limit" flag:"--train-limit"` // 0: all
	Device     string        `json:"device" flag:"--device"`           // cpu, cuda, auto (as asked)
	Out        string        `json:"out" flag:"--out"`
	Taps       TapConfig     `json:"taps"`
	// CheckpointEverySteps also checkpoints every N steps (0: per epoch only).
	CheckpointEverySteps int  `json:"checkpoint_every_steps" flag:"--checkpoint-every-steps"`
	Resume               bool `json:"-"`
	// MaxSteps stops after this many optimizer steps in all (0: no limit):
	// the step count of a reproduction, independent of the epoch length.
	MaxSteps int `json:"max_steps" flag:"--max-steps"`
	// Measure asks for internal covariate shift and loss-landscape
	// measurements during training (ics.csv, landscape.csv).
	Measure MeasureConfig `json:"measure"`

	// Dataset names the data when Data is "": MNIST (also the zero value,
	// as in configs from before --dataset) or Fashion.
	Dataset dataset.Name `json:"dataset,omitempty" flag:"--dataset"`
}

// TapConfig says which activations to copy out and when.
type TapConfig struct {
	Nodes      []string `json:"nodes" flag:"--tap"`
	Neurons    []int    `json:"neurons" flag:"--tap-neuron"` // column indices; nil with AllNeurons
	AllNeurons bool     `json:"all_neurons" flag:"--tap-neuron"`
	Epochs     []int    `json:"epochs" flag:"--tap-epochs"` // nil with AllEpochs
	AllEpochs  bool     `json:"all_epochs" flag:"--tap-epochs"`
	EverySteps int      `json:"every_steps" flag:"--tap-every-steps"` // 0: no step taps
	Examples   int      `json:"examples" flag:"--tap-examples"`       // probe-set size (probe mode)
	Mode       TapMode  `json:"mode" flag:"--tap-mode"`
	// Unit is what Neurons name: neurons (unset reads so) or channels of
	// 4-D nodes.
	Unit TapUnit `json:"unit,omitempty" flag:"--tap-unit"`
}

// MeasureConfig says what graph.Measure measures during training, and how
// often: internal covariate shift (ics.csv) and the loss landscape along
// the gradient (landscape.csv). A measured step t is measured just before
// it is taken, on its own batch; the measurement never changes training
// (see graph.Measure).
type MeasureConfig struct {
	ICSEvery       int `json:"ics_every" flag:"--ics-every"`             // every N steps (0: never)
	LandscapeEvery int `json:"landscape_every" flag:"--landscape-every"` // every N steps (0: never)
	// LandscapeRange holds the smallest and largest step size of the
	// landscape probe as multiples of the learning rate; LandscapePoints
	// step sizes are spaced evenly between them, both ends included.
	LandscapeRange  [2]float64 `json:"landscape_range" flag:"--landscape-range"`
	LandscapePoints int        `json:"landscape_points" flag:"--landscape-points"`
}

// Validate checks what does not need the data or the model, naming flags.
func (c *Config) Validate() error {
	if err := c.Spec.Validate(); err != nil {
		return err
	}
	if err := c.Opt.Validate(); err != nil {
		return err
	}
	for _, r := range []struct {
		flag      string
		v, lo, hi int
		note      string
	}{
		{"--batch", c.Batch, 1, MaxBatch, ""},
		{"--epochs", c.Epochs, 1, MaxEpochs, ""},
		{"--train-limit", c.TrainLimit, 0, MaxExamples, " (0 uses every example)"},
		{"--checkpoint-every-steps", c.CheckpointEverySteps, 0, MaxSteps, " (0: at each epoch's end only)"},
		{"--max-steps", c.MaxSteps, 0, MaxSteps, " (0: no limit)"},
		{"--tap-every-steps", c.Taps.EverySteps, 0, MaxSteps, " (0: never)"},
	} {
		if r.v < r.lo || r.v > r.hi {
			return fmt.Errorf("%s %d: must be between %d and %d%s", r.flag, r.v, r.lo, r.hi, r.note)
		}
	}
	if err := c.Measure.Validate(); err != nil {
		return err
	}
	t := c.Taps
	if !t.Mode.Valid() {
		return fmt.Errorf("--tap-mode %s: want %s", t.Mode, TapModeNames())
	}
	if t.Unit != 0 && !t.Unit.Valid() {
		return fmt.Errorf("--tap-unit %s: want %s", t.Unit, TapUnitNames())
	}
	if t.Mode == ModeProbe && (t.Examples < 1 || t.Examples > 1<<20) {
		return fmt.Errorf("--tap-examples %d: must be between 1 and 1048576", t.Examples)
	}
	for _, e := range t.Epochs {
		if e < 1 {
			return fmt.Errorf("--tap-epochs: epoch %d: epochs count from 1", e)
		}
		if e > MaxEpochs {
			return fmt.Errorf("--tap-epochs: epoch %d: must be between 1 and %d", e, MaxEpochs)
		}
	}
	for _, k := range t.Neurons {
		if k < 0 || k > MaxNeuron {
			return fmt.Errorf("--tap-neuron %d: neurons count from 0, up to %d", k, MaxNeuron)
		}
	}
	if err := noRepeats("--tap", t.Nodes); err != nil {
		return err
	}
	if err := noRepeats("--tap-neuron", t.Neurons); err != nil {
		return err
	}
	return noRepeats("--tap-epochs", t.Epochs)
}

// Upper bounds of the size-like settings: far beyond any MNIST-scale run,
// low enough that no count overflows or allocates the machine away.
const (
	MaxBatch    = 1 << 16
	MaxEpochs   = 1_000_000
	MaxExamples = 100_000_000
	MaxSteps    = 1_000_000_000
	MaxNeuron   = 1<<24 - 1
)

// noRepeats refuses a list that names a value twice: it would be tapped
// twice, or once while the user thinks it is twice.
func noRepeats[T comparable](flag string, list []T) error {
	seen := map[T]bool{}
	for _, v := range list {
		if seen[v] {
			return fmt.Errorf("%s: %v is given twice", flag, v)
		}
		seen[v] = true
	}
	return nil
}

// Warnings are settings that are valid but do not do what they seem to:
// one line each, for the user to read before the run.
func (c *Config) Warnings() []string {
	var w []string
	t := c.Taps
	for _, e := range t.Epochs {
		if e > c.Epochs {
			w = append(w, fmt.Sprintf("--tap-epochs %d: beyond --epochs %d, never tapped", e, c.Epochs))
		}
	}
	if len(t.Nodes) > 0 && !t.AllEpochs && len(t.Epochs) > 0 && t.EverySteps == 0 {
		tapped := false
		for _, e := range t.Epochs {
			tapped = tapped || e <= c.Epochs
		}
		if !tapped {
			w = append(w, fmt.Sprintf("--tap %s: no tap will be taken (every --tap-epochs is beyond --epochs %d)", strings.Join(t.Nodes, ","), c.Epochs))
		}
	}
	if sp := c.Spec; sp.Norm == graph.NormGroup && sp.Model == graph.ModelMLP {
		for i, width := range sp.Hidden {
			// A group of k values normalized to mean 0 and variance 1 can
			// hold no value beyond √(k−1): two units per group leave only
			// ±1, which throws the layer's information away.
			if g := graph.LayerGroups(sp.Groups, width); g > 0 && width/g < minGroupValues {
				w = append(w, fmt.Sprintf("--groups %d: hidden layer %d's GroupNorm groups hold %d unit(s) each, which normalizes every unit to ±1 or 0; use --groups %d or fewer", sp.Groups, i+1, width/g, width/minGroupValues))
				break
			}
		}
	}
	return w
}

// minGroupValues is the smallest GroupNorm group Warnings lets pass
// unremarked.
const minGroupValues = 4

// Validate names the flag at fault.
func (m MeasureConfig) Validate() error {
	if m.ICSEvery < 0 || m.ICSEvery > MaxSteps {
		return fmt.Errorf("--ics-every %d: must be between 0 and %d (0: never)", m.ICSEvery, MaxSteps)
	}
	if m.LandscapeEvery < 0 || m.LandscapeEvery > MaxSteps {
		return fmt.Errorf("--landscape-every %d: must be between 0 and %d (0: never)", m.LandscapeEvery, MaxSteps)
	}
	if m.LandscapeEvery == 0 {
		return nil
	}
	lo, hi := m.LandscapeRange[0], m.LandscapeRange[1]
	if !(lo >= 0) || !(hi >= lo) || math.IsInf(hi, 0) {
		return fmt.Errorf("--landscape-range %g,%g: want two finite multiples of --lr with 0 ≤ low ≤ high", lo, hi)
	}
	if m.LandscapePoints < 1 || m.LandscapePoints > 1000 {
		return fmt.Errorf("--landscape-points %d: must be between 1 and 1000", m.LandscapePoints)
	}
	return nil
}

// Etas are the landscape's step sizes for learning rate lr.
func (m MeasureConfig) Etas(lr float64) []float64 {
	lo, hi, n := m.LandscapeRange[0], m.LandscapeRange[1], m.LandscapePoints
	etas := make([]float64, n)
	for k := range etas {
		f := lo
		if n > 1 {
			f = lo + (hi-lo)*float64(k)/float64(n-1)
		}
		etas[k] = f * lr
	}
	return etas
}

// Describe is a one-line summary of a config for logs.
func (c Config) Describe() string {
	return fmt.Sprintf("%s %s norm=%s act=%s batch=%d opt=%s lr=%g", c.Spec.Model, graph.JoinInts(c.Spec.Hidden), c.Spec.Norm, c.Spec.Act, c.Batch, c.Opt.Kind, c.Opt.LR)
}

// WriteConfig writes rc as indented JSON to dir/config.json, atomically,
// with the current schema version.
func WriteConfig(dir string, rc *RunConfig) error {
	path := filepath.Join(dir, ConfigFile)
	out := *rc
	out.Schema = ConfigSchema
	data, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return AtomicWriteFile(path, append(data, '\n'), 0o644)
}

// ReadConfig reads dir/config.json. A file of a newer schema, unknown
// names (a norm this normtap does not know) and malformed JSON are errors
// naming the file.
func ReadConfig(dir string) (*RunConfig, error) {
	path := filepath.Join(dir, ConfigFile)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	var rc RunConfig
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&rc); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	switch {
	case rc.Schema == 0:
		rc.Schema = 1 // written before the schema was recorded
	case rc.Schema < 0 || rc.Schema > ConfigSchema:
		return nil, fmt.Errorf("read %s: schema %d; this normtap reads schemas 1 to %d (a newer normtap wrote it?)", path, rc.Schema, ConfigSchema)
	}
	return &rc, nil
}

// Difference is one field in which two configs differ: its flag (or its
// JSON path where no flag sets it, such as spec.in_rows) and both values.
type Difference struct {
	Field    string
	Was, Now string
}

func (d Difference) String() string {
	return fmt.Sprintf("%s: %s in the run, %s now", d.Field, d.Was, d.Now)
}

// Diff lists the fields in which was and now differ, in the order of the
// struct, leaving out what may change between two sessions of one run
// (--out, --device, --resume).
func Diff(was, now Config) []Difference {
	was.Out, now.Out = "", ""
	was.Device, now.Device = "", ""
	was.Resume, now.Resume = false, false
	was.Taps.Unit, now.Taps.Unit = was.Taps.Unit.Or(), now.Taps.Unit.Or()   // unset reads as neuron
	was.Dataset, now.Dataset = was.Dataset.OrMNIST(), now.Dataset.OrMNIST() // runs from before --dataset
	var out []Difference
	diffValue(reflect.ValueOf(was), reflect.ValueOf(now), "", "", &out)
	return out
}

func diffValue(a, b reflect.Value, path, flag string, out *[]Difference) {
	if a.Kind() == reflect.Struct {
		t := a.Type()
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" || !f.IsExported() {
				continue
			}
			if name == "" {
				name = f.Name
			}
			p := name
			if path != "" {
				p = path + "." + name
			}
			diffValue(a.Field(i), b.Field(i), p, f.Tag.Get("flag"), out)
		}
		return
	}
	if reflect.DeepEqual(a.Interface(), b.Interface()) {
		return
	}
	field := flag
	if field == "" {
		field = path
	}
	*out = append(*out, Difference{Field: field, Was: formatValue(a), Now: formatValue(b)})
}

// formatValue writes a config value as a flag would take it: lists
// comma-separated, names by name.
func formatValue(v reflect.Value) string {
	if s, ok := v.Interface().(fmt.Stringer); ok {
		return s.String()
	}
	switch v.Kind() {
	case reflect.Slice, reflect.Array:
		if v.Len() == 0 {
			return "(none)"
		}
		parts := make([]string, v.Len())
		for i := range parts {
			parts[i] = formatValue(v.Index(i))
		}
		return strings.Join(parts, ",")
	case reflect.String:
		if v.String() == "" {
			return `""`
		}
	}
	return fmt.Sprint(v.Interface())
}
