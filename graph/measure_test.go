package graph

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	G "gorgonia.org/gorgonia"

	"normtap/kernels"
	"normtap/layers"
)

// linearModel builds a deep linear network — no norm, identity activations
// — of widths in → hidden… → classes: the network whose gradients a test
// can compute by hand. (The CLI offers no identity activation; the test
// builds the graph with the builder directly.)
func linearModel(t *testing.T, in int, hidden []int, classes, batch int) *Model {
	t.Helper()
	s := DefaultSpec()
	s.Norm, s.Hidden, s.InChannels, s.InRows, s.InCols, s.Classes = NormNone, hidden, 1, 1, in, classes
	m := &Model{Spec: s, Batch: batch, G: G.NewGraph()}
	b := builder{m: m, act: kernels.Identity}
	if err := b.mlp(); err != nil {
		t.Fatal(err)
	}
	if err := m.addLoss(); err != nil {
		t.Fatal(err)
	}
	return m
}

// linearNet is a deep linear network in float64: W[k] (in×out) and b[k]
// (out) per layer, row-major.
type linearNet struct {
	dims []int
	W, b [][]float64
}

func netOf(m *Model) *linearNet {
	n := &linearNet{}
	for i := 0; i < len(m.Params); i += 2 { // W, b per layer
		w, b := m.Params[i], m.Params[i+1]
		if len(n.dims) == 0 {
			n.dims = append(n.dims, w.Shape[0])
		}
		n.dims = append(n.dims, w.Shape[1])
		n.W = append(n.W, f64(w.Value))
		n.b = append(n.b, f64(b.Value))
	}
	return n
}

