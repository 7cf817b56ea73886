package graph

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"normtap/kernels"
	"normtap/layers"
)

// Param is one learnable tensor, its gradient node and its storage.
type Param struct {
	Name string // e.g. "h1.W", "h2.gamma": its Layer, a dot, its field
	// Layer is the layer it belongs to ("h2" of "h2.gamma"), and Weight
	// marks the layer's weight W (not its bias or norm gains): what
	// Measure groups and measures by.
	Layer  string
	Weight bool
	Node   *G.Node
	Grad   *G.Node
	Value  []float32 // the node's storage: writing here changes the graph's input
	Shape  tensor.Shape
	// init: the standard deviation of its N(0, σ²) initial values; 0 means
	// a constant InitConst (biases 0, γ 1, β 0).
	InitStd   float64
	InitConst float32
}

// TapPoint is a named node whose per-example values can be copied out.
type TapPoint struct {
	Name    string
	Node    *G.Node
	Shape   tensor.Shape // the node's shape, batch first
	Neurons int          // values per example: the product of Shape[1:]
}

// BNLayer is a BatchNorm's persistent state with its layer's name.
type BNLayer struct {
	Name  string
	State *layers.BNState
}

// NoiseLayer is a noisy BatchNorm's noise (Spec.NormNoise) with its layer's
// name.
type NoiseLayer struct {
	Name  string
	State *layers.NoiseState
}

// Model is a differentiated graph with its parameters and tap points.
type Model struct {
	Spec   Spec
	Batch  int
	G      *G.ExprGraph
	X      *G.Node // (Batch, features…) input
	Labels *G.Node // (Batch) class indices as float32
	Logits *G.Node
	Loss   *G.Node // mean softmax cross-entropy
	Params []*Param
	BN     []BNLayer
	Noise  []NoiseLayer // with Spec.NormNoise: one per BatchNorm
	Taps   []TapPoint
	LossOp *layers.SoftmaxCrossEntropyOp
}

// Build makes the graph of spec for batches of the given size, adds the loss
// and its gradients wrt every parameter. Parameters start uninitialised:
// call Init.
func Build(spec Spec, batch int) (*Model, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	if batch < 1 {
		return nil, fmt.Errorf("--batch %d: must be ≥ 1", batch)
	}
	if mb := normTable[spec.Norm].minBatch; batch < mb {
		return nil, fmt.Errorf("--batch %d: --norm %s needs batches of at least %d", batch, spec.Norm, mb)
	}
	m := &Model{Spec: spec, Batch: batch, G: G.NewGraph()}
	b := builder{m: m, act: mustAct(spec.Act)}
	if err := modelTable[spec.Model].build(&b); err != nil {
		return nil, fmt.Errorf("build %s: %w", spec.Model, err)
	}
	if err := m.addLoss(); err != nil {
		return nil, err
	}
	return m, nil
}

// addLoss adds the labels, the mean softmax cross-entropy of the logits and
// its gradients wrt every parameter to a model whose layers are built.
func (m *Model) addLoss() error {
	m.Labels = G.NewVector(m.G, tensor.Float32, G.WithShape(m.Batch), G.WithName("labels"),
		G.WithValue(tensor.New(tensor.WithShape(m.Batch), tensor.Of(tensor.Float32))))
	var err error
	if m.Loss, err = layers.SoftmaxCrossEntropy(m.Logits, m.Labels); err != nil {
		return err
	}
	m.LossOp = m.Loss.Op().(*layers.SoftmaxCrossEntropyOp)
	wrt := make(G.Nodes, len(m.Params))
	for i, p := range m.Params {
		wrt[i] = p.Node
	}
	grads, err := G.Grad(m.Loss, wrt...)
	if err != nil {
		return fmt.Errorf("differentiate: %w", err)
	}
	for i, p := range m.Params {
		p.Grad = grads[i]
	}
	return nil
}

func mustAct(s string) kernels.Act {
	a, err := kernels.ParseAct(s)
	if err != nil {
		panic(err) // Validate checked it
	}
	return a
}

