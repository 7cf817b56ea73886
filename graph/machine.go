package graph

import (
	"fmt"
	"runtime"

	G "gorgonia.org/gorgonia"

	"normtap/kernels"
	"normtap/layers"
)

// Machine runs a Model's graph: training steps, forward passes and taps.
// The CPU machine is NewCPUMachine; the gpu build adds a CUDA one.
type Machine interface {
	Model() *Model
	// SetTraining picks batch statistics and running-statistics updates
	// (true) or running statistics (false) for every BatchNorm.
	SetTraining(training bool)
	// Step runs forward, backward and one optimizer update on a batch: x is
	// Batch×features, labels Batch class indices. It returns the batch's
	// mean loss and how many examples the model got right.
	// It is Backward followed by Update.
	Step(x, labels []float32) (loss float32, correct int, err error)
	// Backward runs forward and backward on a batch in the current mode and
	// leaves every parameter's gradient in the machine, changing no
	// parameter and no optimizer state. (A training-mode forward pass
	// updates the BatchNorm running statistics and draws the norm noise,
	// as in Step.)
	Backward(x, labels []float32) (loss float32, correct int, err error)
	// Update applies one optimizer step, with the gradients of the last
	// Backward, to every parameter, and counts it in the optimizer state.
	Update() error
	// Grad copies the gradient of parameter i (Model().Params[i]) from the
	// last Backward into dst. Update and Step consume the gradients: after
	// them a machine may hold zeros (the CPU machine clears each weight
	// gradient as it applies it).
	Grad(i int, dst []float32) error
	// PeekUpdate writes into dst the value parameter i would have after
	// Update, bit for bit, changing nothing: the optimizer runs on copies
	// of the parameter and of its slots.
	PeekUpdate(i int, dst []float32) error
	// Forward runs the graph up to the logits and returns them
	// (Batch×Classes); the slice is reused by the next call.
	Forward(x []float32) ([]float32, error)
	// ReadTap copies the columns cols of the first rows examples of a tap
	// point's last value into dst (rows×len(cols), row-major).
	ReadTap(t TapPoint, cols []int, rows int, dst []float32) error
	// Opt returns the optimizer spec and state (for checkpoints).
	Opt() (OptSpec, *OptState)
	// SyncParams makes Param.Value, the BatchNorm states and the optimizer
	// state current on the host (the GPU machine keeps them on the device).
	SyncParams() error
	// LoadParams pushes Param.Value, BatchNorm states, norm-noise states and
	// optimizer state to the machine after they were changed on the host
	// (resume; graph.Measure moving the parameters and putting them back).
	LoadParams() error
	Device() string
	Close() error
}

// CPUMachine runs a graph on the CPU: every node gets a buffer once, every
// step calls the nodes' kernels in topological order. It runs normtap's ops,
// gorgonia's constants and the element-wise additions gorgonia.Grad adds
// where a value feeds several ops, and refuses anything else.
type CPUMachine struct {
	m       *Model
	opt     OptSpec
	state   *OptState
	buf     map[*G.Node][]float32
	all     []step[func()] // every op node, topological order
	forward []step[func()] // those the logits depend on
	x, lab  []float32
	grads   [][]float32
	workers *kernels.Workers // splits kernels over the cores (schedule.go)
	updates []*paramUpdate   // per parameter, its bound optimizer step
	after   [][]int          // per step of all, the parameters Step updates after it
	// accumulates: per parameter, whether its gradient's op adds into the
	// buffer (cpuBinder), which must then be zero when a backward pass
	// starts; gradsDirty: some such buffer holds the last Backward's
	// gradient (Update clears them as it consumes them).
	accumulates []bool
	gradsDirty  bool
}

