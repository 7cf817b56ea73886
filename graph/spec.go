package graph

import (
	"fmt"
	"strings"

	G "gorgonia.org/gorgonia"

	"normtap/internal/enum"
	"normtap/kernels"
)

// Norm names a normalization; it is written as its name ("batch").
type Norm uint8

// The normalizations normtap builds. Adding one is a constant here and an
// entry in normTable: the CLI, validation and config.json take it from there.
const (
	NormNone Norm = iota + 1
	NormBatch
	NormLayer
	NormGroup
	NormRMS
)

// DefaultGroups is GroupNorm's group count unless --groups says otherwise
// (Wu & He's default); a layer with fewer channels has one group per channel.
const DefaultGroups = 32

// normTable is, per Norm, its name, a line for --help, the smallest batch
// it works on, and the builder method that adds it after a layer.
var normTable = [...]struct {
	name, help string
	minBatch   int
	add        func(b *builder, prefix string, x *G.Node) (*G.Node, error)
}{
	NormNone:  {"none", "none (the .norm node is the identity)", 1, (*builder).identityNorm},
	NormBatch: {"batch", "batch (BatchNorm: per unit over the batch)", 2, (*builder).batchNorm},
	NormLayer: {"layer", "layer (LayerNorm: per example over the units)", 1, (*builder).layerNorm},
	NormGroup: {"group", "group (GroupNorm: per example over each of --groups groups of channels)", 1, (*builder).groupNorm},
	NormRMS:   {"rms", "rms (RMSNorm: per example by the root mean square of the units, no re-centring, no β)", 1, (*builder).rmsNorm},
}

var normNames = enum.Names[Norm]{What: "norm", Names: namesOf(normTable[:], func(i int) string { return normTable[i].name })}

func (n Norm) String() string                   { return normNames.String(n) }
func (n Norm) MarshalText() ([]byte, error)     { return normNames.Marshal(n) }
func (n *Norm) UnmarshalText(text []byte) error { return normNames.Unmarshal(text, n) }
func (n Norm) Valid() bool                      { return normNames.Valid(n) }
func ParseNorm(s string) (Norm, error)          { return normNames.Parse(s) }
func Norms() []Norm                             { return normNames.Values() }
func NormNames() string                         { return normNames.List() }

// NormHelp describes every norm for --help: "none (…), batch (…) or layer (…)".
func NormHelp() string {
	h := enum.Names[Norm]{Names: namesOf(normTable[:], func(i int) string { return normTable[i].help })}
	return h.List()
}

// ModelKind names a model family; it is written as its name ("mlp").
type ModelKind uint8

// The models normtap builds: a constant here and an entry in modelTable.
const (
	ModelMLP ModelKind = iota + 1
	ModelCNN
	ModelResNet
)

var modelTable = [...]struct {
	name  string
	build func(*builder) error
}{
	ModelMLP:    {"mlp", (*builder).mlp},
	ModelCNN:    {"cnn", (*builder).cnn},
	ModelResNet: {"resnet", (*builder).resnet},
}

var modelNames = enum.Names[ModelKind]{What: "model", Names: namesOf(modelTable[:], func(i int) string { return modelTable[i].name })}

func (m ModelKind) String() string                   { return modelNames.String(m) }
func (m ModelKind) MarshalText() ([]byte, error)     { return modelNames.Marshal(m) }
func (m *ModelKind) UnmarshalText(text []byte) error { return modelNames.Unmarshal(text, m) }
func (m ModelKind) Valid() bool                      { return modelNames.Valid(m) }
func ParseModel(s string) (ModelKind, error)         { return modelNames.Parse(s) }
func ModelNames() string                             { return modelNames.List() }

// NormPos says where the norm sits relative to the activation.
type NormPos uint8

const (
	NormPre  NormPos = iota + 1 // norm before the activation, as in the BatchNorm paper
	NormPost                    // after it
)

var normPosNames = enum.Names[NormPos]{What: "norm position", Names: []string{"", "pre", "post"}}

