//go:build gpu

package graph

import (
	"fmt"

	G "gorgonia.org/gorgonia"

	"normtap/cuda"
	"normtap/kernels"
	"normtap/layers"
)

// GPUMachine runs a Model's graph on a CUDA device with normtap's own
// kernels: parameters, activations, gradients, optimizer state and
// BatchNorm running statistics stay on the device. Every node gets a device
// buffer once; a step queues each node's kernel on the device's one stream
// and waits only to read the loss and the count of right answers. It runs
// normtap's MLP and CNN ops, gorgonia's constants and the element-wise
// additions Grad inserts, and refuses anything else (the norm-noise op
// among them) with an error naming the op.
type GPUMachine struct {
	m       *Model
	opt     OptSpec
	state   *OptState // host mirror, current after SyncParams
	dev     *cuda.Device
	buf     map[*G.Node]cuda.Buffer
	all     []func() error
	forward []func() error
	params  []cuda.Buffer
	grads   []cuda.Buffer
	slots   []cuda.Buffer // as OptState.Slots
	bn      map[*layers.BNState][2]cuda.Buffer
	stash   map[G.Op]*gpuStash
	// the CNN's forward state: each conv's columns, each pool's maxima
	convCols map[*layers.Conv2dOp]cuda.Buffer
	poolIdx  map[*layers.MaxPool2Op]cuda.Buffer
	x, lab   cuda.Buffer
	probs    cuda.Buffer
	lossBuf  cuda.Buffer
	sums     cuda.Buffer // [Σ loss, correct] of the last batch
	logits   []float32
	peek     [3]cuda.Buffer         // scratch for PeekUpdate
	tapCols  map[string]cuda.Buffer // column lists of taps, uploaded once
	tapOut   cuda.Buffer            // gathered tap columns
}

type gpuStash struct {
	mean, variance, invstd, dgamma, dbeta cuda.Buffer
	train                                 bool
}

// NewGPUMachine opens device 0 and binds a buffer to every node of m's
// graph. The calling goroutine stays locked to its OS thread (the CUDA
// context lives there) until Close.
func NewGPUMachine(m *Model, opt OptSpec) (*GPUMachine, error) {
	if err := opt.Validate(); err != nil {
		return nil, err
	}
	dev, err := cuda.Open(0)
	if err != nil {
		return nil, err
	}
	gm := &GPUMachine{m: m, opt: opt, dev: dev, buf: map[*G.Node]cuda.Buffer{},
		bn: map[*layers.BNState][2]cuda.Buffer{}, stash: map[G.Op]*gpuStash{},
		convCols: map[*layers.Conv2dOp]cuda.Buffer{}, poolIdx: map[*layers.MaxPool2Op]cuda.Buffer{}}
	if err := gm.build(); err != nil {
		dev.Close()
		return nil, err
	}
	return gm, nil
}

func (gm *GPUMachine) alloc(n int) cuda.Buffer {
	b, err := gm.dev.Alloc(max(n, 1))
	if err != nil {
		panic(gpuError{err})
	}
	return b
}

// gpuError carries an allocation failure out of build's helpers.
type gpuError struct{ err error }

