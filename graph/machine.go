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
	// last Backward into dst.
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

// cpuStep is one node's kernel call with its buffers bound.
type cpuStep struct {
	node *G.Node
	exec func()
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
	all     []cpuStep // every op node, topological order
	forward []cpuStep // those the logits depend on
	x, lab  []float32
	grads   [][]float32
	workers *kernels.Workers // splits kernels over the cores (schedule.go)
	updates []*paramUpdate   // per parameter, its bound optimizer step
	after   [][]int          // per step of all, the parameters Step updates after it
}

// NewCPUMachine binds buffers to every node of m's graph.
func NewCPUMachine(m *Model, opt OptSpec) (*CPUMachine, error) {
	if err := opt.Validate(); err != nil {
		return nil, err
	}
	cm := &CPUMachine{m: m, opt: opt, buf: map[*G.Node][]float32{}, workers: kernels.NewWorkers(cpuWorkers())}
	runtime.AddCleanup(cm, closeWorkers, cm.workers)
	sorted, err := G.Sort(m.G)
	if err != nil {
		return nil, fmt.Errorf("sort graph: %w", err)
	}
	for _, p := range m.Params {
		cm.buf[p.Node] = p.Value
	}
	cm.x = m.X.Value().Data().([]float32)
	cm.lab = m.Labels.Value().Data().([]float32)
	cm.buf[m.X], cm.buf[m.Labels] = cm.x, cm.lab
	needed := ancestors(m.Logits)
	for i := len(sorted) - 1; i >= 0; i-- { // Sort puts outputs first
		n := sorted[i]
		if _, ok := cm.buf[n]; ok {
			continue
		}
		st, err := cm.bind(n)
		if err != nil {
			return nil, err
		}
		if st.exec == nil {
			continue
		}
		cm.all = append(cm.all, st)
		if needed[n] {
			cm.forward = append(cm.forward, st)
		}
	}
	sizes := make([]int, len(m.Params))
	for i, p := range m.Params {
		sizes[i] = len(p.Value)
		g, ok := cm.buf[p.Grad]
		if !ok {
			return nil, fmt.Errorf("no gradient buffer for %s", p.Name)
		}
		cm.grads = append(cm.grads, g)
	}
	cm.state = opt.NewOptState(sizes)
	cm.planUpdates()
	return cm, nil
}

// bind allocates n's buffer and returns the call that computes it (nil exec
// for constants and inputs).
func (cm *CPUMachine) bind(n *G.Node) (cpuStep, error) {
	if n.Op() == nil {
		return cpuStep{}, fmt.Errorf("node %s is an input the machine was not given", n.Name())
	}
	if n.Op().Arity() == 0 { // a constant, such as Grad's seed 1
		v, ok := n.Value().(*G.F32)
		if !ok {
			return cpuStep{}, fmt.Errorf("constant %s is %T; the machine runs float32 scalars only", n.Name(), n.Value())
		}
		cm.buf[n] = []float32{float32(*v)}
		return cpuStep{}, nil
	}
	in := make([][]float32, len(Children(n)))
	for i, c := range Children(n) {
		b, ok := cm.buf[c]
		if !ok {
			return cpuStep{}, fmt.Errorf("node %s: input %s has no buffer", n.Name(), c.Name())
		}
		in[i] = b
	}
	switch op := n.Op().(type) {
	case *layers.ActOp:
		if op.Act == kernels.Identity { // the ".norm" of an unnormalized model: alias
			cm.buf[n] = in[0]
			return cpuStep{}, nil
		}
	}
	size := 1
	if s := n.Shape(); len(s) > 0 {
		size = s.TotalSize()
	}
	out := make([]float32, size)
	cm.buf[n] = out
	if k, ok := n.Op().(layers.Binder); ok {
		return cpuStep{node: n, exec: k.Bind(cm.workers, out, in)}, nil
	}
	if k, ok := n.Op().(layers.Kernel); ok {
		return cpuStep{node: n, exec: func() { k.Exec(out, in) }}, nil
	}
	if isAdd(n) {
		a, b := in[0], in[1]
		if len(a) != size || len(b) != size {
			return cpuStep{}, fmt.Errorf("node %s: + of shapes %v and %v is not element-wise", n.Name(), Children(n)[0].Shape(), Children(n)[1].Shape())
		}
		return cpuStep{node: n, exec: func() {
			for i := range out {
				out[i] = a[i] + b[i]
			}
		}}, nil
	}
	return cpuStep{}, fmt.Errorf("node %s: op %v (%T) is not a normtap op; the machine runs normtap ops only", n.Name(), n.Op(), n.Op())
}

// isAdd reports gorgonia's element-wise addition, which Grad inserts to sum
// the gradients of a value used by several ops.
func isAdd(n *G.Node) bool {
	return n.Op().Arity() == 2 && n.Op().String() == "+" && n.Shape().Eq(Children(n)[0].Shape()) && n.Shape().Eq(Children(n)[1].Shape())
}

// ancestors is the set of nodes out depends on, out included.
func ancestors(out *G.Node) map[*G.Node]bool {
	seen := map[*G.Node]bool{}
	var walk func(n *G.Node)
	walk = func(n *G.Node) {
		if seen[n] {
			return
		}
		seen[n] = true
		for _, c := range Children(n) {
			walk(c)
		}
	}
	walk(out)
	return seen
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
	for _, s := range cm.all {
		s.exec()
	}
	loss := cm.buf[cm.m.Loss][0]
	return loss, CountCorrect(cm.m.LossOp.Probs(), cm.lab, cm.m.Batch, cm.m.Spec.Classes), nil
}

func (cm *CPUMachine) Update() error {
	cm.state.Step++
	for i := range cm.m.Params {
		cm.update(i)
	}
	return nil
}

func (cm *CPUMachine) Forward(x []float32) ([]float32, error) {
	if err := cm.load(x, nil); err != nil {
		return nil, err
	}
	for _, s := range cm.forward {
		s.exec()
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
