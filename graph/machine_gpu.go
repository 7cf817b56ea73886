//go:build gpu

package graph

import (
	"fmt"

	G "gorgonia.org/gorgonia"

	"normtap/cuda"
	"normtap/layers"
)

// GPUMachine runs a Model's graph on a CUDA device with normtap's own
// kernels: parameters, activations, gradients, optimizer state and
// BatchNorm running statistics stay on the device. It is the CPU machine's
// walk (walk.go) over device buffers: every node gets a buffer once, each op
// binds its own launches (layers.GPUBinder), and a step queues them on the
// device's one stream, waiting only to read the loss and the count of
// right answers. It runs normtap's MLP and CNN ops, gorgonia's constants
// and the element-wise additions Grad inserts, and refuses anything else
// (the norm-noise op among them) with an error naming the op.
type GPUMachine struct {
	m       *Model
	opt     OptSpec
	state   *OptState // host mirror, current after SyncParams
	dev     *cuda.Device
	ops     *layers.GPUState // what the ops bound for themselves
	buf     map[*G.Node]cuda.Buffer
	all     []step[func() error]
	forward []step[func() error]
	params  []cuda.Buffer
	grads   []cuda.Buffer
	slots   []cuda.Buffer // as OptState.Slots
	x, lab  cuda.Buffer
	sums    cuda.Buffer // [Σ loss, correct] of the last batch (the loss op's)
	logits  []float32
	peek    [3]cuda.Buffer         // scratch for PeekUpdate
	tapCols map[string]cuda.Buffer // column lists of taps, uploaded once
	tapOut  cuda.Buffer            // gathered tap columns
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
	gm := &GPUMachine{m: m, opt: opt, dev: dev, ops: layers.NewGPUState(dev)}
	if err := gm.build(); err != nil {
		dev.Close()
		return nil, err
	}
	return gm, nil
}

// build allocates what the machine itself owns (parameters, optimizer
// slots, inputs, metrics and scratch), then walks the graph.
func (gm *GPUMachine) build() error {
	m, alloc := gm.m, gm.ops.Alloc
	buf := map[*G.Node]cuda.Buffer{}
	sizes := make([]int, len(m.Params))
	maxParam := 0
	for i, p := range m.Params {
		b, err := alloc(len(p.Value))
		if err != nil {
			return err
		}
		buf[p.Node] = b
		gm.params = append(gm.params, b)
		sizes[i] = len(p.Value)
		maxParam = max(maxParam, len(p.Value))
	}
	gm.state = gm.opt.NewOptState(sizes)
	for _, s := range gm.state.Slots {
		b, err := alloc(len(s))
		if err != nil {
			return err
		}
		gm.slots = append(gm.slots, b)
	}
	for _, b := range []struct {
		dst *cuda.Buffer
		n   int
	}{{&gm.x, m.Batch * m.Spec.InFeatures()}, {&gm.lab, m.Batch}, {&gm.sums, 2},
		{&gm.peek[0], maxParam}, {&gm.peek[1], maxParam}, {&gm.peek[2], maxParam}} {
		var err error
		if *b.dst, err = alloc(b.n); err != nil {
			return err
		}
	}
	buf[m.X], buf[m.Labels] = gm.x, gm.lab
	gm.ops.Metrics = gm.sums // the loss op's forward pass fills it
	gm.logits = make([]float32, m.Batch*m.Spec.Classes)
	pl, err := walk(m, buf, gpuBinder{gm.ops})
	if err != nil {
		return err
	}
	gm.buf, gm.all, gm.forward, gm.grads = pl.buf, pl.all, pl.forward, pl.grads
	return gm.LoadParams()
}

// gpuBinder is the GPU's part of the walk: device buffers, and each op's
// BindGPU.
type gpuBinder struct{ ops *layers.GPUState }

func (b gpuBinder) constant(v float32) (cuda.Buffer, error) { return b.ops.Constant(v) }
func (b gpuBinder) alloc(size int) (cuda.Buffer, error)     { return b.ops.Alloc(size) }

func (b gpuBinder) op(n *G.Node, out cuda.Buffer, in []cuda.Buffer) (func() error, error) {
	k, ok := n.Op().(layers.GPUBinder)
	if !ok {
		return nil, fmt.Errorf("node %s: op %v (%T) has no GPU kernel in normtap (use --device cpu for this model)", n.Name(), n.Op(), n.Op())
	}
	run, err := k.BindGPU(b.ops, out, in)
	if err != nil {
		return nil, fmt.Errorf("node %s: %w", n.Name(), err)
	}
	return run, nil
}

func (b gpuBinder) add(_ *G.Node, out, x, y cuda.Buffer) (func() error, error) {
	d := b.ops.Dev
	return func() error { return d.Add(out, x, y) }, nil
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

func run(steps []step[func() error]) error {
	for _, s := range steps {
		if err := s.run(); err != nil {
			return err
		}
	}
	return nil
}

func (gm *GPUMachine) Backward(x, labels []float32) (float32, int, error) {
	if err := gm.load(x, labels); err != nil {
		return 0, 0, err
	}
	// the loss op's forward pass accumulates the batch's loss sum and
	// right answers into sums: one small read per step, no second pass
	if err := gm.dev.Zero(gm.sums); err != nil {
		return 0, 0, err
	}
	if err := run(gm.all); err != nil {
		return 0, 0, err
	}
	var s [2]float32
	if err := gm.dev.Download(s[:], gm.sums); err != nil {
		return 0, 0, err
	}
	return s[0] / float32(gm.m.Batch), int(s[1]), nil
}

// applyOpt queues optimizer step t of w (the one dispatch, update).
func (gm *GPUMachine) applyOpt(w, g cuda.Buffer, slots []cuda.Buffer, t int64) error {
	return update[cuda.Buffer](gm.dev, gm.opt, w, g, slots, t)
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
	if err := gm.ops.SyncHost(); err != nil { // the BatchNorm running statistics
		return err
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
	if err := gm.ops.LoadHost(); err != nil { // the BatchNorm running statistics
		return err
	}
	for i, s := range gm.state.Slots {
		if err := gm.dev.Upload(gm.slots[i], s); err != nil {
			return err
		}
	}
	return gm.dev.Sync()
}