func (gm *GPUMachine) build() (err error) {
	defer func() {
		if r := recover(); r != nil {
			ge, ok := r.(gpuError)
			if !ok {
				panic(r)
			}
			err = ge.err
		}
	}()
	m := gm.m
	sorted, err := G.Sort(m.G)
	if err != nil {
		return fmt.Errorf("sort graph: %w", err)
	}
	sizes := make([]int, len(m.Params))
	for i, p := range m.Params {
		b := gm.alloc(len(p.Value))
		gm.buf[p.Node] = b
		gm.params = append(gm.params, b)
		sizes[i] = len(p.Value)
	}
	gm.state = gm.opt.NewOptState(sizes)
	for _, s := range gm.state.Slots {
		gm.slots = append(gm.slots, gm.alloc(len(s)))
	}
	for _, l := range m.BN {
		gm.bn[l.State] = [2]cuda.Buffer{gm.alloc(len(l.State.RunningMean)), gm.alloc(len(l.State.RunningVar))}
	}
	gm.x = gm.alloc(m.Batch * m.Spec.InFeatures())
	gm.lab = gm.alloc(m.Batch)
	gm.buf[m.X], gm.buf[m.Labels] = gm.x, gm.lab
	gm.lossBuf, gm.sums = gm.alloc(1), gm.alloc(2)
	gm.probs = gm.alloc(m.Batch * m.Spec.Classes)
	gm.logits = make([]float32, m.Batch*m.Spec.Classes)
	maxParam := 0
	for _, p := range m.Params {
		maxParam = max(maxParam, len(p.Value))
	}
	for i := range gm.peek {
		gm.peek[i] = gm.alloc(maxParam)
	}
	needed := ancestors(m.Logits)
	for i := len(sorted) - 1; i >= 0; i-- {
		n := sorted[i]
		if _, ok := gm.buf[n]; ok {
			continue
		}
		exec, err := gm.bind(n)
		if err != nil {
			return err
		}
		if exec == nil {
			continue
		}
		gm.all = append(gm.all, exec)
		if needed[n] {
			gm.forward = append(gm.forward, exec)
		}
	}
	for _, p := range m.Params {
		g, ok := gm.buf[p.Grad]
		if !ok {
			return fmt.Errorf("no gradient buffer for %s", p.Name)
		}
		gm.grads = append(gm.grads, g)
	}
	return gm.LoadParams()
}

func (gm *GPUMachine) stashOf(op G.Op, stats, width int) *gpuStash {
	if s, ok := gm.stash[op]; ok {
		return s
	}
	s := &gpuStash{mean: gm.alloc(stats), variance: gm.alloc(stats), invstd: gm.alloc(stats), dgamma: gm.alloc(width), dbeta: gm.alloc(width)}
	gm.stash[op] = s
	return s
}