func (p NormPos) String() string                   { return normPosNames.String(p) }
func (p NormPos) MarshalText() ([]byte, error)     { return normPosNames.Marshal(p) }
func (p *NormPos) UnmarshalText(text []byte) error { return normPosNames.Unmarshal(text, p) }
func (p NormPos) Valid() bool                      { return normPosNames.Valid(p) }
func ParseNormPos(s string) (NormPos, error)       { return normPosNames.Parse(s) }
func NormPosNames() string                         { return normPosNames.List() }

// namesOf lists name(i) for every index of a table whose entry 0 is unset.
func namesOf[E any](table []E, name func(int) string) []string {
	out := make([]string, len(table))
	for i := 1; i < len(table); i++ {
		out[i] = name(i)
	}
	return out
}

// Spec describes a model. The zero value is not valid; start from DefaultSpec.
type Spec struct {
	Model  ModelKind `json:"model" flag:"--model"`
	Hidden []int     `json:"hidden" flag:"--hidden"` // MLP hidden widths; CNN conv channels; ResNet stage widths
	// Blocks is the number of residual blocks per stage of the resnet (0
	// for the other models).
	Blocks  int     `json:"blocks,omitempty" flag:"--blocks"`
	Norm    Norm    `json:"norm" flag:"--norm"`
	NormPos NormPos `json:"norm_pos" flag:"--norm-pos"`
	Act     string  `json:"act" flag:"--act"`           // relu, gelu, sigmoid, tanh
	InitStd float64 `json:"init_std" flag:"--init-std"` // >0: every weight from N(0, InitStd²); 0: He (relu, gelu) or Glorot (sigmoid, tanh)
	// BNMomentum is the weight of a new batch in BatchNorm's running
	// statistics (PyTorch's convention).
	BNMomentum float64 `json:"bn_momentum" flag:"--bn-momentum"`
	Eps        float64 `json:"eps" flag:"--eps"` // added to the variance (the mean square in RMSNorm)
	// Groups is GroupNorm's group count G (NormGroup only; 0 otherwise, so
	// that other runs' config.json stay as they were): each layer with C
	// channels (units) uses min(G, C) groups, which must divide C.
	Groups int `json:"groups,omitempty" flag:"--groups"`
	// NormNoise adds Santurkar et al.'s "noisy BatchNorm" noise after every
	// BatchNorm (layers.NormNoise): per step and unit a mean shift from
	// U(−NoiseA, NoiseA) and a scale from U(1, NoiseB), with per-example
	// jitter.
	NormNoise bool    `json:"norm_noise,omitempty" flag:"--norm-noise"`
	NoiseA    float64 `json:"norm_noise_a,omitempty" flag:"--norm-noise-a"`
	NoiseB    float64 `json:"norm_noise_b,omitempty" flag:"--norm-noise-b"`
	// Input is the shape of one example: channels, rows, columns.
	InChannels int `json:"in_channels"`
	InRows     int `json:"in_rows"`
	InCols     int `json:"in_cols"`
	Classes    int `json:"classes"`
}

// DefaultSpec is an MNIST MLP with BatchNorm.
func DefaultSpec() Spec {
	return Spec{Model: ModelMLP, Hidden: []int{1024, 1024}, Norm: NormBatch, NormPos: NormPre, Act: "relu",
		BNMomentum: 0.1, Eps: 1e-5, Groups: DefaultGroups, InChannels: 1, InRows: 28, InCols: 28, Classes: 10}
}