func f64(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

// lossGrad returns the mean softmax cross-entropy on (x, y) and its
// gradients dW, db, by the chain rule written out.
func (n *linearNet) lossGrad(x []float64, y []int) (float64, [][]float64, [][]float64) {
	rows, layersN := len(y), len(n.W)
	acts := [][]float64{x}
	for k := 0; k < layersN; k++ {
		in, out := n.dims[k], n.dims[k+1]
		h := make([]float64, rows*out)
		for r := 0; r < rows; r++ {
			for j := 0; j < out; j++ {
				s := n.b[k][j]
				for i := 0; i < in; i++ {
					s += acts[k][r*in+i] * n.W[k][i*out+j]
				}
				h[r*out+j] = s
			}
		}
		acts = append(acts, h)
	}
	classes := n.dims[layersN]
	z := acts[layersN]
	dz := make([]float64, len(z))
	var loss float64
	for r := 0; r < rows; r++ {
		row := z[r*classes : (r+1)*classes]
		top := slices.Max(row)
		var sum float64
		for _, v := range row {
			sum += math.Exp(v - top)
		}
		for j, v := range row {
			p := math.Exp(v-top) / sum
			if j == y[r] {
				loss -= math.Log(p)
				p--
			}
			dz[r*classes+j] = p / float64(rows)
		}
	}
	loss /= float64(rows)
	dW, db := make([][]float64, layersN), make([][]float64, layersN)
	d := dz
	for k := layersN - 1; k >= 0; k-- {
		in, out := n.dims[k], n.dims[k+1]
		dW[k], db[k] = make([]float64, in*out), make([]float64, out)
		dIn := make([]float64, rows*in)
		for r := 0; r < rows; r++ {
			for j := 0; j < out; j++ {
				g := d[r*out+j]
				db[k][j] += g
				for i := 0; i < in; i++ {
					dW[k][i*out+j] += acts[k][r*in+i] * g
					dIn[r*in+i] += g * n.W[k][i*out+j]
				}
			}
		}
		d = dIn
	}
	return loss, dW, db
}

// momentumStep is PyTorch's SGD with momentum on float64 copies: v ← μv+g,
// w ← w − lr·v.
func momentumStep(w, v, g []float64, lr, mu float64) []float64 {
	out := make([]float64, len(w))
	for i := range w {
		out[i] = w[i] - lr*(mu*v[i]+g[i])
	}
	return out
}

// expectNear fails unless |got−want| ≤ tol·max|want| everywhere.
func expectNear(t *testing.T, what string, got []float32, want []float64, tol float64) {
	t.Helper()
	scale := 0.0
	for _, w := range want {
		scale = math.Max(scale, math.Abs(w))
	}
	if scale == 0 {
		t.Fatalf("%s: the hand value is all zeros: the check would prove nothing", what)
	}
	for i, w := range want {
		if d := math.Abs(float64(got[i]) - w); d > tol*scale {
			t.Fatalf("%s[%d] = %.7g, by hand %.7g (|diff| %.2g > %.0e·%.3g)", what, i, got[i], w, d, tol, scale)
		}
	}
}

// TestShiftedGradsMatchHandComputation: on a 3-layer linear network with
// momentum (non-zero velocity), G and G′ of every layer, and the landscape's
// losses and gradient differences, equal the float64 chain rule.
func TestShiftedGradsMatchHandComputation(t *testing.T) {
	const batch, lr, mu = 6, 0.3, 0.9
	m := linearModel(t, 5, []int{4, 3}, 3, batch)
	rng := rand.New(rand.NewPCG(3, 3))
	for _, p := range m.Params {
		for i := range p.Value {
			p.Value[i] = float32(rng.NormFloat64() * 0.7)
		}
	}
	cm, err := NewCPUMachine(m, OptSpec{Kind: OptMomentum, LR: lr, Momentum: mu})
	if err != nil {
		t.Fatal(err)
	}
	_, st := cm.Opt()
	for _, v := range st.Slots {
		for i := range v {
			v[i] = float32(rng.NormFloat64() * 0.2)
		}
	}
	x, y := randomBatch(m, rng)
	labels := make([]int, batch)
	for i, v := range y {
		labels[i] = int(v)
	}
	names, g, gShifted, err := ShiftedGrads(cm, x, y)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(names) != "[h1.W h2.W out.W]" {
		t.Fatalf("layers %v", names)
	}

	net := netOf(m)
	_, dW, db := net.lossGrad(f64(x), labels)
	// the step-t update of every layer, by hand
	upW, upB := make([][]float64, 3), make([][]float64, 3)
	for k := range upW {
		upW[k] = momentumStep(net.W[k], f64(st.Slots[2*k]), dW[k], lr, mu)
		upB[k] = momentumStep(net.b[k], f64(st.Slots[2*k+1]), db[k], lr, mu)
	}
	for k := range names {
		expectNear(t, "G "+names[k], g[k], dW[k], 1e-5)
		shifted := &linearNet{dims: net.dims}
		for j := range net.W {
			if j < k {
				shifted.W, shifted.b = append(shifted.W, upW[j]), append(shifted.b, upB[j])
			} else {
				shifted.W, shifted.b = append(shifted.W, net.W[j]), append(shifted.b, net.b[j])
			}
		}
		_, dWs, _ := shifted.lossGrad(f64(x), labels)
		expectNear(t, "G′ "+names[k], gShifted[k], dWs[k], 1e-5)
		if k > 0 && diffNorm(g[k], gShifted[k]) < 1e-3*norm(g[k]) {
			t.Errorf("%s: G′ = G: the earlier layers' update changed nothing, the check proves little", names[k])
		}
	}

	// the landscape along g: L(w−ηg) and ‖g − ∇L(w−ηg)‖ by hand
	etas := []float64{0, 0.25, 1.5}
	res, err := Measure(cm, x, y, MeasureSpec{Etas: etas})
	if err != nil {
		t.Fatal(err)
	}
	ls := res.Landscape
	for e, eta := range etas {
		moved := &linearNet{dims: net.dims}
		var sq float64
		for k := range net.W {
			w, b := slices.Clone(net.W[k]), slices.Clone(net.b[k])
			for i := range w {
				w[i] -= eta * dW[k][i]
			}
			for i := range b {
				b[i] -= eta * db[k][i]
			}
			moved.W, moved.b = append(moved.W, w), append(moved.b, b)
		}
		loss, dWe, dbe := moved.lossGrad(f64(x), labels)
		for k := range dWe {
			for i := range dWe[k] {
				sq += (dW[k][i] - dWe[k][i]) * (dW[k][i] - dWe[k][i])
			}
			for i := range dbe[k] {
				sq += (db[k][i] - dbe[k][i]) * (db[k][i] - dbe[k][i])
			}
		}
		if d := math.Abs(ls.Losses[e] - loss); d > 1e-5*math.Max(1, loss) {
			t.Errorf("η=%g: L(w−ηg) = %.7g, by hand %.7g", eta, ls.Losses[e], loss)
		}
		if d := math.Abs(ls.GradDiffs[e] - math.Sqrt(sq)); d > 1e-4*ls.GradL2 {
			t.Errorf("η=%g: ‖g−∇L(w−ηg)‖ = %.7g, by hand %.7g", eta, ls.GradDiffs[e], math.Sqrt(sq))
		}
	}
	if ls.GradDiffs[0] != 0 || ls.Losses[0] != ls.Loss {
		t.Errorf("η=0 moved nothing but gave loss %v (at w %v) and gradient difference %v", ls.Losses[0], ls.Loss, ls.GradDiffs[0])
	}
	if ls.GradPred != max(ls.GradDiffs[1], ls.GradDiffs[2]) || ls.LossMin != slices.Min(ls.Losses) || ls.LossMax != slices.Max(ls.Losses) {
		t.Errorf("summary %+v does not match its rows", ls)
	}
	wantBeta := max(ls.GradDiffs[1]/(0.25*ls.GradL2), ls.GradDiffs[2]/(1.5*ls.GradL2))
	if math.Abs(ls.BetaSmooth-wantBeta) > 1e-12*wantBeta {
		t.Errorf("β-smoothness %v, want %v", ls.BetaSmooth, wantBeta)
	}
}

// noisyBN is a tiny spec with BatchNorm and its noise.
func noisyBN(model ModelKind) Spec {
	s := tinySpec(model, NormBatch)
	s.NormNoise, s.NoiseA, s.NoiseB = true, layers.DefaultNoiseA, layers.DefaultNoiseB
	return s
}

// TestICSIsZeroAtZeroLearningRate: with lr 0 no layer moves, so G′ = G bit
// for bit — also with BatchNorm and its noise, whose running statistics and
// draws each pass must rewind.
func TestICSIsZeroAtZeroLearningRate(t *testing.T) {
	for _, opt := range []OptSpec{{Kind: OptSGD}, {Kind: OptAdam, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}} {
		for _, model := range []ModelKind{ModelMLP, ModelCNN} {
			m, err := Build(noisyBN(model), 6)
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(11, 1))
			m.Init(rng)
			cm, err := NewCPUMachine(m, opt)
			if err != nil {
				t.Fatal(err)
			}
			x, y := randomBatch(m, rng)
			res, err := Measure(cm, x, y, MeasureSpec{ICS: true})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.ICS) != len(m.Spec.Hidden)+1 {
				t.Fatalf("%s: %d layers measured", model, len(res.ICS))
			}
			for _, l := range res.ICS {
				if l.L2 != 0 || l.Cos != 1 || !(l.GradL2 > 0) {
					t.Errorf("%s/%s %s: ‖G−G′‖ %v, cos %v, ‖G‖ %v at lr 0", opt.Kind, model, l.Layer, l.L2, l.Cos, l.GradL2)
				}
			}
		}
	}
}

