package layers

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"normtap/kernels"
)

// This file checks every op's backward pass against central finite
// differences of its own forward pass, and holds the helpers the other test
// files share: a test-only weighted-sum loss op and graph plumbing.
//
// Method. For an op y = f(inputs), the scalar loss is L = Σ y·R for a fixed
// random R (weightedSumOp, so the upstream gradient of y is exactly R); the
// cross-entropy is its own scalar loss. The analytic gradients come from
// gorgonia.Grad run on gorgonia's TapeMachine. The numeric ones rerun the
// same machine with one input element moved by ±h and ±2h (h = fdStep):
// D(h) = (L₊ − L₋)/(x₊ − x₋), with L summed in float64 from the float32
// output y and the step as actually represented in float32, then Richardson
// extrapolation (4·D(h) − D(2h))/3 to cancel the O(h²) truncation error.
// An analytic gradient a passes against the numeric n when, for every
// element, |a−n| ≤ tol·(|n| + 0.1·max|n|), tol = gradTol = 1e-3 unless a
// case says otherwise: a relative error of 1e-3 per element, with a floor of
// a tenth of the largest gradient for elements near zero, where float32
// rounding of y dominates. Over ten seeds the single-op errors stayed
// ≤ 4e-4, the network's (tol 2e-3) ≤ 1e-3.
// Inputs keep away from where the op is not smooth (relu: |x| > 0.05 > 2h).

const (
	fdStep  = 2e-2
	gradTol = 1e-3
)

// weightedSumOp is L = Σ y·R, a scalar: a test-only loss whose gradient
// with respect to y is R. Its backward op is weightedSumGradOp.
type weightedSumOp struct {
	opBase
	r []float32
}

func weightedSum(y *G.Node, r []float32) (*G.Node, error) {
	if len(r) != y.Shape().TotalSize() {
		return nil, fmt.Errorf("weightedSum: %d weights for %v", len(r), y.Shape())
	}
	op := &weightedSumOp{r: r}
	op.opBase = opBase{name: "WeightedSum", inDims: []int{y.Dims()}, out: tensor.ScalarShape(), self: op}
	return apply(op, y)
}

func (op *weightedSumOp) Exec(out []float32, in [][]float32) { out[0] = float32(dot64(in[0], op.r)) }
func (op *weightedSumOp) Do(v ...G.Value) (G.Value, error)   { return doWith(op, v) }
func (op *weightedSumOp) DiffWRT(int) []bool                 { return []bool{true} }

func (op *weightedSumOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	b := &weightedSumGradOp{r: op.r}
	b.opBase = opBase{name: "WeightedSumGrad", inDims: []int{0}, out: inputs[0].Shape().Clone(), self: b}
	d, err := apply(b, grad)
	if err != nil {
		return nil, err
	}
	return G.Nodes{d}, nil
}

// weightedSumGradOp computes dy = g·R from the scalar upstream gradient g.
type weightedSumGradOp struct {
	opBase
	r []float32
}

func (op *weightedSumGradOp) Exec(out []float32, in [][]float32) {
	for i, r := range op.r {
		out[i] = in[0][0] * r
	}
}
func (op *weightedSumGradOp) Do(v ...G.Value) (G.Value, error) { return doWith(op, v) }

func dot64(a, b []float32) float64 {
	var s float64
	for i, v := range a {
		s += float64(v) * float64(b[i])
	}
	return s
}

// tensorNode adds a float32 input node holding a copy of data.
func tensorNode(g *G.ExprGraph, name string, shape []int, data []float32) *G.Node {
	if len(data) != prod(shape) {
		panic(fmt.Sprintf("tensorNode %s: %d values for shape %v", name, len(data), shape))
	}
	v := tensor.New(tensor.WithShape(shape...), tensor.WithBacking(slices.Clone(data)))
	return G.NewTensor(g, tensor.Float32, len(shape), G.WithShape(shape...), G.WithName(name), G.WithValue(v))
}

// backing returns the float32 slice a node's value lives in (not a copy):
// writing to it changes what the next machine run reads.
func backing(t testing.TB, n *G.Node) []float32 {
	t.Helper()
	switch v := n.Value().(type) {
	case *G.F32:
		return []float32{float32(*v)}
	case tensor.Tensor:
		switch d := v.Data().(type) {
		case []float32:
			return d
		case float32:
			return []float32{d}
		}
	}
	t.Fatalf("node %s holds %T, want float32 values", n.Name(), n.Value())
	return nil
}

