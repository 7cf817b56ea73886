package layers

import (
	"fmt"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"normtap/kernels"
)

// SoftmaxCrossEntropyOp is the mean over the batch of
// −log softmax(logits)[label], a scalar. labels is (N) class indices as
// float32. The softmax is kept for the fused gradient p − onehot.
type SoftmaxCrossEntropyOp struct {
	opBase
	N, K  int
	probs []float32
}

// SoftmaxCrossEntropy adds the mean cross-entropy of logits (N, K) against
// labels (N) to the graph.
func SoftmaxCrossEntropy(logits, labels *gorgonia.Node) (*gorgonia.Node, error) {
	ls := logits.Shape()
	if len(ls) != 2 {
		return nil, fmt.Errorf("softmax cross-entropy: logits %s have shape %v, want (N, K)", logits.Name(), ls)
	}
	if err := checkDims("softmax cross-entropy", labels, ls[0]); err != nil {
		return nil, err
	}
	op := &SoftmaxCrossEntropyOp{N: ls[0], K: ls[1], probs: make([]float32, ls[0]*ls[1])}
	op.opBase = opBase{name: "SoftmaxCrossEntropy", inDims: []int{2, 1}, out: tensor.ScalarShape(), self: op}
	return apply(op, logits, labels)
}

func (op *SoftmaxCrossEntropyOp) Exec(out []float32, in [][]float32) {
	out[0] = kernels.SoftmaxCrossEntropyForward(in[0], in[1], op.N, op.K, op.probs)
}

// Probs returns the softmax of the last forward pass (N×K); it is
// overwritten by the next one.
func (op *SoftmaxCrossEntropyOp) Probs() []float32 { return op.probs }

func (op *SoftmaxCrossEntropyOp) Do(v ...gorgonia.Value) (gorgonia.Value, error) {
	return doWith(op, v)
}
func (op *SoftmaxCrossEntropyOp) DiffWRT(int) []bool { return []bool{true, false} }

func (op *SoftmaxCrossEntropyOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	b := &SoftmaxCrossEntropyGradOp{Fwd: op}
	b.opBase = opBase{name: "SoftmaxCrossEntropyGrad", inDims: []int{0, 1, 0}, out: tensor.Shape{op.N, op.K}, self: b}
	// Its first input is the loss itself: it reads the probabilities the
	// forward op kept, so it must run after it.
	d, err := apply(b, output, inputs[1], grad)
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{d, nil}, nil
}

// SoftmaxCrossEntropyGradOp computes dlogits = g·(p − onehot)/N from
// (loss, labels, g), reading p from the forward op.
type SoftmaxCrossEntropyGradOp struct {
	opBase
	Fwd *SoftmaxCrossEntropyOp
}

func (op *SoftmaxCrossEntropyGradOp) Exec(out []float32, in [][]float32) {
	kernels.SoftmaxCrossEntropyBackward(op.Fwd.probs, in[1], op.Fwd.N, op.Fwd.K, in[2][0], out)
}
func (op *SoftmaxCrossEntropyGradOp) Do(v ...gorgonia.Value) (gorgonia.Value, error) {
	return doWith(op, v)
}