// TestICSCosineInRange: at learning rates from small to absurd, cos(G, G′)
// stays in [−1, 1] and ‖G−G′‖ grows from 0.
func TestICSCosineInRange(t *testing.T) {
	for _, lr := range []float64{1e-3, 0.5, 50} {
		m, err := Build(tinySpec(ModelMLP, NormNone), 8)
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(5, 5))
		m.Init(rng)
		cm, _ := NewCPUMachine(m, OptSpec{Kind: OptSGD, LR: lr})
		x, y := randomBatch(m, rng)
		res, err := Measure(cm, x, y, MeasureSpec{ICS: true})
		if err != nil {
			t.Fatal(err)
		}
		for i, l := range res.ICS {
			if !(l.Cos >= -1 && l.Cos <= 1) || !(l.L2 >= 0) {
				t.Errorf("lr %g %s: cos %v, ‖G−G′‖ %v", lr, l.Layer, l.Cos, l.L2)
			}
			if i > 0 && l.L2 == 0 {
				t.Errorf("lr %g %s: no shift after the earlier layers moved", lr, l.Layer)
			}
		}
	}
}

// TestPeekUpdateIsTheUpdate: for each optimizer, PeekUpdate gives the
// parameters Update then makes, bit for bit, and changes nothing itself.
func TestPeekUpdateIsTheUpdate(t *testing.T) {
	for _, opt := range []OptSpec{{Kind: OptSGD, LR: 0.1}, {Kind: OptMomentum, LR: 0.1, Momentum: 0.9},
		{Kind: OptAdam, LR: 0.01, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}} {
		m, _ := Build(tinySpec(ModelMLP, NormBatch), 5)
		rng := rand.New(rand.NewPCG(9, 9))
		m.Init(rng)
		cm, _ := NewCPUMachine(m, opt)
		for step := 0; step < 3; step++ {
			x, y := randomBatch(m, rng)
			if _, _, err := cm.Backward(x, y); err != nil {
				t.Fatal(err)
			}
			before := snapshotOf(cm)
			peeked := make([][]float32, len(m.Params))
			for i, p := range m.Params {
				peeked[i] = make([]float32, len(p.Value))
				if err := cm.PeekUpdate(i, peeked[i]); err != nil {
					t.Fatal(err)
				}
			}
			if err := sameState(before, snapshotOf(cm)); err != nil {
				t.Fatalf("%s: PeekUpdate changed the state: %v", opt.Kind, err)
			}
			if err := cm.Update(); err != nil {
				t.Fatal(err)
			}
			for i, p := range m.Params {
				if !slices.Equal(peeked[i], p.Value) {
					t.Fatalf("%s step %d: PeekUpdate of %s differs from Update", opt.Kind, step, p.Name)
				}
			}
		}
	}
}

