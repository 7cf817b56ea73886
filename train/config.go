package train

import (
	"fmt"

	"normtap/graph"
	"normtap/rundir"
)

// Config is a resolved training job. It is written to config.json.
type Config struct {
	Spec       graph.Spec    `json:"spec"`
	Opt        graph.OptSpec `json:"optimizer"`
	Batch      int           `json:"batch"`
	Epochs     int           `json:"epochs"`
	Seed       uint64        `json:"seed"`
	Data       string        `json:"data"`        // IDX directory; "" for the bundled MNIST
	TrainLimit int           `json:"train_limit"` // 0: all
	Device     string        `json:"device"`      // cpu, cuda, auto (as asked)
	Out        string        `json:"out"`
	Taps       TapConfig     `json:"taps"`
	// CheckpointEverySteps also checkpoints every N steps (0: per epoch only).
	CheckpointEverySteps int  `json:"checkpoint_every_steps"`
	Resume               bool `json:"-"`
	// MaxSteps stops after this many optimizer steps in all (0: no limit):
	// the step count of a reproduction, independent of the epoch length.
	MaxSteps int `json:"max_steps"`
	// Measure asks for internal covariate shift and loss-landscape
	// measurements during training (ics.csv, landscape.csv).
	Measure MeasureConfig `json:"measure"`
}

// TapConfig says which activations to copy out and when.
type TapConfig struct {
	Nodes      []string       `json:"nodes"`
	Neurons    []int          `json:"neurons"`     // column indices; nil with AllNeurons
	AllNeurons bool           `json:"all_neurons"` //
	Epochs     []int          `json:"epochs"`      // nil with AllEpochs
	AllEpochs  bool           `json:"all_epochs"`
	EverySteps int            `json:"every_steps"` // 0: no step taps
	Examples   int            `json:"examples"`    // probe-set size (probe mode)
	Mode       rundir.TapMode `json:"mode"`
}

// DefaultNeuron is the column tapped when --tap-neuron is not given.
const DefaultNeuron = 0

// Validate checks what does not need the data or the model, naming flags.
func (c *Config) Validate() error {
	if err := c.Spec.Validate(); err != nil {
		return err
	}
	if err := c.Opt.Validate(); err != nil {
		return err
	}
	if c.Batch < 1 || c.Batch > 1<<16 {
		return fmt.Errorf("--batch %d: must be between 1 and 65536", c.Batch)
	}
	if c.Epochs < 1 {
		return fmt.Errorf("--epochs %d: must be ≥ 1", c.Epochs)
	}
	if c.TrainLimit < 0 {
		return fmt.Errorf("--train-limit %d: must be ≥ 0 (0 uses every example)", c.TrainLimit)
	}
	if c.CheckpointEverySteps < 0 {
		return fmt.Errorf("--checkpoint-every-steps %d: must be ≥ 0", c.CheckpointEverySteps)
	}
	if err := c.Measure.Validate(); err != nil {
		return err
	}
	t := c.Taps
	if !t.Mode.Valid() {
		return fmt.Errorf("--tap-mode %s: want %s", t.Mode, rundir.TapModeNames())
	}
	if t.EverySteps < 0 {
		return fmt.Errorf("--tap-every-steps %d: must be ≥ 0", t.EverySteps)
	}
	if t.Mode == rundir.ModeProbe && (t.Examples < 1 || t.Examples > 1<<20) {
		return fmt.Errorf("--tap-examples %d: must be between 1 and 1048576", t.Examples)
	}
	for _, e := range t.Epochs {
		if e < 1 {
			return fmt.Errorf("--tap-epochs: epoch %d: epochs count from 1", e)
		}
	}
	for _, k := range t.Neurons {
		if k < 0 {
			return fmt.Errorf("--tap-neuron %d: neurons count from 0", k)
		}
	}
	return nil
}

// tapsEpoch reports whether the epoch's end is tapped.
func (t TapConfig) tapsEpoch(e int) bool {
	if len(t.Nodes) == 0 {
		return false
	}
	if t.AllEpochs {
		return true
	}
	for _, x := range t.Epochs {
		if x == e {
			return true
		}
	}
	return false
}
