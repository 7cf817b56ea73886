package graph

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"normtap/layers"
)

// cnn builds two blocks of conv3×3 → norm → activation → 2×2 max-pool
// (tap points c{i}.conv, c{i}.norm, c{i}.act, c{i}.pool), then a linear
// layer to the logits. Hidden holds the two blocks' channel counts.
func (b *builder) cnn() error {
	s, m := b.m.Spec, b.m
	m.X = G.NewTensor(m.G, tensor.Float32, 4, G.WithShape(m.Batch, s.InChannels, s.InRows, s.InCols), G.WithName("x"),
		G.WithValue(tensor.New(tensor.WithShape(m.Batch, s.InChannels, s.InRows, s.InCols), tensor.Of(tensor.Float32))))
	x := m.X
	c := s.InChannels
	for i, k := range s.Hidden {
		prefix := fmt.Sprintf("c%d", i+1)
		fanIn, fanOut := c*9, k*9
		w := b.param(prefix+".W", k, c*9, b.weightStd(fanIn, fanOut, true), 0)
		bias := b.param(prefix+".b", 1, k, 0, 0)
		conv, err := layers.Conv3x3(x, w, bias, i == 0)
		if err != nil {
			return err
		}
		b.tap(prefix+".conv", conv)
		if x, err = b.normAct(prefix, conv); err != nil {
			return err
		}
		if x, err = layers.MaxPool2(x); err != nil {
			return err
		}
		b.tap(prefix+".pool", x)
		c = k
	}
	in := prod(x.Shape()[1:])
	w := b.param("out.W", in, s.Classes, b.weightStd(in, s.Classes, false), 0)
	bias := b.param("out.b", 1, s.Classes, 0, 0)
	var err error
	if m.Logits, err = layers.Linear(x, w, bias, false); err != nil {
		return err
	}
	b.tap("logits", m.Logits)
	return nil
}
