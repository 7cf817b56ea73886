package layers

import (
	"fmt"
	"hash"
	"hash/fnv"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Kernel is what every normtap op offers an executor besides gorgonia.Op:
// its output shape, fixed when the op is built, and a CPU kernel that
// computes the output into a preallocated buffer. Scalars are buffers of
// length 1. Exec never allocates.
type Kernel interface {
	gorgonia.Op
	OutShape() tensor.Shape
	Exec(out []float32, in [][]float32)
}

// Aliaser is implemented by ops that may compute nothing: when AliasOf
// reports true, the op's output equals its input number k (an identity),
// and an executor gives the node that input's buffer instead of binding a
// kernel.
type Aliaser interface {
	AliasOf() (k int, ok bool)
}

// opBase carries the boilerplate every normtap op shares.
type opBase struct {
	name   string       // shown in graphs and errors
	inDims []int        // number of dims of each input; 0 for a scalar
	out    tensor.Shape // output shape; () for a scalar
	self   gorgonia.Op  // for hashing by identity
}

func (o *opBase) Arity() int                                            { return len(o.inDims) }
func (o *opBase) ReturnsPtr() bool                                      { return false }
func (o *opBase) CallsExtern() bool                                     { return false }
func (o *opBase) OverwritesInput() int                                  { return -1 }
func (o *opBase) String() string                                        { return o.name }
func (o *opBase) OutShape() tensor.Shape                                { return o.out.Clone() }
func (o *opBase) WriteHash(h hash.Hash)                                 { fmt.Fprintf(h, "normtap.%s@%p", o.name, o.self) }
func (o *opBase) Hashcode() uint32                                      { h := fnv.New32a(); o.WriteHash(h); return h.Sum32() }
func (o *opBase) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) { return o.out.Clone(), nil }

func typeOfDims(d int) hm.Type {
	a := hm.TypeVariable('a')
	if d == 0 {
		return a
	}
	return gorgonia.TensorType{Dims: d, Of: a}
}

func (o *opBase) Type() hm.Type {
	ts := make(hm.Types, 0, len(o.inDims)+1)
	for _, d := range o.inDims {
		ts = append(ts, typeOfDims(d))
	}
	ts = append(ts, typeOfDims(len(o.out)))
	return hm.NewFnType(ts...)
}

// doWith runs k's kernel on gorgonia Values, allocating the output: the
// path gorgonia's own tape machine takes. normtap's executor calls Exec.
func doWith(k Kernel, inputs []gorgonia.Value) (gorgonia.Value, error) {
	if len(inputs) != k.Arity() {
		return nil, fmt.Errorf("%v: got %d inputs, want %d", k, len(inputs), k.Arity())
	}
	in := make([][]float32, len(inputs))
	for i, v := range inputs {
		switch t := v.(type) {
		case *gorgonia.F32:
			in[i] = []float32{float32(*t)}
		case tensor.Tensor:
			d, ok := t.Data().([]float32)
			if !ok {
				if f, ok := t.Data().(float32); ok { // a 0-d tensor
					d = []float32{f}
				} else {
					return nil, fmt.Errorf("%v: input %d is %v, want float32", k, i, t.Dtype())
				}
			}
			in[i] = d
		default:
			return nil, fmt.Errorf("%v: input %d is %T, want a float32 tensor", k, i, v)
		}
	}
	shape := k.OutShape()
	if len(shape) == 0 {
		out := make([]float32, 1)
		k.Exec(out, in)
		return gorgonia.NewF32(out[0]), nil
	}
	t := tensor.New(tensor.WithShape(shape...), tensor.Of(tensor.Float32))
	k.Exec(t.Data().([]float32), in)
	return t, nil
}

// apply adds op to the graph with the given children.
func apply(op gorgonia.Op, children ...*gorgonia.Node) (*gorgonia.Node, error) {
	n, err := gorgonia.ApplyOp(op, children...)
	if err != nil {
		return nil, fmt.Errorf("add %v: %w", op, err)
	}
	return n, nil
}

// checkDims reports a shape mismatch while building a graph.
func checkDims(what string, n *gorgonia.Node, want ...int) error {
	s := n.Shape()
	if len(s) != len(want) {
		return fmt.Errorf("%s: %s has shape %v, want %v", what, n.Name(), s, want)
	}
	for i, w := range want {
		if w >= 0 && s[i] != w {
			return fmt.Errorf("%s: %s has shape %v, want %v", what, n.Name(), s, want)
		}
	}
	return nil
}

func prod(s []int) int {
	p := 1
	for _, v := range s {
		p *= v
	}
	return p
}
