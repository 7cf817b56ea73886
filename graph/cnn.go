package graph

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"normtap/layers"
)

// MaxCNNBlocks is the most conv blocks --model cnn takes.
const MaxCNNBlocks = 6

// PoolMinSize is the pooling rule of the CNN: a 2×2 max-pool follows a conv
// block while its feature map is at least PoolMinSize×PoolMinSize. On
// 28×28 MNIST the first two blocks pool (28→14→7) and deeper ones keep 7×7:
// the two-block CNN is the one normtap always had, and depth adds blocks at
// the last resolution instead of shrinking the map to nothing.
const PoolMinSize = 8

// PoolRule says the pooling rule in words, for --help and `normtap nodes`.
const PoolRule = "a 2x2 max-pool follows a block while its feature map is at least 8x8"

// CNNPools reports, per conv block of s, whether a max-pool follows it.
func (s Spec) CNNPools() []bool {
	pools := make([]bool, len(s.Hidden))
	h, w := s.InRows, s.InCols
	for i := range pools {
		if h >= PoolMinSize && w >= PoolMinSize {
			pools[i] = true
			h, w = h/2, w/2
		}
	}
	return pools
}

// cnn builds len(Hidden) blocks of conv3×3 → norm → activation, each
// followed by a 2×2 max-pool by the rule of CNNPools (tap points c{i}.conv,
// c{i}.norm, c{i}.act and, where it pools, c{i}.pool), then a linear layer
// to the logits. Hidden holds the blocks' channel counts.
func (b *builder) cnn() error {
	s, m := b.m.Spec, b.m
	m.X = G.NewTensor(m.G, tensor.Float32, 4, G.WithShape(m.Batch, s.InChannels, s.InRows, s.InCols), G.WithName("x"),
		G.WithValue(tensor.New(tensor.WithShape(m.Batch, s.InChannels, s.InRows, s.InCols), tensor.Of(tensor.Float32))))
	x := m.X
	pools := s.CNNPools()
	for i, k := range s.Hidden {
		prefix := fmt.Sprintf("c%d", i+1)
		conv, err := b.conv3x3(prefix, x, k, i == 0)
		if err != nil {
			return err
		}
		b.tap(prefix+".conv", conv)
		if x, err = b.normAct(prefix, conv); err != nil {
			return err
		}
		if pools[i] {
			if x, err = layers.MaxPool2(x); err != nil {
				return err
			}
			b.tap(prefix+".pool", x)
		}
	}
	return b.logits(x, false)
}

// conv3x3 adds prefix's 3×3 convolution of x to k channels, with its weight
// prefix.W (He or Glorot by fan-in C·9 and fan-out K·9) and bias prefix.b.
func (b *builder) conv3x3(prefix string, x *G.Node, k int, noInputGrad bool) (*G.Node, error) {
	return b.conv3x3Scaled(prefix, x, k, noInputGrad, 1)
}

// conv3x3Scaled is conv3x3 with the weights' standard deviation multiplied
// by scale; scale 0 starts the weights at 0.
func (b *builder) conv3x3Scaled(prefix string, x *G.Node, k int, noInputGrad bool, scale float64) (*G.Node, error) {
	c := x.Shape()[1]
	w := b.param(prefix+".W", k, c*9, scale*b.weightStd(c*9, k*9, true), 0)
	bias := b.param(prefix+".b", 1, k, 0, 0)
	return layers.Conv3x3(x, w, bias, noInputGrad)
}

// logits adds the output layer, linear from x (flattened) to the classes,
// and taps it; noInputGrad where x is the model's input.
func (b *builder) logits(x *G.Node, noInputGrad bool) error {
	s, m := b.m.Spec, b.m
	in := x.Shape()[1:].TotalSize()
	w := b.param("out.W", in, s.Classes, b.weightStd(in, s.Classes, false), 0)
	bias := b.param("out.b", 1, s.Classes, 0, 0)
	var err error
	if m.Logits, err = layers.Linear(x, w, bias, noInputGrad); err != nil {
		return err
	}
	b.tap("logits", m.Logits)
	return nil
}