// bind allocates n's buffer and returns the launches that compute it.
func (gm *GPUMachine) bind(n *G.Node) (func() error, error) {
	d := gm.dev
	if n.Op() == nil {
		return nil, fmt.Errorf("node %s is an input the machine was not given", n.Name())
	}
	if n.Op().Arity() == 0 {
		v, ok := n.Value().(*G.F32)
		if !ok {
			return nil, fmt.Errorf("constant %s is %T; the machine runs float32 scalars only", n.Name(), n.Value())
		}
		b := gm.alloc(1)
		if err := d.Upload(b, []float32{float32(*v)}); err != nil {
			return nil, err
		}
		gm.buf[n] = b
		return nil, nil
	}
	kids := Children(n)
	in := make([]cuda.Buffer, len(kids))
	for i, c := range kids {
		b, ok := gm.buf[c]
		if !ok {
			return nil, fmt.Errorf("node %s: input %s has no buffer", n.Name(), c.Name())
		}
		in[i] = b
	}
	if op, ok := n.Op().(*layers.ActOp); ok && op.Act == kernels.Identity {
		gm.buf[n] = in[0]
		return nil, nil
	}
	size := 1
	if s := n.Shape(); len(s) > 0 {
		size = s.TotalSize()
	}
	out := gm.alloc(size)
	gm.buf[n] = out
	switch op := n.Op().(type) {
	case *layers.LinearOp:
		return func() error {
			if err := d.Gemm(false, false, op.N, op.Out, op.In, 1, in[0], op.In, in[1], op.Out, 0, out, op.Out); err != nil {
				return err
			}
			return d.BiasAdd(out, in[2], op.N, op.Out)
		}, nil
	case *layers.LinearGradInputOp:
		return func() error {
			return d.Gemm(false, true, op.N, op.In, op.Out, 1, in[0], op.Out, in[1], op.Out, 0, out, op.In)
		}, nil
	case *layers.LinearGradWeightOp:
		return func() error {
			return d.Gemm(true, false, op.In, op.Out, op.N, 1, in[0], op.In, in[1], op.Out, 0, out, op.Out)
		}, nil
	case *layers.Conv2dOp:
		hw, ck := op.H*op.Wd, op.C*9
		cols := gm.alloc(op.N * ck * hw)
		gm.convCols[op] = cols
		return func() error {
			for i := 0; i < op.N; i++ {
				ci := cols.Slice(i*ck*hw, (i+1)*ck*hw)
				if err := d.Im2Col3x3(in[0].Slice(i*op.C*hw, (i+1)*op.C*hw), op.C, op.H, op.Wd, ci); err != nil {
					return err
				}
				if err := d.Gemm(false, false, op.K, hw, ck, 1, in[1], ck, ci, hw, 0, out.Slice(i*op.K*hw, (i+1)*op.K*hw), hw); err != nil {
					return err
				}
			}
			return d.ChannelBiasAdd(out, in[2], op.N, op.K, hw)
		}, nil
	case *layers.Conv2dGradInputOp:
		f := op.Fwd
		hw, ck := f.H*f.Wd, f.C*9
		scratch := gm.alloc(ck * hw)
		return func() error {
			for i := 0; i < f.N; i++ {
				if err := d.Gemm(true, false, ck, hw, f.K, 1, in[1], ck, in[0].Slice(i*f.K*hw, (i+1)*f.K*hw), hw, 0, scratch, hw); err != nil {
					return err
				}
				if err := d.Col2Im3x3(scratch, f.C, f.H, f.Wd, out.Slice(i*f.C*hw, (i+1)*f.C*hw)); err != nil {
					return err
				}
			}
			return nil
		}, nil
	case *layers.Conv2dGradWeightOp:
		f := op.Fwd
		hw, ck := f.H*f.Wd, f.C*9
		cols, ok := gm.convCols[f]
		if !ok {
			return nil, fmt.Errorf("node %s: its convolution has not been bound", n.Name())
		}
		return func() error {
			for i := 0; i < f.N; i++ {
				beta := float32(1)
				if i == 0 {
					beta = 0
				}
				if err := d.Gemm(false, true, f.K, ck, hw, 1, in[1].Slice(i*f.K*hw, (i+1)*f.K*hw), hw, cols.Slice(i*ck*hw, (i+1)*ck*hw), hw, beta, out, ck); err != nil {
					return err
				}
			}
			return nil
		}, nil
	case *layers.ChannelSumOp:
		return func() error { return d.ChannelSum(out, in[0], op.N, op.C, op.S) }, nil
	case *layers.MaxPool2Op:
		idx := gm.alloc(size)
		gm.poolIdx[op] = idx
		return func() error { return d.MaxPool2Forward(in[0], op.N*op.C, op.H, op.W, out, idx) }, nil
	case *layers.MaxPool2GradOp:
		idx, ok := gm.poolIdx[op.Fwd]
		if !ok {
			return nil, fmt.Errorf("node %s: its max-pool has not been bound", n.Name())
		}
		k := Children(n)[1].Shape().TotalSize()
		return func() error { return d.MaxPool2Backward(in[1], idx, k, out) }, nil
	case *layers.ColSumOp:
		return func() error { return d.ColSum(out, in[0], op.Rows, op.Cols) }, nil
	case *layers.BatchNormOp:
		st, sh := op.State, gm.stashOf(op, op.C, op.C)
		run := gm.bn[st]
		return func() error {
			sh.train = st.Training
			if st.Training {
				if err := d.BatchNormTrainForward(in[0], in[1], in[2], op.N, op.C, op.S, st.Eps, out, sh.mean, sh.variance, sh.invstd); err != nil {
					return err
				}
				return d.BatchNormUpdateRunning(run[0], run[1], sh.mean, sh.variance, op.N*op.S, st.Momentum)
			}
			if err := d.Copy(sh.mean, run[0]); err != nil {
				return err
			}
			return d.BatchNormEvalForward(in[0], in[1], in[2], run[0], run[1], op.N, op.C, op.S, st.Eps, out, sh.invstd)
		}, nil
	case *layers.BatchNormGradOp:
		f := op.Fwd
		sh := gm.stashOf(f, f.C, f.C)
		return func() error {
			return d.BatchNormBackward(sh.train, in[0], in[2], in[1], sh.mean, sh.invstd, f.N, f.C, f.S, out, sh.dgamma, sh.dbeta)
		}, nil
	case *layers.LayerNormOp:
		sh := gm.stashOf(op, op.N, op.D)
		return func() error {
			return d.LayerNormForward(in[0], in[1], in[2], op.N, op.D, op.Eps, out, sh.mean, sh.invstd)
		}, nil
	case *layers.LayerNormGradOp:
		f := op.Fwd
		sh := gm.stashOf(f, f.N, f.D)
		return func() error {
			return d.LayerNormBackward(in[0], in[2], in[1], sh.mean, sh.invstd, f.N, f.D, out, sh.dgamma, sh.dbeta)
		}, nil
	case *layers.GroupNormOp:
		sh := gm.stashOf(op, op.N*op.Groups, op.C)
		return func() error {
			return d.GroupNormForward(in[0], in[1], in[2], op.N, op.C, op.S, op.Groups, op.Eps, out, sh.mean, sh.invstd)
		}, nil
	case *layers.GroupNormGradOp:
		f := op.Fwd
		sh := gm.stashOf(f, f.N*f.Groups, f.C)
		return func() error {
			return d.GroupNormBackward(in[0], in[2], in[1], sh.mean, sh.invstd, f.N, f.C, f.S, f.Groups, out, sh.dgamma, sh.dbeta)
		}, nil
	case *layers.RMSNormOp:
		sh := gm.stashOf(op, op.N, op.D)
		return func() error { return d.RMSNormForward(in[0], in[1], op.N, op.D, op.Eps, out, sh.invstd) }, nil
	case *layers.RMSNormGradOp:
		f := op.Fwd
		sh := gm.stashOf(f, f.N, f.D)
		return func() error { return d.RMSNormBackward(in[0], in[2], in[1], sh.invstd, f.N, f.D, out, sh.dgamma) }, nil
	case *layers.NormParamGradOp:
		sh, ok := gm.stash[op.Fwd]
		if !ok {
			return nil, fmt.Errorf("node %s: its norm's backward has not been bound", n.Name())
		}
		src := sh.dgamma
		if op.Beta {
			src = sh.dbeta
		}
		return func() error { return d.Copy(out, src) }, nil
	case *layers.ActOp:
		return func() error { return d.ActForward(op.Act, in[0], out) }, nil
	case *layers.ActGradOp:
		return func() error { return d.ActBackward(op.Act, in[0], in[1], in[2], out) }, nil
	case *layers.SoftmaxCrossEntropyOp:
		return func() error {
			return d.SoftmaxCrossEntropyForward(in[0], in[1], op.N, op.K, gm.probs, out)
		}, nil
	case *layers.SoftmaxCrossEntropyGradOp:
		seed := kids[2]
		v, ok := seed.Value().(*G.F32)
		if seed.Op() == nil || seed.Op().Arity() != 0 || !ok {
			return nil, fmt.Errorf("node %s: the loss gradient must start from a constant seed", n.Name())
		}
		g := float32(*v)
		f := op.Fwd
		return func() error { return d.SoftmaxCrossEntropyBackward(gm.probs, in[1], f.N, f.K, g, out) }, nil
	}
	if isAdd(n) {
		return func() error { return d.Add(out, in[0], in[1]) }, nil
	}
	return nil, fmt.Errorf("node %s: op %v (%T) has no GPU kernel in normtap (use --device cpu for this model)", n.Name(), n.Op(), n.Op())
}