type builder struct {
	m   *Model
	act kernels.Act
}

// param adds a learnable (rows, cols) matrix.
func (b *builder) param(name string, rows, cols int, std float64, c float32) *G.Node {
	v := make([]float32, rows*cols)
	t := tensor.New(tensor.WithShape(rows, cols), tensor.WithBacking(v))
	n := G.NewMatrix(b.m.G, tensor.Float32, G.WithShape(rows, cols), G.WithName(name), G.WithValue(t))
	layer, field, _ := strings.Cut(name, ".") // the builder names every parameter layer.field
	b.m.Params = append(b.m.Params, &Param{Name: name, Layer: layer, Weight: field == "W", Node: n, Value: v,
		Shape: tensor.Shape{rows, cols}, InitStd: std, InitConst: c})
	return n
}

func (b *builder) tap(name string, n *G.Node) {
	s := n.Shape().Clone()
	b.m.Taps = append(b.m.Taps, TapPoint{Name: name, Node: n, Shape: s, Neurons: s[1:].TotalSize()})
}

// weightStd is the initial standard deviation of a weight with the given fans.
func (b *builder) weightStd(fanIn, fanOut int, hidden bool) float64 {
	if s := b.m.Spec.InitStd; s > 0 {
		return s
	}
	if hidden && (b.act == kernels.ReLU || b.act == kernels.GELU) {
		return math.Sqrt(2 / float64(fanIn)) // He
	}
	return math.Sqrt(2 / float64(fanIn+fanOut)) // Glorot
}

// norm adds layer prefix's normalization of x (the identity for NormNone).
func (b *builder) norm(prefix string, x *G.Node) (*G.Node, error) {
	return normTable[b.m.Spec.Norm].add(b, prefix, x)
}

// identityNorm is NormNone: an identity node, so that the .norm tap exists.
func (b *builder) identityNorm(prefix string, x *G.Node) (*G.Node, error) {
	return layers.Activation(kernels.Identity, x)
}

// batchNorm is NormBatch, with the noisy BatchNorm's noise after it when
// the spec asks for it.
func (b *builder) batchNorm(prefix string, x *G.Node) (*G.Node, error) {
	s := b.m.Spec
	c := x.Shape()[1]
	st := layers.NewBNState(c, float32(s.BNMomentum), float32(s.Eps))
	b.m.BN = append(b.m.BN, BNLayer{Name: prefix, State: st})
	y, err := layers.BatchNorm(x, b.param(prefix+".gamma", 1, c, 0, 1), b.param(prefix+".beta", 1, c, 0, 0), st)
	if err != nil || !s.NormNoise {
		return y, err
	}
	ns := layers.NewNoiseState(float32(s.NoiseA), float32(s.NoiseB), st)
	b.m.Noise = append(b.m.Noise, NoiseLayer{Name: prefix, State: ns})
	return layers.NormNoise(y, ns)
}

// layerNorm is NormLayer: per example over every unit (C·H·W for 4-D x).
func (b *builder) layerNorm(prefix string, x *G.Node) (*G.Node, error) {
	d := x.Shape()[1:].TotalSize()
	return layers.LayerNorm(x, b.param(prefix+".gamma", 1, d, 0, 1), b.param(prefix+".beta", 1, d, 0, 0), float32(b.m.Spec.Eps))
}

// groupNorm is NormGroup: per example over each group of channels (units
// of a Linear, channels of a conv), γ/β per channel.
func (b *builder) groupNorm(prefix string, x *G.Node) (*G.Node, error) {
	c := x.Shape()[1]
	return layers.GroupNorm(x, b.param(prefix+".gamma", 1, c, 0, 1), b.param(prefix+".beta", 1, c, 0, 0),
		LayerGroups(b.m.Spec.Groups, c), float32(b.m.Spec.Eps))
}

