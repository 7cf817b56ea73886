package rundir

import (
	"fmt"
	"path"
)

// The files and folders of a run directory, relative to it.
const (
	ConfigFile    = "config.json"
	MetricsFile   = "metrics.csv"
	TapsDir       = "taps"
	IndexFile     = "taps/index.json"
	CheckpointDir = "checkpoint"
	// CheckpointFile holds the whole checkpoint: a run can be resumed
	// exactly when it is there.
	CheckpointFile = "checkpoint/state.bin"
)

// Tap kinds: when a tap was taken.
const (
	KindEpoch = "epoch" // at the end of an epoch
	KindStep  = "step"  // every N training steps
)

// Tap modes: what was fed through the graph to take a tap.
const (
	ModeProbe = "probe" // a fixed probe set, in eval mode
	ModeBatch = "batch" // the current training batch, in training mode
)

// EpochTapFile is the file, relative to the run directory, of node's tap at
// the end of epoch (1-based): "taps/<node>/epoch-0001.npy".
func EpochTapFile(node string, epoch int) string {
	return path.Join(TapsDir, node, fmt.Sprintf("epoch-%04d.npy", epoch))
}

// StepTapFile is the file, relative to the run directory, of node's tap
// after step optimizer steps: "taps/<node>/step-000100.npy".
func StepTapFile(node string, step int) string {
	return path.Join(TapsDir, node, fmt.Sprintf("step-%06d.npy", step))
}