func (gm *GPUMachine) Model() *Model             { return gm.m }
func (gm *GPUMachine) Opt() (OptSpec, *OptState) { return gm.opt, gm.state }
func (gm *GPUMachine) Device() string            { return "cuda: " + gm.dev.Info().String() }
func (gm *GPUMachine) Close() error              { return gm.dev.Close() }

func (gm *GPUMachine) SetTraining(training bool) {
	for _, l := range gm.m.BN {
		l.State.Training = training
	}
}

func (gm *GPUMachine) load(x, labels []float32) error {
	if len(x) != gm.x.Len() {
		return fmt.Errorf("batch holds %d values, the graph takes %d", len(x), gm.x.Len())
	}
	if err := gm.dev.Upload(gm.x, x); err != nil {
		return err
	}
	if labels != nil {
		if len(labels) != gm.lab.Len() {
			return fmt.Errorf("batch holds %d labels, the graph takes %d", len(labels), gm.lab.Len())
		}
		return gm.dev.Upload(gm.lab, labels)
	}
	return nil
}

func run(steps []func() error) error {
	for _, s := range steps {
		if err := s(); err != nil {
			return err
		}
	}
	return nil
}

func (gm *GPUMachine) Backward(x, labels []float32) (float32, int, error) {
	if err := gm.load(x, labels); err != nil {
		return 0, 0, err
	}
	if err := run(gm.all); err != nil {
		return 0, 0, err
	}
	// one small read per step: the batch's loss sum and right answers
	if err := gm.dev.Zero(gm.sums); err != nil {
		return 0, 0, err
	}
	if err := gm.dev.SoftmaxCrossEntropyMetrics(gm.buf[gm.m.Logits], gm.lab, gm.m.Batch, gm.m.Spec.Classes, gm.sums); err != nil {
		return 0, 0, err
	}
	var s [2]float32
	if err := gm.dev.Download(s[:], gm.sums); err != nil {
		return 0, 0, err
	}
	return s[0] / float32(gm.m.Batch), int(s[1]), nil
}