// valueOf returns a copy of a node's value.
func valueOf(t testing.TB, n *G.Node) []float32 {
	t.Helper()
	return slices.Clone(backing(t, n))
}

// setValue overwrites a node's value in place.
func setValue(t testing.TB, n *G.Node, data []float32) {
	t.Helper()
	b := backing(t, n)
	if len(b) != len(data) {
		t.Fatalf("set %s: %d values, node holds %d", n.Name(), len(data), len(b))
	}
	copy(b, data)
}

func run(t testing.TB, m G.VM) {
	t.Helper()
	m.Reset()
	if err := m.RunAll(); err != nil {
		t.Fatalf("run: %v", err)
	}
}

func randNormal(rng *rand.Rand, n int, mean, std float64) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(mean + std*rng.NormFloat64())
	}
	return v
}

// randAway is normal(0, std) resampled until |v| > margin: relu inputs kept
// off the kink, so that ±2·fdStep never crosses it.
func randAway(rng *rand.Rand, n int, std, margin float64) []float32 {
	v := make([]float32, n)
	for i := range v {
		for math.Abs(float64(v[i])) <= margin {
			v[i] = float32(std * rng.NormFloat64())
		}
	}
	return v
}

// randScale is |γ| in [0.5, 2] with either sign: gradients scaled by γ stay
// large enough to check.
func randScale(rng *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(0.5 + 1.5*rng.Float64())
		if rng.IntN(4) == 0 {
			v[i] = -v[i]
		}
	}
	return v
}

// channelData is x of shape (N, C, …) whose channels have their own mean
// and spread, as activations before a norm do.
func channelData(rng *rand.Rand, shape []int) []float32 {
	c, s := shape[1], prod(shape[2:])
	x := make([]float32, prod(shape))
	shift, spread := randNormal(rng, c, 0, 2), make([]float64, c)
	for j := range spread {
		spread[j] = 0.5 + 2*rng.Float64()
	}
	for i := 0; i < shape[0]; i++ {
		for j := 0; j < c; j++ {
			for p := 0; p < s; p++ {
				x[(i*c+j)*s+p] = float32(float64(shift[j]) + spread[j]*rng.NormFloat64())
			}
		}
	}
	return x
}

// input is one input of an op under test.
type input struct {
	name  string
	shape []int
	data  []float32
	check bool // compare its gradient with finite differences
}

// gradCase is one finite-difference check. build adds the op under test to
// g, given its input nodes, and returns its output: a tensor (the loss is
// then Σ y·R) or a scalar loss (softmax cross-entropy).
type gradCase struct {
	name   string
	inputs func(rng *rand.Rand) []input
	build  func(t *testing.T, g *G.ExprGraph, in []*G.Node) *G.Node
	// step and tol override fdStep and gradTol.
	step float32
	tol  float64
	// eval builds the machine with gorgonia.EvalMode: a TapeMachine calls
	// SetTraining(!evalMode) on every BatchNorm when it is built.
	eval bool
	// after runs once the check is done (state checks).
	after func(t *testing.T)
}