// rmsNorm is NormRMS: per example over every unit (C·H·W for 4-D x), γ per
// unit as LayerNorm's, no β.
func (b *builder) rmsNorm(prefix string, x *G.Node) (*G.Node, error) {
	d := x.Shape()[1:].TotalSize()
	return layers.RMSNorm(x, b.param(prefix+".gamma", 1, d, 0, 1), float32(b.m.Spec.Eps))
}

// normAct adds norm and activation in the spec's order, tapping both.
func (b *builder) normAct(prefix string, x *G.Node) (*G.Node, error) {
	var err error
	if b.m.Spec.NormPos == NormPost {
		if x, err = layers.Activation(b.act, x); err != nil {
			return nil, err
		}
		actNode := x
		if x, err = b.norm(prefix, x); err != nil {
			return nil, err
		}
		b.tap(prefix+".norm", x)
		b.tap(prefix+".act", actNode)
		return x, nil
	}
	if x, err = b.norm(prefix, x); err != nil {
		return nil, err
	}
	b.tap(prefix+".norm", x)
	if x, err = layers.Activation(b.act, x); err != nil {
		return nil, err
	}
	b.tap(prefix+".act", x)
	return x, nil
}

func (b *builder) mlp() error {
	s, m := b.m.Spec, b.m
	in := s.InFeatures()
	m.X = G.NewMatrix(m.G, tensor.Float32, G.WithShape(m.Batch, in), G.WithName("x"),
		G.WithValue(tensor.New(tensor.WithShape(m.Batch, in), tensor.Of(tensor.Float32))))
	x := m.X
	for i, h := range s.Hidden {
		prefix := fmt.Sprintf("h%d", i+1)
		w := b.param(prefix+".W", in, h, b.weightStd(in, h, true), 0)
		bias := b.param(prefix+".b", 1, h, 0, 0)
		lin, err := layers.Linear(x, w, bias, i == 0)
		if err != nil {
			return err
		}
		b.tap(prefix+".linear", lin)
		if x, err = b.normAct(prefix, lin); err != nil {
			return err
		}
		in = h
	}
	return b.logits(x, len(s.Hidden) == 0)
}

// Init draws every parameter's initial value from rng, resets the
// BatchNorm running statistics, and seeds the norm noise from rng after
// the parameters (so that the noise flags leave the initial weights alone).
func (m *Model) Init(rng *rand.Rand) {
	for _, p := range m.Params {
		if p.InitStd == 0 {
			for i := range p.Value {
				p.Value[i] = p.InitConst
			}
			continue
		}
		for i := range p.Value {
			p.Value[i] = float32(rng.NormFloat64() * p.InitStd)
		}
	}
	for _, l := range m.BN {
		clear(l.State.RunningMean)
		for i := range l.State.RunningVar {
			l.State.RunningVar[i] = 1
		}
	}
	for _, l := range m.Noise {
		l.State.Seed, l.State.Draws = rng.Uint64(), 0
	}
}

// Tap returns the named tap point; an unknown name is an error listing them.
func (m *Model) Tap(name string) (TapPoint, error) {
	for _, t := range m.Taps {
		if t.Name == name {
			return t, nil
		}
	}
	return TapPoint{}, fmt.Errorf("no node %q in this model; its nodes are %s", name, strings.Join(m.TapNames(), ", "))
}

// TapNames lists the tap points in graph order.
func (m *Model) TapNames() []string {
	names := make([]string, len(m.Taps))
	for i, t := range m.Taps {
		names[i] = t.Name
	}
	return names
}

// ParamCount is the number of learnable values.
func (m *Model) ParamCount() int {
	n := 0
	for _, p := range m.Params {
		n += len(p.Value)
	}
	return n
}

// Children returns n's inputs in order (gorgonia keeps them unexported; its
// graph's From lists them in order).
func Children(n *G.Node) G.Nodes {
	it := n.Graph().From(n.ID())
	var out G.Nodes
	for it.Next() {
		out = append(out, it.Node().(*G.Node))
	}
	return out
}