// applyOpt queues one optimizer update of w (with slots from index base).
func (gm *GPUMachine) applyOpt(w, g cuda.Buffer, slots []cuda.Buffer, step int64) error {
	o := gm.opt
	switch o.Kind {
	case "sgd":
		return gm.dev.SGDUpdate(w, g, float32(o.LR))
	case "momentum":
		return gm.dev.MomentumUpdate(w, g, slots[0], float32(o.LR), float32(o.Momentum))
	default:
		return gm.dev.AdamUpdate(w, g, slots[0], slots[1], float32(o.LR), float32(o.Beta1), float32(o.Beta2), float32(o.Eps), step)
	}
}

func (gm *GPUMachine) slotsOf(i int) []cuda.Buffer {
	k := gm.opt.SlotsPerParam()
	return gm.slots[i*k : (i+1)*k]
}

func (gm *GPUMachine) Update() error {
	gm.state.Step++
	for i := range gm.params {
		if err := gm.applyOpt(gm.params[i], gm.grads[i], gm.slotsOf(i), gm.state.Step); err != nil {
			return err
		}
	}
	return nil
}

func (gm *GPUMachine) Step(x, labels []float32) (float32, int, error) {
	loss, right, err := gm.Backward(x, labels)
	if err != nil {
		return 0, 0, err
	}
	return loss, right, gm.Update()
}

func (gm *GPUMachine) Grad(i int, dst []float32) error {
	return gm.dev.Download(dst[:gm.grads[i].Len()], gm.grads[i])
}