// checkGrads builds the case's graph, differentiates it with gorgonia.Grad
// and compares each checked input's gradient with central differences.
func checkGrads(t *testing.T, c gradCase, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 1))
	ins := c.inputs(rng)
	g := G.NewGraph()
	nodes := make([]*G.Node, len(ins))
	var wrt G.Nodes
	var wrtIdx []int
	for i, in := range ins {
		nodes[i] = tensorNode(g, in.name, in.shape, in.data)
		if in.check {
			wrt = append(wrt, nodes[i])
			wrtIdx = append(wrtIdx, i)
		}
	}
	y := c.build(t, g, nodes)
	var r []float32
	loss := y
	if !y.IsScalar() {
		r = randNormal(rng, y.Shape().TotalSize(), 0, 1)
		var err error
		if loss, err = weightedSum(y, r); err != nil {
			t.Fatal(err)
		}
	}
	grads, err := G.Grad(loss, wrt...)
	if err != nil {
		t.Fatalf("grad: %v", err)
	}
	var opts []G.VMOpt
	if c.eval {
		opts = append(opts, G.EvalMode())
	}
	m := G.NewTapeMachine(g, opts...)
	defer m.Close()
	run(t, m)
	analytic := make([][]float32, len(grads))
	for i, gr := range grads {
		analytic[i] = valueOf(t, gr)
	}
	lossValue := func() float64 {
		run(t, m)
		if r == nil {
			return float64(backing(t, loss)[0])
		}
		return dot64(backing(t, y), r)
	}
	step, tol := cmp.Or(c.step, fdStep), cmp.Or(c.tol, gradTol)
	for k, i := range wrtIdx {
		x := backing(t, nodes[i])
		numeric := make([]float64, len(x))
		for e := range x {
			orig := x[e]
			central := func(h float32) float64 {
				x[e] = orig + h
				xp, lp := x[e], lossValue()
				x[e] = orig - h
				xm, lm := x[e], lossValue()
				x[e] = orig
				return (lp - lm) / (float64(xp) - float64(xm))
			}
			numeric[e] = (4*central(step) - central(2*step)) / 3
		}
		worst, err := compareGrad(analytic[k], numeric, tol)
		if err != nil {
			t.Errorf("d/d%s: %v", ins[i].name, err)
		} else {
			t.Logf("d/d%s: worst relative error %.2g", ins[i].name, worst)
		}
	}
	if c.after != nil {
		c.after(t)
	}
}

// compareGrad applies the tolerance stated at the top of this file.
func compareGrad(analytic []float32, numeric []float64, tol float64) (worst float64, err error) {
	if len(analytic) != len(numeric) {
		return 0, fmt.Errorf("%d analytic values, %d numeric", len(analytic), len(numeric))
	}
	var scale float64
	for _, n := range numeric {
		scale = max(scale, math.Abs(n))
	}
	if scale == 0 {
		return 0, fmt.Errorf("numeric gradient is all zeros: the check would prove nothing")
	}
	at := 0
	for i, n := range numeric {
		e := math.Abs(float64(analytic[i])-n) / (math.Abs(n) + 0.1*scale)
		if e > worst {
			worst, at = e, i
		}
	}
	if worst > tol {
		return worst, fmt.Errorf("element %d: analytic %.6g, numeric %.6g (relative error %.2g > %.2g)",
			at, analytic[at], numeric[at], worst, tol)
	}
	return worst, nil
}

// expectClose fails t unless |got−want| ≤ atol + rtol·|want| everywhere,
// naming the worst element. what is a format for args.
func expectClose(t testing.TB, what string, got, want []float32, atol, rtol float64, args ...any) {
	t.Helper()
	name := fmt.Sprintf(what, args...)
	if len(got) != len(want) {
		t.Errorf("%s: %d values, want %d", name, len(got), len(want))
		return
	}
	worst, at := 0.0, -1
	for i, w := range want {
		d := math.Abs(float64(got[i]) - float64(w))
		if math.IsNaN(d) {
			d = math.Inf(1)
		}
		if e := d / (atol + rtol*math.Abs(float64(w))); e > worst {
			worst, at = e, i
		}
	}
	if worst > 1 {
		t.Errorf("%s: element %d is %.8g, want %.8g (|diff| %.2g > %g + %g·|want|)",
			name, at, got[at], want[at], math.Abs(float64(got[at])-float64(want[at])), atol, rtol)
	}
}