// NewCPUMachine binds buffers to every node of m's graph.
func NewCPUMachine(m *Model, opt OptSpec) (*CPUMachine, error) {
	if err := opt.Validate(); err != nil {
		return nil, err
	}
	cm := &CPUMachine{m: m, opt: opt, workers: kernels.NewWorkers(cpuWorkers())}
	runtime.AddCleanup(cm, closeWorkers, cm.workers)
	buf := map[*G.Node][]float32{}
	for _, p := range m.Params {
		buf[p.Node] = p.Value
	}
	cm.x = m.X.Value().Data().([]float32)
	cm.lab = m.Labels.Value().Data().([]float32)
	buf[m.X], buf[m.Labels] = cm.x, cm.lab
	cm.accumulates = make([]bool, len(m.Params))
	bd := cpuBinder{workers: cm.workers, gradOf: map[*G.Node]int{}, accumulates: cm.accumulates, plans: map[*G.Node]*kernels.GemmPlan{}}
	for i, p := range m.Params {
		bd.gradOf[p.Grad] = i
	}
	pl, err := walk(m, buf, bd)
	if err != nil {
		return nil, err
	}
	cm.buf, cm.all, cm.forward, cm.grads = pl.buf, pl.all, pl.forward, pl.grads
	sizes := make([]int, len(m.Params))
	for i, p := range m.Params {
		sizes[i] = len(p.Value)
	}
	cm.state = opt.NewOptState(sizes)
	cm.planUpdates()
	if pairGemms {
		cm.pairGemms(bd.plans)
	}
	return cm, nil
}

// pairGemms: run independent GEMMs in pairs (schedule.go); a variable so
// that a test can build a machine without them.
var pairGemms = true

// cpuBinder is the CPU's part of the walk: slices, and each op's Bind
// (split over the machine's workers) or else its Exec. An op that is one
// GEMM (layers.PlanBinder) is bound through its plan, kept in plans; if
// it is parameter i's gradient (gradOf) it adds into its buffer, which the
// machine keeps zero between backward passes (schedule.go), and
// accumulates[i] (the machine's own slice) records it.
type cpuBinder struct {
	workers     *kernels.Workers
	gradOf      map[*G.Node]int
	accumulates []bool
	plans       map[*G.Node]*kernels.GemmPlan
}

func (cpuBinder) constant(v float32) ([]float32, error) { return []float32{v}, nil }
func (cpuBinder) alloc(size int) ([]float32, error)     { return make([]float32, size), nil }

func (b cpuBinder) op(n *G.Node, out []float32, in [][]float32) (func(), error) {
	if k, ok := n.Op().(layers.PlanBinder); ok {
		i, isGrad := b.gradOf[n]
		if isGrad {
			b.accumulates[i] = true
		}
		g := k.Plan(out, in, isGrad)
		b.plans[n] = g
		return func() { g.Run(b.workers) }, nil
	}
	switch k := n.Op().(type) {
	case layers.Binder:
		return k.Bind(b.workers, out, in), nil
	case layers.Kernel:
		return func() { k.Exec(out, in) }, nil
	}
	return nil, fmt.Errorf("node %s: op %v (%T) is not a normtap op; the machine runs normtap ops only", n.Name(), n.Op(), n.Op())
}

func (cpuBinder) add(n *G.Node, out, a, b []float32) (func(), error) {
	if len(a) != len(out) || len(b) != len(out) {
		return nil, fmt.Errorf("node %s: + of shapes %v and %v is not element-wise", n.Name(), Children(n)[0].Shape(), Children(n)[1].Shape())
	}
	return func() {
		for i := range out {
			out[i] = a[i] + b[i]
		}
	}, nil
}

func (cm *CPUMachine) Model() *Model     { return cm.m }
func (cm *CPUMachine) Device() string    { return "cpu" }
func (cm *CPUMachine) Close() error      { cm.workers.Close(); return nil }
func (cm *CPUMachine) SyncParams() error { return nil }
func (cm *CPUMachine) LoadParams() error { return nil }

func (cm *CPUMachine) Opt() (OptSpec, *OptState) { return cm.opt, cm.state }

func (cm *CPUMachine) SetTraining(training bool) {
	for _, l := range cm.m.BN {
		l.State.Training = training
	}
}