func (gm *GPUMachine) PeekUpdate(i int, dst []float32) error {
	n := gm.params[i].Len()
	w := gm.peek[0].Slice(0, n)
	if err := gm.dev.Copy(w, gm.params[i]); err != nil {
		return err
	}
	var slots []cuda.Buffer
	for k, s := range gm.slotsOf(i) {
		c := gm.peek[1+k].Slice(0, n)
		if err := gm.dev.Copy(c, s); err != nil {
			return err
		}
		slots = append(slots, c)
	}
	if err := gm.applyOpt(w, gm.grads[i], slots, gm.state.Step+1); err != nil {
		return err
	}
	return gm.dev.Download(dst[:n], w)
}

func (gm *GPUMachine) Forward(x []float32) ([]float32, error) {
	if err := gm.load(x, nil); err != nil {
		return nil, err
	}
	if err := run(gm.forward); err != nil {
		return nil, err
	}
	if err := gm.dev.Download(gm.logits, gm.buf[gm.m.Logits]); err != nil {
		return nil, err
	}
	return gm.logits, nil
}

// ReadTap gathers the asked-for columns of the first rows examples on the
// device and copies back only those.
func (gm *GPUMachine) ReadTap(t TapPoint, cols []int, rows int, dst []float32) error {
	b, ok := gm.buf[t.Node]
	if !ok {
		return fmt.Errorf("tap %s has no buffer", t.Name)
	}
	n := rows * len(cols)
	if len(dst) < n || rows > gm.m.Batch {
		return fmt.Errorf("tap %s: %d rows of %d columns do not fit", t.Name, rows, len(cols))
	}
	key := fmt.Sprint(t.Name, cols)
	cb, ok := gm.tapCols[key]
	if !ok {
		f := make([]float32, len(cols))
		for i, c := range cols {
			if c < 0 || c >= t.Neurons {
				return fmt.Errorf("tap %s: column %d of %d", t.Name, c, t.Neurons)
			}
			f[i] = float32(c)
		}
		var err error
		if cb, err = gm.dev.Alloc(len(f)); err != nil {
			return err
		}
		if err := gm.dev.Upload(cb, f); err != nil {
			return err
		}
		if gm.tapCols == nil {
			gm.tapCols = map[string]cuda.Buffer{}
		}
		gm.tapCols[key] = cb
	}
	if gm.tapOut.Len() < n {
		if !gm.tapOut.IsZero() {
			gm.dev.Free(gm.tapOut)
		}
		var err error
		if gm.tapOut, err = gm.dev.Alloc(gm.m.Batch * max(len(cols), 1)); err != nil {
			return err
		}
	}
	out := gm.tapOut.Slice(0, n)
	if err := gm.dev.GatherColumns(out, b, cb, rows, t.Neurons); err != nil {
		return err
	}
	return gm.dev.Download(dst[:n], out)
}

func (gm *GPUMachine) SyncParams() error {
	for i, p := range gm.m.Params {
		if err := gm.dev.Download(p.Value, gm.params[i]); err != nil {
			return err
		}
	}
	for st, b := range gm.bn {
		if err := gm.dev.Download(st.RunningMean, b[0]); err != nil {
			return err
		}
		if err := gm.dev.Download(st.RunningVar, b[1]); err != nil {
			return err
		}
	}
	for i, s := range gm.state.Slots {
		if err := gm.dev.Download(s, gm.slots[i]); err != nil {
			return err
		}
	}
	return nil
}

func (gm *GPUMachine) LoadParams() error {
	for i, p := range gm.m.Params {
		if err := gm.dev.Upload(gm.params[i], p.Value); err != nil {
			return err
		}
	}
	for st, b := range gm.bn {
		if err := gm.dev.Upload(b[0], st.RunningMean); err != nil {
			return err
		}
		if err := gm.dev.Upload(b[1], st.RunningVar); err != nil {
			return err
		}
	}
	for i, s := range gm.state.Slots {
		if err := gm.dev.Upload(gm.slots[i], s); err != nil {
			return err
		}
	}
	return gm.dev.Sync()
}