// Validate reports the first thing wrong with s, naming the flag that sets it.
func (s Spec) Validate() error {
	if !s.Model.Valid() {
		return fmt.Errorf("--model %s: want %s", s.Model, ModelNames())
	}
	if !s.Norm.Valid() {
		return fmt.Errorf("--norm %s: want %s", s.Norm, NormNames())
	}
	if !s.NormPos.Valid() {
		return fmt.Errorf("--norm-pos %s: want %s", s.NormPos, NormPosNames())
	}
	if _, err := kernels.ParseAct(s.Act); err != nil {
		return fmt.Errorf("--act: %v", err)
	}
	if len(s.Hidden) == 0 {
		return fmt.Errorf("--hidden: at least one layer width is needed")
	}
	if s.Model == ModelCNN && len(s.Hidden) > MaxCNNBlocks {
		return fmt.Errorf("--hidden %s: the cnn takes 1 to %d conv channel counts, e.g. 16,32,64", JoinInts(s.Hidden), MaxCNNBlocks)
	}
	if s.Model == ModelResNet {
		if len(s.Hidden) > MaxResNetStages {
			return fmt.Errorf("--hidden %s: the resnet takes 1 to %d stage widths, e.g. 16,32,64", JoinInts(s.Hidden), MaxResNetStages)
		}
		if s.Blocks < 1 || s.Blocks > MaxResNetBlocks {
			return fmt.Errorf("--blocks %d: the resnet takes 1 to %d residual blocks per stage", s.Blocks, MaxResNetBlocks)
		}
		if s.NormPos != NormPre {
			return fmt.Errorf("--norm-pos %s: the resnet puts each norm before its activation (and the second before the sum); use --norm-pos pre", s.NormPos)
		}
	}
	for _, h := range s.Hidden {
		if h < 1 || h > 1<<16 {
			return fmt.Errorf("--hidden %s: each width must be between 1 and 65536", JoinInts(s.Hidden))
		}
	}
	if s.InitStd < 0 {
		return fmt.Errorf("--init-std %g: must be ≥ 0 (0 picks He or Glorot)", s.InitStd)
	}
	if s.BNMomentum < 0 || s.BNMomentum > 1 {
		return fmt.Errorf("--bn-momentum %g: must be in [0, 1]", s.BNMomentum)
	}
	if s.Eps <= 0 {
		return fmt.Errorf("--eps %g: must be > 0", s.Eps)
	}
	if s.Norm == NormGroup {
		if s.Groups < 1 {
			return fmt.Errorf("--groups %d: GroupNorm needs at least 1 group", s.Groups)
		}
		what := "units of hidden layer"
		if s.Model != ModelMLP {
			what = "channels of conv block"
		}
		for i, c := range s.Hidden {
			if g := LayerGroups(s.Groups, c); c%g != 0 {
				return fmt.Errorf("--groups %d does not divide the %d %s %d: GroupNorm needs groups of equal size; use a divisor of %d such as %s",
					s.Groups, c, what, i+1, c, nearDivisors(c, s.Groups))
			}
		}
	}
	if s.NormNoise {
		if s.Norm != NormBatch {
			return fmt.Errorf("--norm-noise adds noise after each BatchNorm: it needs --norm batch, not %s", s.Norm)
		}
		if !(s.NoiseA >= 0) || s.NoiseA > 100 {
			return fmt.Errorf("--norm-noise-a %g: the mean shift's bound must be in [0, 100]", s.NoiseA)
		}
		if !(s.NoiseB >= 1) || s.NoiseB > 100 {
			return fmt.Errorf("--norm-noise-b %g: the scale's upper bound must be in [1, 100]", s.NoiseB)
		}
	}
	if s.InChannels < 1 || s.InRows < 1 || s.InCols < 1 || s.Classes < 2 {
		return fmt.Errorf("input shape %dx%dx%d with %d classes is not usable", s.InChannels, s.InRows, s.InCols, s.Classes)
	}
	if (s.Model == ModelCNN || s.Model == ModelResNet) && (s.InRows < 4 || s.InCols < 4) {
		return fmt.Errorf("the %s needs images of at least 4x4, got %dx%d", s.Model, s.InRows, s.InCols)
	}
	return nil
}

// LayerGroups is the number of groups a GroupNorm over c channels uses
// when asked for g: g clipped to c.
func LayerGroups(g, c int) int { return min(g, c) }

// nearDivisors names the divisors of c nearest below and above g.
func nearDivisors(c, g int) string {
	lo, hi := 1, c
	for d := g - 1; d >= 1; d-- {
		if c%d == 0 {
			lo = d
			break
		}
	}
	for d := g + 1; d <= c; d++ {
		if c%d == 0 {
			hi = d
			break
		}
	}
	if lo == hi {
		return fmt.Sprint(lo)
	}
	return fmt.Sprintf("%d or %d", lo, hi)
}

// InFeatures is the number of values in one example.
func (s Spec) InFeatures() int { return s.InChannels * s.InRows * s.InCols }

// JoinInts writes 1,2,3.
func JoinInts(v []int) string {
	p := make([]string, len(v))
	for i, x := range v {
		p[i] = fmt.Sprint(x)
	}
	return strings.Join(p, ",")
}
