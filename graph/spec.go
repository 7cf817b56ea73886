package graph

import (
	"fmt"
	"strings"

	"normtap/kernels"
)

// Spec describes a model. The zero value is not valid; start from DefaultSpec.
type Spec struct {
	Model   string  `json:"model"`    // "mlp" or "cnn"
	Hidden  []int   `json:"hidden"`   // MLP hidden widths; CNN conv channels
	Norm    string  `json:"norm"`     // "none", "batch" or "layer"
	NormPos string  `json:"norm_pos"` // "pre": norm before the activation; "post": after
	Act     string  `json:"act"`      // relu, gelu, sigmoid, tanh
	InitStd float64 `json:"init_std"` // >0: every weight from N(0, InitStd²); 0: He (relu, gelu) or Glorot (sigmoid, tanh)
	// BNMomentum is the weight of a new batch in BatchNorm's running
	// statistics (PyTorch's convention).
	BNMomentum float64 `json:"bn_momentum"`
	Eps        float64 `json:"eps"` // added to the variance in both norms
	// NormNoise adds Santurkar et al.'s "noisy BatchNorm" noise after every
	// BatchNorm (layers.NormNoise): per step and unit a mean shift from
	// U(−NoiseA, NoiseA) and a scale from U(1, NoiseB), with per-example
	// jitter.
	NormNoise bool    `json:"norm_noise,omitempty"`
	NoiseA    float64 `json:"norm_noise_a,omitempty"`
	NoiseB    float64 `json:"norm_noise_b,omitempty"`
	// Input is the shape of one example: channels, rows, columns.
	InChannels int `json:"in_channels"`
	InRows     int `json:"in_rows"`
	InCols     int `json:"in_cols"`
	Classes    int `json:"classes"`
}

// DefaultSpec is an MNIST MLP with BatchNorm.
func DefaultSpec() Spec {
	return Spec{Model: "mlp", Hidden: []int{1024, 1024}, Norm: "batch", NormPos: "pre", Act: "relu",
		BNMomentum: 0.1, Eps: 1e-5, InChannels: 1, InRows: 28, InCols: 28, Classes: 10}
}

// Validate reports the first thing wrong with s, naming the flag that sets it.
func (s Spec) Validate() error {
	switch s.Model {
	case "mlp", "cnn":
	default:
		return fmt.Errorf("--model %q: want mlp or cnn", s.Model)
	}
	switch s.Norm {
	case "none", "batch", "layer":
	default:
		return fmt.Errorf("--norm %q: want none, batch or layer", s.Norm)
	}
	switch s.NormPos {
	case "pre", "post":
	default:
		return fmt.Errorf("--norm-pos %q: want pre or post", s.NormPos)
	}
	if _, err := kernels.ParseAct(s.Act); err != nil {
		return fmt.Errorf("--act: %v", err)
	}
	if len(s.Hidden) == 0 {
		return fmt.Errorf("--hidden: at least one layer width is needed")
	}
	if s.Model == "cnn" && len(s.Hidden) != 2 {
		return fmt.Errorf("--hidden %s: the cnn takes two conv channel counts, e.g. 16,32", JoinInts(s.Hidden))
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
	if s.NormNoise {
		if s.Norm != "batch" {
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
	if s.Model == "cnn" && (s.InRows < 4 || s.InCols < 4) {
		return fmt.Errorf("the cnn needs images of at least 4x4, got %dx%d", s.InRows, s.InCols)
	}
	return nil
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
