package graph

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"normtap/layers"
)

// MaxResNetBlocks and MaxResNetStages bound --blocks and the stage widths.
const (
	MaxResNetBlocks = 16
	MaxResNetStages = 4
)

// How the residual network starts (train --help says the same). With a
// norm: every conv He-initialised, every norm at γ 1, β 0 (PyTorch's
// default; torchvision's zero_init_residual is off by default too). The
// usual zero γ on each block's second norm makes every block its skip at
// the start, but Adam moves γ by about lr per step, so the branches take
// hundreds of steps to open: MNIST, seed 1, 100 Adam steps at lr 1e-3,
// batch 128: test accuracy 0.70 with zero γ, 0.91 with γ 1. With --norm
// none there is no γ and nothing rescales the residual sum: He on both
// convs adds about the input's variance per block, so the signal doubles
// with every block (rms 254 at the logits of a 16-block net). So, as
// Fixup (Zhang et al. 2019): each block's second conv starts at 0 (every
// block starts as its skip; the conv learns at once, its gradient being
// the first conv's output times the incoming gradient) and its first conv
// is He scaled by L^-1/2 for L blocks in all. Scaling the second conv by
// L^-1/2 instead did better after 100 MNIST steps of the 3-block net
// (0.89 vs 0.85) but not on TestResNetTrainsWithoutNorm's 16 blocks (0.51
// vs 0.97 accuracy): depth is what the scheme is for.

// resnet builds a residual network for small images: a conv3×3 stem →
// norm → activation; then one stage per width in Hidden, each of Blocks
// residual blocks
//
//	out = act(norm2(conv2(act(norm1(conv1(x))))) + skip(x))
//
// where skip is the identity, or a 1×1 projection and its norm where the
// channel count changes (the first block of a stage whose width differs
// from the last). Every stage after the first starts with a 2×2 max-pool
// by the CNN's rule (PoolMinSize: 28×28 → 14×14 → 7×7). Then a global
// average pool and a linear layer. The residual sum is gorgonia's +: its
// gradient is the incoming gradient, passed to both sides unchanged, and
// both machines run it already (it is what gorgonia.Grad adds where a value
// feeds several ops), so a normtap op would add a kernel for nothing.
//
// Tap points: stem.conv, stem.norm, stem.act; per stage s and block b,
// s{s}.pool (where a stage pools), s{s}.b{b}.conv1, .norm1, .act1, .conv2,
// .norm2, .proj (where there is a projection: its normalised output), .out;
// then pool (the global average) and logits.
func (b *builder) resnet() error {
	s, m := b.m.Spec, b.m
	m.X = G.NewTensor(m.G, tensor.Float32, 4, G.WithShape(m.Batch, s.InChannels, s.InRows, s.InCols), G.WithName("x"),
		G.WithValue(tensor.New(tensor.WithShape(m.Batch, s.InChannels, s.InRows, s.InCols), tensor.Of(tensor.Float32))))
	x, err := b.conv3x3("stem", m.X, s.Hidden[0], true)
	if err != nil {
		return err
	}
	b.tap("stem.conv", x)
	if x, err = b.normAct("stem", x); err != nil {
		return err
	}
	branchScale := 1.0 // the first conv's, see above
	if s.Norm == NormNone {
		branchScale = 1 / math.Sqrt(float64(len(s.Hidden)*s.Blocks))
	}
	for si, width := range s.Hidden {
		stage := fmt.Sprintf("s%d", si+1)
		if si > 0 {
			if sh := x.Shape(); sh[2] >= PoolMinSize && sh[3] >= PoolMinSize {
				if x, err = layers.MaxPool2(x); err != nil {
					return err
				}
				b.tap(stage+".pool", x)
			}
		}
		for bi := 1; bi <= s.Blocks; bi++ {
			if x, err = b.residualBlock(fmt.Sprintf("%s.b%d", stage, bi), x, width, branchScale); err != nil {
				return err
			}
		}
	}
	if x, err = layers.GlobalAvgPool(x); err != nil {
		return err
	}
	b.tap("pool", x)
	return b.logits(x)
}

// residualBlock adds one block of width k to x (see resnet).
func (b *builder) residualBlock(prefix string, x *G.Node, k int, branchScale float64) (*G.Node, error) {
	h, err := b.conv3x3Scaled(prefix+".conv1", x, k, false, branchScale)
	if err != nil {
		return nil, err
	}
	b.tap(prefix+".conv1", h)
	if h, err = b.norm(prefix+".norm1", h); err != nil {
		return nil, err
	}
	b.tap(prefix+".norm1", h)
	if h, err = layers.Activation(b.act, h); err != nil {
		return nil, err
	}
	b.tap(prefix+".act1", h)
	conv2Scale := 1.0
	if b.m.Spec.Norm == NormNone {
		conv2Scale = 0 // Fixup: the branch starts at 0
	}
	if h, err = b.conv3x3Scaled(prefix+".conv2", h, k, false, conv2Scale); err != nil {
		return nil, err
	}
	b.tap(prefix+".conv2", h)
	if h, err = b.norm(prefix+".norm2", h); err != nil {
		return nil, err
	}
	b.tap(prefix+".norm2", h)
	skip := x
	if c := x.Shape()[1]; c != k {
		w := b.param(prefix+".proj.W", k, c, b.weightStd(c, k, true), 0)
		if skip, err = layers.Conv1x1(x, w); err != nil {
			return nil, err
		}
		if skip, err = b.norm(prefix+".proj.norm", skip); err != nil {
			return nil, err
		}
		b.tap(prefix+".proj", skip)
	}
	sum, err := G.Add(h, skip)
	if err != nil {
		return nil, fmt.Errorf("%s: residual sum: %w", prefix, err)
	}
	if x, err = layers.Activation(b.act, sum); err != nil {
		return nil, err
	}
	b.tap(prefix+".out", x)
	return x, nil
}
