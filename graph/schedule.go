package graph

import (
	"runtime"

	G "gorgonia.org/gorgonia"

	"normtap/kernels"
)

// This file is how the CPU machine uses both cores and its caches: one
// Workers pool splits every large kernel (GEMMs, norms, activations, the
// optimizer) into fixed parts, and Step applies each parameter's optimizer
// update as soon as the backward pass no longer reads the parameter, while
// its gradient is still in cache, instead of in one pass at the end. Every
// split has fixed boundaries, so the same flags and seed give the same
// losses bit for bit; Step's result equals Backward followed by Update.

// cpuWorkers is how many parts the machine splits work into.
func cpuWorkers() int { return max(1, runtime.GOMAXPROCS(0)) }

// minParallelUpdate: parameters smaller than this are updated in one part.
const minParallelUpdate = 1 << 15

// paramUpdate is the optimizer step of one parameter, bound once.
type paramUpdate struct {
	cm   *CPUMachine
	i    int
	part func(p, parts int)
}

// clearChunk: an update that clears the gradient it consumes does so
// chunk by chunk, 32 KiB of gradient at a time, while the chunk is in L1.
const clearChunk = 8192

func (u *paramUpdate) run(p, parts int) {
	w, g := u.cm.m.Params[u.i].Value, u.cm.grads[u.i]
	lo, hi := kernels.Span(len(w), p, parts, 16)
	if !u.cm.accumulates[u.i] {
		u.cm.opt.applySpan(u.cm.state, u.i, w, g, lo, hi)
		return
	}
	for c := lo; c < hi; c += clearChunk {
		e := min(c+clearChunk, hi)
		u.cm.opt.applySpan(u.cm.state, u.i, w, g, c, e)
		clear(g[c:e])
	}
}

// cleanGrads zeroes the gradients that a backward pass adds into, when the
// last Backward left them holding values no Update consumed.
func (cm *CPUMachine) cleanGrads() {
	if !cm.gradsDirty {
		return
	}
	for i, acc := range cm.accumulates {
		if acc {
			clear(cm.grads[i])
		}
	}
	cm.gradsDirty = false
}

// update applies the optimizer step to parameter i (the step count must
// already be advanced).
func (cm *CPUMachine) update(i int) {
	u := cm.updates[i]
	if len(cm.m.Params[i].Value) < minParallelUpdate {
		u.part(0, 1)
		return
	}
	cm.workers.Run(u.part)
}

// planUpdates binds the optimizer updates and finds, for each parameter,
// the last step of cm.all after which nothing reads it or writes its
// gradient: Step updates it right there.
func (cm *CPUMachine) planUpdates() {
	index := make(map[*G.Node]int, len(cm.all))
	for k, s := range cm.all {
		index[s.node] = k
	}
	last := map[*G.Node]int{}
	for k, s := range cm.all {
		for _, c := range Children(s.node) {
			last[c] = k // cm.all is in topological order: the last reader wins
		}
	}
	cm.after = make([][]int, len(cm.all))
	cm.updates = make([]*paramUpdate, len(cm.m.Params))
	for i, p := range cm.m.Params {
		u := &paramUpdate{cm: cm, i: i}
		u.part = u.run
		cm.updates[i] = u
		at := len(cm.all) - 1
		if k, ok := index[p.Grad]; ok {
			at = k
			for _, n := range []*G.Node{p.Node, p.Grad} { // after the parameter's last reader, and the gradient's (the update clears it)
				if r, ok := last[n]; ok && r > at {
					at = r
				}
			}
		}
		if at < 0 {
			continue // no steps at all; Step updates nothing it cannot reach
		}
		cm.after[at] = append(cm.after[at], i)
	}
}

// step is Step: forward and backward with every parameter updated right
// after its last use.
func (cm *CPUMachine) step(x, labels []float32) (float32, int, error) {
	if err := cm.load(x, labels); err != nil {
		return 0, 0, err
	}
	cm.cleanGrads()
	cm.state.Step++
	for k, s := range cm.all {
		s.run()
		for _, i := range cm.after[k] {
			cm.update(i)
		}
	}
	loss := cm.buf[cm.m.Loss][0]
	return loss, CountCorrect(cm.m.LossOp.Probs(), cm.lab, cm.m.Batch, cm.m.Spec.Classes), nil
}

// closeWorkers is the cleanup of a machine never closed.
func closeWorkers(w *kernels.Workers) { w.Close() }

// pairGemms runs independent GEMMs two at a time (kernels.GemmPair): for
// each single-GEMM step (plans), the first later one whose inputs are all
// computed before it moves up to run beside it: a layer's weight and
// input gradients, both products of the same upstream gradient. The
// moved step's optimizer updates run where they ran before, after the
// step that preceded it. A machine of one part pairs nothing.
func (cm *CPUMachine) pairGemms(plans map[*G.Node]*kernels.GemmPlan) {
	if cm.workers.Parts() < 2 {
		return
	}
	for i := 0; i < len(cm.all); i++ {
		p := plans[cm.all[i].node]
		if p == nil {
			continue
		}
		ready := cm.readyAt()
		for j := i + 1; j < len(cm.all); j++ {
			n := cm.all[j].node
			q := plans[n]
			if q == nil || ready(n) >= i {
				continue
			}
			pair := kernels.NewGemmPair(p, q)
			w := cm.workers
			cm.all[i].run = func() { pair.Run(w) }
			cm.all = append(cm.all[:j], cm.all[j+1:]...)
			cm.after[j-1] = append(cm.after[j-1], cm.after[j]...)
			cm.after = append(cm.after[:j], cm.after[j+1:]...)
			break
		}
	}
}

// readyAt returns, for a node, the position in cm.all of the last step its
// inputs need (through identity aliases, which are no steps); -1 when they
// need none (inputs, parameters, constants).
func (cm *CPUMachine) readyAt() func(n *G.Node) int {
	pos := make(map[*G.Node]int, len(cm.all))
	for k, s := range cm.all {
		pos[s.node] = k
	}
	memo := map[*G.Node]int{}
	var at func(n *G.Node) int // the position after which n's value exists
	at = func(n *G.Node) int {
		if k, ok := pos[n]; ok {
			return k
		}
		if v, ok := memo[n]; ok {
			return v
		}
		v := -1
		for _, c := range Children(n) { // an alias is its input's value
			v = max(v, at(c))
		}
		memo[n] = v
		return v
	}
	return func(n *G.Node) int {
		v := -1
		for _, c := range Children(n) {
			v = max(v, at(c))
		}
		return v
	}
}