func (cm *CPUMachine) load(x, labels []float32) error {
	if len(x) != len(cm.x) {
		return fmt.Errorf("batch holds %d values, the graph takes %d", len(x), len(cm.x))
	}
	copy(cm.x, x)
	if labels != nil {
		if len(labels) != len(cm.lab) {
			return fmt.Errorf("batch holds %d labels, the graph takes %d", len(labels), len(cm.lab))
		}
		copy(cm.lab, labels)
	}
	return nil
}

func (cm *CPUMachine) Step(x, labels []float32) (float32, int, error) {
	return cm.step(x, labels) // Backward then Update, with the updates interleaved (schedule.go)
}

func (cm *CPUMachine) Backward(x, labels []float32) (float32, int, error) {
	if err := cm.load(x, labels); err != nil {
		return 0, 0, err
	}
	cm.cleanGrads()
	for _, s := range cm.all {
		s.run()
	}
	cm.gradsDirty = true
	loss := cm.buf[cm.m.Loss][0]
	return loss, CountCorrect(cm.m.LossOp.Probs(), cm.lab, cm.m.Batch, cm.m.Spec.Classes), nil
}

func (cm *CPUMachine) Update() error {
	cm.state.Step++
	for i := range cm.m.Params {
		cm.update(i)
	}
	cm.gradsDirty = false
	return nil
}

// Grad copies parameter i's gradient from the last Backward.
func (cm *CPUMachine) Grad(i int, dst []float32) error {
	if err := checkParamDst(cm.m, "grad", i, dst); err != nil {
		return err
	}
	copy(dst, cm.grads[i])
	return nil
}

// PeekUpdate writes the value parameter i would have after Update.
func (cm *CPUMachine) PeekUpdate(i int, dst []float32) error {
	if err := checkParamDst(cm.m, "peek update", i, dst); err != nil {
		return err
	}
	p := cm.m.Params[i]
	copy(dst, p.Value)
	cm.opt.applyToCopy(cm.state, i, dst, cm.grads[i])
	return nil
}

func (cm *CPUMachine) Forward(x []float32) ([]float32, error) {
	if err := cm.load(x, nil); err != nil {
		return nil, err
	}
	for _, s := range cm.forward {
		s.run()
	}
	return cm.buf[cm.m.Logits], nil
}

func (cm *CPUMachine) ReadTap(t TapPoint, cols []int, rows int, dst []float32) error {
	b, ok := cm.buf[t.Node]
	if !ok {
		return fmt.Errorf("tap %s has no buffer", t.Name)
	}
	return CopyColumns(dst, b, t.Neurons, cols, rows)
}

// CopyColumns copies columns cols of the first rows rows of src (rows of
// width) into dst, row-major rows×len(cols).
func CopyColumns(dst, src []float32, width int, cols []int, rows int) error {
	if len(dst) < rows*len(cols) || len(src) < rows*width {
		return fmt.Errorf("copy columns: %d rows of %d columns do not fit", rows, len(cols))
	}
	k := 0
	for r := 0; r < rows; r++ {
		row := src[r*width : (r+1)*width]
		for _, c := range cols {
			dst[k] = row[c]
			k++
		}
	}
	return nil
}

// CountCorrect counts the rows whose largest score is at the label.
func CountCorrect(scores, labels []float32, rows, classes int) int {
	n := 0
	for i := 0; i < rows; i++ {
		r := scores[i*classes : (i+1)*classes]
		best := 0
		for j, v := range r {
			if v > r[best] {
				best = j
			}
		}
		if best == int(labels[i]) {
			n++
		}
	}
	return n
}

// checkParamDst checks that m has a parameter i and that dst holds as many
// values; what names the call in the error.
func checkParamDst(m *Model, what string, i int, dst []float32) error {
	if i < 0 || i >= len(m.Params) {
		return fmt.Errorf("%s: no parameter %d (the model has %d)", what, i, len(m.Params))
	}
	if p := m.Params[i]; len(dst) != len(p.Value) {
		return fmt.Errorf("%s: %s holds %d values, dst %d", what, p.Name, len(p.Value), len(dst))
	}
	return nil
}