// state is everything training carries from one step to the next.
type state struct {
	params, bn, slots [][]float32
	step              int64
	draws             []uint64
}

func snapshotOf(cm *CPUMachine) state {
	var s state
	for _, p := range cm.m.Params {
		s.params = append(s.params, slices.Clone(p.Value))
	}
	for _, l := range cm.m.BN {
		s.bn = append(s.bn, slices.Clone(l.State.RunningMean), slices.Clone(l.State.RunningVar))
	}
	for _, v := range cm.state.Slots {
		s.slots = append(s.slots, slices.Clone(v))
	}
	for _, l := range cm.m.Noise {
		s.draws = append(s.draws, l.State.Draws)
	}
	s.step = cm.state.Step
	return s
}

func sameState(a, b state) error {
	eq := func(what string, x, y [][]float32) error {
		for i := range x {
			for j := range x[i] {
				if math.Float32bits(x[i][j]) != math.Float32bits(y[i][j]) {
					return fmt.Errorf("%s %d[%d]: %v vs %v", what, i, j, x[i][j], y[i][j])
				}
			}
		}
		return nil
	}
	if err := eq("parameter", a.params, b.params); err != nil {
		return err
	}
	if err := eq("running statistic", a.bn, b.bn); err != nil {
		return err
	}
	if err := eq("optimizer slot", a.slots, b.slots); err != nil {
		return err
	}
	if a.step != b.step || !slices.Equal(a.draws, b.draws) {
		return fmt.Errorf("step %d vs %d, noise draws %v vs %v", a.step, b.step, a.draws, b.draws)
	}
	return nil
}

// TestMeasureNeverChangesTraining runs the same training twice, measuring
// ICS and the landscape before every step of one run: losses, parameters,
// optimizer state, step count, BatchNorm running statistics and noise
// draws stay bit for bit those of the run without measurement.
func TestMeasureNeverChangesTraining(t *testing.T) {
	cases := []struct {
		spec Spec
		opt  OptSpec
	}{
		{noisyBN(ModelMLP), OptSpec{Kind: OptAdam, LR: 0.01, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}},
		{tinySpec(ModelCNN, NormBatch), OptSpec{Kind: OptMomentum, LR: 0.05, Momentum: 0.9}},
		{tinySpec(ModelMLP, NormLayer), OptSpec{Kind: OptSGD, LR: 0.1}},
	}
	for _, c := range cases {
		name := fmt.Sprintf("%s/%s/noise=%v/%s", c.spec.Model, c.spec.Norm, c.spec.NormNoise, c.opt.Kind)
		t.Run(name, func(t *testing.T) {
			var machines [2]*CPUMachine
			for i := range machines {
				m, err := Build(c.spec, 6)
				if err != nil {
					t.Fatal(err)
				}
				m.Init(rand.New(rand.NewPCG(21, 1)))
				if machines[i], err = NewCPUMachine(m, c.opt); err != nil {
					t.Fatal(err)
				}
			}
			plain, measured := machines[0], machines[1]
			rng := rand.New(rand.NewPCG(4, 4))
			for step := 1; step <= 4; step++ {
				x, y := randomBatch(plain.m, rng)
				res, err := Measure(measured, x, y, MeasureSpec{ICS: true, Etas: []float64{0.5 * c.opt.LR, 4 * c.opt.LR}})
				if err != nil {
					t.Fatal(err)
				}
				if res.Landscape.GradPred == 0 || res.ICS[1].L2 == 0 {
					t.Fatalf("step %d: measured nothing: %+v", step, res)
				}
				l1, r1, err := plain.Step(x, y)
				if err != nil {
					t.Fatal(err)
				}
				l2, r2, err := measured.Step(x, y)
				if err != nil {
					t.Fatal(err)
				}
				if math.Float32bits(l1) != math.Float32bits(l2) || r1 != r2 || res.Loss != l1 {
					t.Fatalf("step %d: loss %v/%d without measuring, %v/%d with (measured L(w) %v)", step, l1, r1, l2, r2, res.Loss)
				}
				if err := sameState(snapshotOf(plain), snapshotOf(measured)); err != nil {
					t.Fatalf("step %d: %v", step, err)
				}
				if !slices.Equal(plain.m.LossOp.Probs(), measured.m.LossOp.Probs()) {
					t.Fatalf("step %d: softmax differs", step)
				}
			}
		})
	}
}

