package graph

import (
	"fmt"

	G "gorgonia.org/gorgonia"

	"normtap/layers"
)

// This file is the graph walk every machine shares: sort the graph, give
// every node a buffer once, have each op bind its own kernel to its
// buffers (layers.Binder on the CPU, layers.GPUBinder on the GPU), and
// collect the bound calls in topological order. A machine brings only its
// kind of buffer B, its kind of bound call S, and how to make them.

// binder is what a machine brings to walk.
type binder[B, S any] interface {
	// constant returns a buffer holding the scalar v (gorgonia.Grad's seed).
	constant(v float32) (B, error)
	// alloc returns a new buffer of size floats.
	alloc(size int) (B, error)
	// op returns the call that computes n's normtap op into out from in;
	// an error names n when its op cannot run on the machine.
	op(n *G.Node, out B, in []B) (S, error)
	// add returns the call out = a + b, for the element-wise additions
	// gorgonia.Grad inserts where a value feeds several ops.
	add(n *G.Node, out, a, b B) (S, error)
}

// step is one node's bound call.
type step[S any] struct {
	node *G.Node
	run  S
}

// plan is a bound graph.
type plan[B, S any] struct {
	buf     map[*G.Node]B
	all     []step[S] // every op node, topological order
	forward []step[S] // those the logits depend on
	grads   []B       // per parameter (Model.Params), its gradient's buffer
}

// walk binds every node of m's graph with bd. buf holds the buffers the
// machine made itself: the parameters' and the inputs' (X, Labels).
func walk[B, S any](m *Model, buf map[*G.Node]B, bd binder[B, S]) (*plan[B, S], error) {
	sorted, err := G.Sort(m.G)
	if err != nil {
		return nil, fmt.Errorf("sort graph: %w", err)
	}
	p := &plan[B, S]{buf: buf}
	needed := ancestors(m.Logits)
	for i := len(sorted) - 1; i >= 0; i-- { // Sort puts outputs first
		n := sorted[i]
		if _, ok := buf[n]; ok {
			continue
		}
		run, ok, err := p.bind(n, bd)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		st := step[S]{node: n, run: run}
		p.all = append(p.all, st)
		if needed[n] {
			p.forward = append(p.forward, st)
		}
	}
	for _, prm := range m.Params {
		g, ok := buf[prm.Grad]
		if !ok {
			return nil, fmt.Errorf("no gradient buffer for %s", prm.Name)
		}
		p.grads = append(p.grads, g)
	}
	return p, nil
}

// bind gives n its buffer and returns the call that computes it; ok is
// false for nodes that need no call (constants, aliases).
func (p *plan[B, S]) bind(n *G.Node, bd binder[B, S]) (run S, ok bool, err error) {
	if n.Op() == nil {
		return run, false, fmt.Errorf("node %s is an input the machine was not given", n.Name())
	}
	if n.Op().Arity() == 0 { // a constant, such as Grad's seed 1
		v, isF32 := n.Value().(*G.F32)
		if !isF32 {
			return run, false, fmt.Errorf("constant %s is %T; the machine runs float32 scalars only", n.Name(), n.Value())
		}
		b, err := bd.constant(float32(*v))
		if err != nil {
			return run, false, err
		}
		p.buf[n] = b
		return run, false, nil
	}
	kids := Children(n)
	in := make([]B, len(kids))
	for i, c := range kids {
		b, has := p.buf[c]
		if !has {
			return run, false, fmt.Errorf("node %s: input %s has no buffer", n.Name(), c.Name())
		}
		in[i] = b
	}
	if a, isAlias := n.Op().(layers.Aliaser); isAlias {
		if k, same := a.AliasOf(); same { // an identity: its input's buffer
			p.buf[n] = in[k]
			return run, false, nil
		}
	}
	size := 1
	if s := n.Shape(); len(s) > 0 {
		size = s.TotalSize()
	}
	out, err := bd.alloc(size)
	if err != nil {
		return run, false, err
	}
	p.buf[n] = out
	if isAdd(n) {
		run, err = bd.add(n, out, in[0], in[1])
	} else {
		run, err = bd.op(n, out, in)
	}
	return run, err == nil, err
}

// isAdd reports gorgonia's element-wise addition of two same-shaped values:
// what Grad inserts to sum the gradients of a value used by several ops,
// and the residual network's sum. gorgonia names it "+ false" (its
// operator and its retSame flag, which means nothing for arithmetic).
func isAdd(n *G.Node) bool {
	s := n.Op().String()
	return n.Op().Arity() == 2 && (s == "+ false" || s == "+ true") && n.Shape().Eq(Children(n)[0].Shape()) && n.Shape().Eq(Children(n)[1].Shape())
}

// ancestors is the set of nodes out depends on, out included.
func ancestors(out *G.Node) map[*G.Node]bool {
	seen := map[*G.Node]bool{}
	var visit func(n *G.Node)
	visit = func(n *G.Node) {
		if seen[n] {
			return
		}
		seen[n] = true
		for _, c := range Children(n) {
			visit(c)
		}
	}
	visit(out)
	return seen
}
