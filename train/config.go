package train

import "normtap/rundir"

// Config is a resolved training job, written to config.json (its one
// type, with the schema version, is rundir's).
type Config = rundir.Config

// TapConfig says which activations to copy out and when.
type TapConfig = rundir.TapConfig

// MeasureConfig says what to measure during training, and how often.
type MeasureConfig = rundir.MeasureConfig

// DefaultNeuron is the column tapped when --tap-neuron is not given.
const DefaultNeuron = 0

// tapsEpoch reports whether the epoch's end is tapped.
func tapsEpoch(t TapConfig, e int) bool {
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