// TestLandscapeAtZeroStep: η = 0 does not move w, so the loss band is the
// loss and the gradient predictiveness and β-smoothness are 0.
func TestLandscapeAtZeroStep(t *testing.T) {
	m, _ := Build(noisyBN(ModelMLP), 6)
	rng := rand.New(rand.NewPCG(2, 2))
	m.Init(rng)
	cm, _ := NewCPUMachine(m, OptSpec{Kind: OptSGD, LR: 0})
	x, y := randomBatch(m, rng)
	res, err := Measure(cm, x, y, MeasureSpec{Etas: []float64{0, 0}})
	if err != nil {
		t.Fatal(err)
	}
	ls := res.Landscape
	if ls.GradPred != 0 || ls.BetaSmooth != 0 || ls.LossMin != ls.Loss || ls.LossMax != ls.Loss || !(ls.GradL2 > 0) {
		t.Fatalf("η = 0: %+v", ls)
	}
}

// BenchmarkMeasure times, on the BatchNorm paper's MNIST network
// (784-100-100-100-10, sigmoid, batch 60, SGD), what --norm-noise, one
// --ics-every measurement and one --landscape-every measurement (8 step
// sizes) cost: each iteration runs a plain training step and the thing
// measured, back to back, so that both see the same load on a shared
// machine; x-step is the thing's time over the plain step's. MEASURE.md
// quotes it.
func BenchmarkMeasure(b *testing.B) {
	newMachine := func(b *testing.B, norm Norm, noise bool) (*CPUMachine, []float32, []float32) {
		s := DefaultSpec()
		s.Hidden, s.Norm, s.Act, s.InitStd = []int{100, 100, 100}, norm, "sigmoid", 0.01
		if noise {
			s.NormNoise, s.NoiseA, s.NoiseB = true, layers.DefaultNoiseA, layers.DefaultNoiseB
		}
		m, err := Build(s, 60)
		if err != nil {
			b.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(1, 1))
		m.Init(rng)
		cm, err := NewCPUMachine(m, OptSpec{Kind: OptSGD, LR: 0.5})
		if err != nil {
			b.Fatal(err)
		}
		x, y := randomBatch(m, rng)
		return cm, x, y
	}
	for _, norm := range []Norm{NormNone, NormBatch} {
		for _, what := range []string{"noise-step", "ics", "landscape8"} {
			if what == "noise-step" && norm != NormBatch {
				continue
			}
			b.Run(fmt.Sprintf("784-100x3-10/%s/%s", norm, what), func(b *testing.B) {
				plain, x, y := newMachine(b, norm, false)
				other, _, _ := newMachine(b, norm, what == "noise-step")
				spec := MeasureSpec{ICS: what == "ics"}
				if what == "landscape8" {
					spec.Etas = []float64{0.25, 0.5, 0.75, 1, 1.25, 1.5, 1.75, 2}
				}
				var stepTime, thingTime time.Duration
				b.ResetTimer()
				for range b.N {
					t0 := time.Now()
					if _, _, err := plain.Step(x, y); err != nil {
						b.Fatal(err)
					}
					t1 := time.Now()
					var err error
					if what == "noise-step" {
						_, _, err = other.Step(x, y)
					} else {
						_, err = Measure(other, x, y, spec)
					}
					if err != nil {
						b.Fatal(err)
					}
					stepTime, thingTime = stepTime+t1.Sub(t0), thingTime+time.Since(t1)
				}
				b.ReportMetric(float64(thingTime)/float64(stepTime), "x-step")
				b.ReportMetric(float64(stepTime.Microseconds())/float64(b.N)/1000, "step-ms")
				b.ReportMetric(float64(thingTime.Microseconds())/float64(b.N)/1000, "ms")
			})
		}
	}
}