func mustNode(t *testing.T) func(*G.Node, error) *G.Node {
	return func(n *G.Node, err error) *G.Node {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
}

// warmBNState returns the state of a BatchNorm over shape[1] channels after
// three training-mode forwards on different batches, switched to eval mode
// through the op's SetTraining: non-trivial running statistics.
func warmBNState(t *testing.T, rng *rand.Rand, shape []int) *BNState {
	t.Helper()
	c := shape[1]
	st := NewBNState(c, 0.1, 1e-5)
	g := G.NewGraph()
	x := tensorNode(g, "x", shape, make([]float32, prod(shape)))
	gamma := tensorNode(g, "gamma", []int{1, c}, randScale(rng, c))
	beta := tensorNode(g, "beta", []int{1, c}, randNormal(rng, c, 0, 0.5))
	y := mustNode(t)(BatchNorm(x, gamma, beta, st))
	m := G.NewTapeMachine(g)
	defer m.Close()
	for range 3 {
		setValue(t, x, channelData(rng, shape))
		run(t, m)
	}
	if err := y.Op().(*BatchNormOp).SetTraining(false); err != nil {
		t.Fatal(err)
	}
	for j := range c {
		if st.RunningMean[j] == 0 || st.RunningVar[j] == 1 {
			t.Fatalf("running statistics still at their start after 3 forwards: mean %v var %v", st.RunningMean, st.RunningVar)
		}
	}
	return st
}

func TestGradCheck(t *testing.T) {
	var cases []gradCase

	// Linear: x (N, In) or (N, C, H, W), W (In, Out), b (1, Out).
	for _, shape := range [][]int{{5, 4}, {3, 2, 3, 3}} {
		in, out := prod(shape[1:]), 3
		cases = append(cases, gradCase{
			name: fmt.Sprintf("Linear/%s->%d", shapeName(shape), out),
			inputs: func(rng *rand.Rand) []input {
				return []input{
					{"x", shape, randNormal(rng, prod(shape), 0, 1), true},
					{"W", []int{in, out}, randNormal(rng, in*out, 0, 1/math.Sqrt(float64(in))), true},
					{"b", []int{1, out}, randNormal(rng, out, 0, 1), true},
				}
			},
			build: func(t *testing.T, g *G.ExprGraph, n []*G.Node) *G.Node {
				return mustNode(t)(Linear(n[0], n[1], n[2], false))
			},
		})
	}
	// Linear with data input: only W and b are differentiated.
	cases = append(cases, gradCase{
		name: "Linear/NoInputGrad/5x4->3",
		inputs: func(rng *rand.Rand) []input {
			return []input{
				{"x", []int{5, 4}, randNormal(rng, 20, 0, 1), false},
				{"W", []int{4, 3}, randNormal(rng, 12, 0, 0.5), true},
				{"b", []int{1, 3}, randNormal(rng, 3, 0, 1), true},
			}
		},
		build: func(t *testing.T, g *G.ExprGraph, n []*G.Node) *G.Node {
			return mustNode(t)(Linear(n[0], n[1], n[2], true))
		},
	})

	// BatchNorm, training and eval mode, 2-D and 4-D.
	for _, shape := range [][]int{{8, 6}, {4, 3, 3, 3}} {
		c := shape[1]
		bnInputs := func(rng *rand.Rand) []input {
			return []input{
				{"x", shape, channelData(rng, shape), true},
				{"gamma", []int{1, c}, randScale(rng, c), true},
				{"beta", []int{1, c}, randNormal(rng, c, 0, 0.5), true},
			}
		}
		cases = append(cases, gradCase{
			name:   "BatchNorm/train/" + shapeName(shape),
			inputs: bnInputs,
			build: func(t *testing.T, g *G.ExprGraph, n []*G.Node) *G.Node {
				return mustNode(t)(BatchNorm(n[0], n[1], n[2], NewBNState(c, 0.1, 1e-5)))
			},
		})
		var st *BNState
		var runMean, runVar []float32
		cases = append(cases, gradCase{
			name:   "BatchNorm/eval/" + shapeName(shape),
			eval:   true,
			inputs: bnInputs,
			build: func(t *testing.T, g *G.ExprGraph, n []*G.Node) *G.Node {
				st = warmBNState(t, rand.New(rand.NewPCG(uint64(c), 3)), shape)
				runMean, runVar = slices.Clone(st.RunningMean), slices.Clone(st.RunningVar)
				return mustNode(t)(BatchNorm(n[0], n[1], n[2], st))
			},
			after: func(t *testing.T) {
				if st.Training || !slices.Equal(st.RunningMean, runMean) || !slices.Equal(st.RunningVar, runVar) {
					t.Errorf("eval-mode runs changed the state: training %v, running mean %v → %v, var %v → %v",
						st.Training, runMean, st.RunningMean, runVar, st.RunningVar)
				}
			},
		})
	}

	// LayerNorm, 2-D and 4-D; γ/β are per feature, (1, D).
	for _, shape := range [][]int{{6, 5}, {3, 2, 3, 3}} {
		d := prod(shape[1:])
		cases = append(cases, gradCase{
			name: "LayerNorm/" + shapeName(shape),
			inputs: func(rng *rand.Rand) []input {
				x := make([]float32, 0, prod(shape))
				for range shape[0] { // each example its own mean and spread
					x = append(x, randNormal(rng, d, 2*rng.NormFloat64(), 0.5+2*rng.Float64())...)
				}
				return []input{
					{"x", shape, x, true},
					{"gamma", []int{1, d}, randScale(rng, d), true},
					{"beta", []int{1, d}, randNormal(rng, d, 0, 0.5), true},
				}
			},
			build: func(t *testing.T, g *G.ExprGraph, n []*G.Node) *G.Node {
				return mustNode(t)(LayerNorm(n[0], n[1], n[2], 1e-5))
			},
		})
	}

	// GroupNorm, 2-D and 4-D, with 1 < groups < C (and the two ends); γ/β
	// are per channel, (1, C). Inputs: each example its own mean and spread,
	// each channel its own too (channelData).
	for _, gc := range []struct {
		shape  []int
		groups int
	}{{[]int{5, 12}, 3}, {[]int{3, 4, 3, 3}, 2}, {[]int{3, 4, 2, 3}, 1}, {[]int{2, 3, 3, 2}, 3}} {
		shape, groups, c := gc.shape, gc.groups, gc.shape[1]
		cases = append(cases, gradCase{
			name: fmt.Sprintf("GroupNorm/G%d/%s", groups, shapeName(shape)),
			inputs: func(rng *rand.Rand) []input {
				x := channelData(rng, shape)
				d := prod(shape[1:])
				for i := range shape[0] {
					shift, scale := float32(2*rng.NormFloat64()), float32(0.5+rng.Float64())
					for j := range d {
						x[i*d+j] = x[i*d+j]*scale + shift
					}
				}
				return []input{
					{"x", shape, x, true},
					{"gamma", []int{1, c}, randScale(rng, c), true},
					{"beta", []int{1, c}, randNormal(rng, c, 0, 0.5), true},
				}
			},
			build: func(t *testing.T, g *G.ExprGraph, n []*G.Node) *G.Node {
				return mustNode(t)(GroupNorm(n[0], n[1], n[2], groups, 1e-5))
			},
		})
	}

	// RMSNorm, 2-D and 4-D; γ is per feature, (1, D); inputs off-centre,
	// so that missing re-centring matters.
	for _, shape := range [][]int{{6, 5}, {3, 2, 3, 3}} {
		d := prod(shape[1:])
		cases = append(cases, gradCase{
			name: "RMSNorm/" + shapeName(shape),
			inputs: func(rng *rand.Rand) []input {
				x := make([]float32, 0, prod(shape))
				for range shape[0] {
					x = append(x, randNormal(rng, d, rng.NormFloat64(), 0.5+2*rng.Float64())...)
				}
				return []input{
					{"x", shape, x, true},
					{"gamma", []int{1, d}, randScale(rng, d), true},
				}
			},
			build: func(t *testing.T, g *G.ExprGraph, n []*G.Node) *G.Node {
				return mustNode(t)(RMSNorm(n[0], n[1], 1e-5))
			},
		})
	}

	// Activations, 2-D and 4-D (element-wise: the shape only tests plumbing).
	for _, a := range []kernels.Act{kernels.ReLU, kernels.GELU, kernels.Sigmoid, kernels.Tanh} {
		for _, shape := range [][]int{{6, 5}, {2, 2, 3, 3}} {
			cases = append(cases, gradCase{
				name: fmt.Sprintf("Act/%v/%s", a, shapeName(shape)),
				inputs: func(rng *rand.Rand) []input {
					return []input{{"x", shape, randAway(rng, prod(shape), 2, 0.05), true}}
				},
				build: func(t *testing.T, g *G.ExprGraph, n []*G.Node) *G.Node {
					return mustNode(t)(Activation(a, n[0]))
				},
			})
		}
	}

	// Softmax cross-entropy wrt the logits; labels are data.
	for _, shape := range [][]int{{4, 5}, {3, 7}} {
		cases = append(cases, gradCase{
			name: "SoftmaxCrossEntropy/" + shapeName(shape),
			inputs: func(rng *rand.Rand) []input {
				labels := make([]float32, shape[0])
				for i := range labels {
					labels[i] = float32(rng.IntN(shape[1]))
				}
				return []input{
					{"logits", shape, randNormal(rng, prod(shape), 0, 2), true},
					{"labels", shape[:1], labels, false},
				}
			},
			build: func(t *testing.T, g *G.ExprGraph, n []*G.Node) *G.Node {
				return mustNode(t)(SoftmaxCrossEntropy(n[0], n[1]))
			},
		})
	}

	// Conv3x3: x (N, C, H, W), W (K, C·9), b (1, K); H ≠ W catches swaps.
	for _, noInputGrad := range []bool{false, true} {
		name := "Conv3x3/2x2x4x5->3"
		if noInputGrad {
			name = "Conv3x3/NoInputGrad/2x2x4x5->3"
		}
		cases = append(cases, gradCase{
			name: name,
			inputs: func(rng *rand.Rand) []input {
				return []input{
					{"x", []int{2, 2, 4, 5}, randNormal(rng, 80, 0, 1), !noInputGrad},
					{"W", []int{3, 18}, randNormal(rng, 54, 0, 0.3), true},
					{"b", []int{1, 3}, randNormal(rng, 3, 0, 1), true},
				}
			},
			build: func(t *testing.T, g *G.ExprGraph, n []*G.Node) *G.Node {
				return mustNode(t)(Conv3x3(n[0], n[1], n[2], noInputGrad))
			},
		})
	}

	// MaxPool2 on odd H (the last row is dropped): inputs are distinct
	// values 0.1 apart, so ±2h never changes which one is the maximum.
	cases = append(cases, gradCase{
		name: "MaxPool2/2x2x5x4",
		inputs: func(rng *rand.Rand) []input {
			x := make([]float32, 80)
			for i, p := range rng.Perm(len(x)) {
				x[i] = 0.1*float32(p) - 4
			}
			return []input{{"x", []int{2, 2, 5, 4}, x, true}}
		},
		build: func(t *testing.T, g *G.ExprGraph, n []*G.Node) *G.Node {
			return mustNode(t)(MaxPool2(n[0]))
		},
	})

	// A whole network: gradients flow through every op into every
	// parameter, and the output of the first block feeds two ops, so Grad
	// must add their gradients (the element-wise + it inserts). Its loss is
	// Σ y·R of the summed logits, not a cross-entropy: a float32 scalar
	// loss would limit the finite differences to ~1e-3.
	cases = append(cases, gradCase{
		name: "Network/Linear-BatchNorm-GELU-Linear-LayerNorm-Tanh-Linear+skip",
		// BatchNorm over 6 examples bends the loss sharply along W1: a
		// smaller step, and float32 rounding through seven ops then needs
		// a looser tolerance.
		step: 5e-3,
		tol:  2e-3,
		inputs: func(rng *rand.Rand) []input {
			return []input{
				{"x", []int{6, 4}, randNormal(rng, 24, 0, 1), false},
				{"W1", []int{4, 5}, randNormal(rng, 20, 0, 0.5), true},
				{"b1", []int{1, 5}, randNormal(rng, 5, 0, 0.5), false}, // BatchNorm cancels it: gradient 0
				{"g1", []int{1, 5}, randScale(rng, 5), true},
				{"be1", []int{1, 5}, randNormal(rng, 5, 0, 0.5), true},
				{"W2", []int{5, 4}, randNormal(rng, 20, 0, 0.5), true},
				{"b2", []int{1, 4}, randNormal(rng, 4, 0, 0.5), true},
				{"g2", []int{1, 4}, randScale(rng, 4), true},
				{"be2", []int{1, 4}, randNormal(rng, 4, 0, 0.5), true},
				{"W3", []int{4, 3}, randNormal(rng, 12, 0, 0.5), true},
				{"W3skip", []int{5, 3}, randNormal(rng, 15, 0, 0.5), true},
				{"b3", []int{1, 3}, randNormal(rng, 3, 0, 0.5), true},
			}
		},
		build: func(t *testing.T, g *G.ExprGraph, n []*G.Node) *G.Node {
			must := mustNode(t)
			h1 := must(Linear(n[0], n[1], n[2], true))
			a1 := must(Activation(kernels.GELU, must(BatchNorm(h1, n[3], n[4], NewBNState(5, 0.1, 1e-5)))))
			h2 := must(Linear(a1, n[5], n[6], false))
			a2 := must(Activation(kernels.Tanh, must(LayerNorm(h2, n[7], n[8], 1e-5))))
			logits := must(Linear(a2, n[9], n[11], false))
			skip := must(Linear(a1, n[10], n[11], false)) // a1 and b3 feed two ops
			return must(G.Add(logits, skip))
		},
	})

	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) { checkGrads(t, c, uint64(i)+1) })
	}
}

