package rundir

import (
	"fmt"
	"path"

	"normtap/internal/enum"
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

// TapKind says when a tap was taken; it is written as its name ("epoch").
type TapKind uint8

const (
	KindEpoch TapKind = iota + 1 // at the end of an epoch
	KindStep                     // every N training steps
)

var tapKindNames = enum.Names[TapKind]{What: "tap kind", Names: []string{"", "epoch", "step"}}

func (k TapKind) String() string                   { return tapKindNames.String(k) }
func (k TapKind) MarshalText() ([]byte, error)     { return tapKindNames.Marshal(k) }
func (k *TapKind) UnmarshalText(text []byte) error { return tapKindNames.Unmarshal(text, k) }
func (k TapKind) Valid() bool                      { return tapKindNames.Valid(k) }
func ParseTapKind(s string) (TapKind, error)       { return tapKindNames.Parse(s) }

// TapMode says what was fed through the graph to take a tap; it is written
// as its name ("probe").
type TapMode uint8

const (
	ModeProbe TapMode = iota + 1 // a fixed probe set, in eval mode
	ModeBatch                    // the current training batch, in training mode
)

var tapModeNames = enum.Names[TapMode]{What: "tap mode", Names: []string{"", "probe", "batch"}}

func (m TapMode) String() string                   { return tapModeNames.String(m) }
func (m TapMode) MarshalText() ([]byte, error)     { return tapModeNames.Marshal(m) }
func (m *TapMode) UnmarshalText(text []byte) error { return tapModeNames.Unmarshal(text, m) }
func (m TapMode) Valid() bool                      { return tapModeNames.Valid(m) }
func ParseTapMode(s string) (TapMode, error)       { return tapModeNames.Parse(s) }
func TapModeNames() string                         { return tapModeNames.List() }

// TapUnit says what a tapped column is: one value of the node per example
// (a neuron: for a conv node, one channel at one position), or a channel
// of a (N, C, H, W) node with every position of every example as its rows.
// Unset (0) reads as UnitNeuron: the runs before channel taps.
type TapUnit uint8

const (
	UnitNeuron  TapUnit = iota + 1 // columns: the flattened values of one example
	UnitChannel                    // columns: channels; rows: (example, y, x)
)

var tapUnitNames = enum.Names[TapUnit]{What: "tap unit", Names: []string{"", "neuron", "channel"}}

func (u TapUnit) String() string                   { return tapUnitNames.String(u) }
func (u TapUnit) MarshalText() ([]byte, error)     { return tapUnitNames.Marshal(u) }
func (u *TapUnit) UnmarshalText(text []byte) error { return tapUnitNames.Unmarshal(text, u) }
func (u TapUnit) Valid() bool                      { return tapUnitNames.Valid(u) }
func TapUnitNames() string                         { return tapUnitNames.List() }

// Or is u, or UnitNeuron when u is unset.
func (u TapUnit) Or() TapUnit {
	if u == 0 {
		return UnitNeuron
	}
	return u
}

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