func shapeName(s []int) string {
	out := ""
	for i, d := range s {
		if i > 0 {
			out += "x"
		}
		out += fmt.Sprint(d)
	}
	return out
}

// TestGradAddsOnlySeedAndAdd checks the property DESIGN.md's GPU executor
// relies on: differentiating a graph of normtap ops adds only normtap ops,
// the constant seed gradient and element-wise additions where a value feeds
// several ops.
func TestGradAddsOnlySeedAndAdd(t *testing.T) {
	must := mustNode(t)
	rng := rand.New(rand.NewPCG(7, 1))
	g := G.NewGraph()
	x := tensorNode(g, "x", []int{4, 3}, randNormal(rng, 12, 0, 1))
	labels := tensorNode(g, "labels", []int{4}, []float32{0, 1, 2, 3})
	w1 := tensorNode(g, "W1", []int{3, 5}, randNormal(rng, 15, 0, 1))
	b1 := tensorNode(g, "b1", []int{1, 5}, make([]float32, 5))
	g1 := tensorNode(g, "g1", []int{1, 5}, randScale(rng, 5))
	be1 := tensorNode(g, "be1", []int{1, 5}, make([]float32, 5))
	w2 := tensorNode(g, "W2", []int{5, 5}, randNormal(rng, 25, 0, 1))
	b2 := tensorNode(g, "b2", []int{1, 5}, make([]float32, 5))
	g2 := tensorNode(g, "g2", []int{1, 5}, randScale(rng, 5))
	be2 := tensorNode(g, "be2", []int{1, 5}, make([]float32, 5))
	w3 := tensorNode(g, "W3", []int{5, 4}, randNormal(rng, 20, 0, 1))
	b3 := tensorNode(g, "b3", []int{1, 4}, make([]float32, 4))

	h := must(Activation(kernels.ReLU, must(BatchNorm(must(Linear(x, w1, b1, true)), g1, be1, NewBNState(5, 0.1, 1e-5)))))
	// W2 and b2 are tied: used by two Linear ops, so Grad adds their
	// gradients.
	h2 := must(Activation(kernels.Sigmoid, must(LayerNorm(must(Linear(h, w2, b2, false)), g2, be2, 1e-5))))
	h3 := must(Activation(kernels.Tanh, must(Linear(h2, w2, b2, false))))
	loss := must(SoftmaxCrossEntropy(must(Linear(h3, w3, b3, false)), labels))
	if _, err := G.Grad(loss, w1, b1, g1, be1, w2, b2, g2, be2, w3, b3); err != nil {
		t.Fatal(err)
	}
	sorted, err := G.Sort(g)
	if err != nil {
		t.Fatal(err)
	}
	var kernels, adds int
	for _, n := range sorted {
		switch op := n.Op().(type) {
		case nil: // an input
		case Kernel:
			kernels++
		default:
			switch op.String() { // gorgonia's names for its seed and its addition
			case "const 1":
				continue
			case "+ false":
				adds++
				continue
			}
			t.Errorf("node %s: op %v (%T) is neither a normtap op, the seed 1, nor +", n.Name(), op, op)
		}
	}
	if kernels < 20 || adds != 2 {
		t.Errorf("found %d normtap ops and %d additions, want ≥ 20 and 2 (for tied W2 and b2)", kernels, adds)
	}
	m := G.NewTapeMachine(g)
	defer m.Close()
	run(t, m)
	if l := backing(t, loss)[0]; !(l > 0) || math.IsInf(float64(l), 0) {
		t.Errorf("loss %v, want a positive finite value", l)
	}
}
