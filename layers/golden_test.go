package layers

import (
	"encoding/json"
	"os"
	"testing"

	G "gorgonia.org/gorgonia"

	"normtap/kernels"
)

// This file compares normtap's ops, run as graphs on gorgonia's
// TapeMachine, with values PyTorch 1.13 computed on the same inputs
// (testdata/golden.json, written by testdata/gen_golden.py, whose docstring
// says how to regenerate it and what each case holds). Upstream gradients
// are fed through weightedSumOp with R = the golden dy.
//
// Tolerances, |ours − torch| ≤ tol·(1 + |torch|):
//   - forward outputs, running statistics, the loss: tol = 2e-6;
//   - gradients: tol = 1e-5.
// Observed differences are below 4.5e-7 and 6e-7: float32 rounding, as
// PyTorch's kernels accumulate differently.

const (
	goldenFwdTol  = 2e-6
	goldenGradTol = 1e-5
)

type goldenFile struct {
	Torch        string         `json:"torch"`
	Eps          float32        `json:"eps"`
	Momentum     float32        `json:"momentum"`
	BatchNorm    []goldenBN     `json:"batchnorm"`
	LayerNorm    []goldenLN     `json:"layernorm"`
	Linear       []goldenLinear `json:"linear"`
	Activation   []goldenAct    `json:"activation"`
	CrossEntropy []goldenCE     `json:"cross_entropy"`
	GroupNorm    []goldenGN     `json:"groupnorm"`
	RMSNorm      []goldenRMS    `json:"rmsnorm"`
}

type goldenGN struct {
	goldenLN
	Groups int `json:"groups"`
}

type goldenRMS struct {
	Name   string    `json:"name"`
	Shape  []int     `json:"shape"`
	Gamma  []float32 `json:"gamma"`
	X      []float32 `json:"x"`
	Dy     []float32 `json:"dy"`
	Y      []float32 `json:"y"`
	Dx     []float32 `json:"dx"`
	Dgamma []float32 `json:"dgamma"`
}

type goldenBN struct {
	Name        string      `json:"name"`
	Shape       []int       `json:"shape"`
	Gamma       []float32   `json:"gamma"`
	Beta        []float32   `json:"beta"`
	Steps       [][]float32 `json:"steps"`
	Dy          []float32   `json:"dy"`
	Y           []float32   `json:"y"`
	Dx          []float32   `json:"dx"`
	Dgamma      []float32   `json:"dgamma"`
	Dbeta       []float32   `json:"dbeta"`
	RunningMean []float32   `json:"running_mean"`
	RunningVar  []float32   `json:"running_var"`
	XEval       []float32   `json:"x_eval"`
	YEval       []float32   `json:"y_eval"`
	DxEval      []float32   `json:"dx_eval"`
	DgammaEval  []float32   `json:"dgamma_eval"`
	DbetaEval   []float32   `json:"dbeta_eval"`
}

type goldenLN struct {
	Name   string    `json:"name"`
	Shape  []int     `json:"shape"`
	Gamma  []float32 `json:"gamma"`
	Beta   []float32 `json:"beta"`
	X      []float32 `json:"x"`
	Dy     []float32 `json:"dy"`
	Y      []float32 `json:"y"`
	Dx     []float32 `json:"dx"`
	Dgamma []float32 `json:"dgamma"`
	Dbeta  []float32 `json:"dbeta"`
}

type goldenLinear struct {
	Name  string    `json:"name"`
	Shape []int     `json:"shape"`
	Out   int       `json:"out"`
	X     []float32 `json:"x"`
	W     []float32 `json:"w"`
	B     []float32 `json:"b"`
	Dy    []float32 `json:"dy"`
	Y     []float32 `json:"y"`
	Dx    []float32 `json:"dx"`
	Dw    []float32 `json:"dw"`
	Db    []float32 `json:"db"`
}

type goldenAct struct {
	Name  string    `json:"name"`
	Shape []int     `json:"shape"`
	X     []float32 `json:"x"`
	Dy    []float32 `json:"dy"`
	Y     []float32 `json:"y"`
	Dx    []float32 `json:"dx"`
}

type goldenCE struct {
	Name    string    `json:"name"`
	Shape   []int     `json:"shape"`
	Logits  []float32 `json:"logits"`
	Labels  []float32 `json:"labels"`
	Loss    float32   `json:"loss"`
	Dlogits []float32 `json:"dlogits"`
}

func loadGolden(t *testing.T) *goldenFile {
	t.Helper()
	const path = "testdata/golden.json"
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v (regenerate with testdata/gen_golden.py)", path, err)
	}
	var gf goldenFile
	if err := json.Unmarshal(b, &gf); err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	if len(gf.BatchNorm) != 2 || len(gf.LayerNorm) != 2 || len(gf.Linear) != 2 || len(gf.Activation) != 4 || len(gf.CrossEntropy) != 1 ||
		len(gf.GroupNorm) != 3 || len(gf.RMSNorm) != 2 {
		t.Fatalf("%s: unexpected case counts; regenerate with testdata/gen_golden.py", path)
	}
	return &gf
}

func expectFwd(t *testing.T, what string, got, want []float32) {
	t.Helper()
	expectClose(t, "%s", got, want, goldenFwdTol, goldenFwdTol, what)
}

func expectGrad(t *testing.T, what string, got, want []float32) {
	t.Helper()
	expectClose(t, "%s", got, want, goldenGradTol, goldenGradTol, what)
}

func TestGoldenBatchNorm(t *testing.T) {
	gf := loadGolden(t)
	for _, c := range gf.BatchNorm {
		t.Run(c.Name, func(t *testing.T) {
			ch := c.Shape[1]
			g := G.NewGraph()
			x := tensorNode(g, "x", c.Shape, c.Steps[0])
			gamma := tensorNode(g, "gamma", []int{1, ch}, c.Gamma)
			beta := tensorNode(g, "beta", []int{1, ch}, c.Beta)
			st := NewBNState(ch, gf.Momentum, gf.Eps)
			y := mustNode(t)(BatchNorm(x, gamma, beta, st))
			xg := newXcheckGraph(t, g, x, y, c.Dy, x, gamma, beta)

			// Training mode, first batch: output and gradients.
			xg.step(t, c.Steps[0])
			expectFwd(t, "train: y", valueOf(t, y), c.Y)
			expectGrad(t, "train: dx", valueOf(t, xg.grads[0]), c.Dx)
			expectGrad(t, "train: dgamma", valueOf(t, xg.grads[1]), c.Dgamma)
			expectGrad(t, "train: dbeta", valueOf(t, xg.grads[2]), c.Dbeta)

			// Two more training batches, then the running statistics.
			for _, s := range c.Steps[1:] {
				xg.step(t, s)
			}
			expectFwd(t, "running mean after 3 steps", st.RunningMean, c.RunningMean)
			expectFwd(t, "running var after 3 steps", st.RunningVar, c.RunningVar)

			// Eval mode: running statistics, and they stay as they are.
			if err := y.Op().(*BatchNormOp).SetTraining(false); err != nil {
				t.Fatal(err)
			}
			xg.step(t, c.XEval)
			expectFwd(t, "eval: y", valueOf(t, y), c.YEval)
			expectGrad(t, "eval: dx", valueOf(t, xg.grads[0]), c.DxEval)
			expectGrad(t, "eval: dgamma", valueOf(t, xg.grads[1]), c.DgammaEval)
			expectGrad(t, "eval: dbeta", valueOf(t, xg.grads[2]), c.DbetaEval)
			expectFwd(t, "running mean after eval", st.RunningMean, c.RunningMean)
			expectFwd(t, "running var after eval", st.RunningVar, c.RunningVar)
		})
	}
}

func TestGoldenLayerNorm(t *testing.T) {
	gf := loadGolden(t)
	for _, c := range gf.LayerNorm {
		t.Run(c.Name, func(t *testing.T) {
			d := prod(c.Shape[1:])
			g := G.NewGraph()
			x := tensorNode(g, "x", c.Shape, c.X)
			gamma := tensorNode(g, "gamma", []int{1, d}, c.Gamma)
			beta := tensorNode(g, "beta", []int{1, d}, c.Beta)
			y := mustNode(t)(LayerNorm(x, gamma, beta, gf.Eps))
			xg := newXcheckGraph(t, g, x, y, c.Dy, x, gamma, beta)
			xg.expectGolden(t, c.X, y, c.Y, golden{"dx", c.Dx}, golden{"dgamma", c.Dgamma}, golden{"dbeta", c.Dbeta})
		})
	}
}

func TestGoldenLinear(t *testing.T) {
	gf := loadGolden(t)
	for _, c := range gf.Linear {
		t.Run(c.Name, func(t *testing.T) {
			in := prod(c.Shape[1:])
			g := G.NewGraph()
			x := tensorNode(g, "x", c.Shape, c.X)
			w := tensorNode(g, "W", []int{in, c.Out}, c.W)
			b := tensorNode(g, "b", []int{1, c.Out}, c.B)
			y := mustNode(t)(Linear(x, w, b, false))
			xg := newXcheckGraph(t, g, x, y, c.Dy, x, w, b)
			xg.expectGolden(t, c.X, y, c.Y, golden{"dx", c.Dx}, golden{"dW", c.Dw}, golden{"db", c.Db})
		})
	}
}

func TestGoldenActivation(t *testing.T) {
	gf := loadGolden(t)
	for _, c := range gf.Activation {
		t.Run(c.Name, func(t *testing.T) {
			a, err := kernels.ParseAct(c.Name)
			if err != nil {
				t.Fatal(err)
			}
			g := G.NewGraph()
			x := tensorNode(g, "x", c.Shape, c.X)
			y := mustNode(t)(Activation(a, x))
			xg := newXcheckGraph(t, g, x, y, c.Dy, x)
			xg.expectGolden(t, c.X, y, c.Y, golden{"dx", c.Dx})
		})
	}
}

func TestGoldenCrossEntropy(t *testing.T) {
	gf := loadGolden(t)
	for _, c := range gf.CrossEntropy {
		t.Run(c.Name, func(t *testing.T) {
			g := G.NewGraph()
			logits := tensorNode(g, "logits", c.Shape, c.Logits)
			labels := tensorNode(g, "labels", c.Shape[:1], c.Labels)
			loss := mustNode(t)(SoftmaxCrossEntropy(logits, labels))
			grads, err := G.Grad(loss, logits)
			if err != nil {
				t.Fatal(err)
			}
			m := G.NewTapeMachine(g)
			defer m.Close()
			run(t, m)
			expectFwd(t, "loss", valueOf(t, loss), []float32{c.Loss})
			expectGrad(t, "dlogits", valueOf(t, grads[0]), c.Dlogits)
		})
	}
}

func TestGoldenGroupNorm(t *testing.T) {
	gf := loadGolden(t)
	for _, c := range gf.GroupNorm {
		t.Run(c.Name, func(t *testing.T) {
			ch := c.Shape[1]
			g := G.NewGraph()
			x := tensorNode(g, "x", c.Shape, c.X)
			gamma := tensorNode(g, "gamma", []int{1, ch}, c.Gamma)
			beta := tensorNode(g, "beta", []int{1, ch}, c.Beta)
			y := mustNode(t)(GroupNorm(x, gamma, beta, c.Groups, gf.Eps))
			xg := newXcheckGraph(t, g, x, y, c.Dy, x, gamma, beta)
			xg.expectGolden(t, c.X, y, c.Y, golden{"dx", c.Dx}, golden{"dgamma", c.Dgamma}, golden{"dbeta", c.Dbeta})
		})
	}
}

func TestGoldenRMSNorm(t *testing.T) {
	gf := loadGolden(t)
	for _, c := range gf.RMSNorm {
		t.Run(c.Name, func(t *testing.T) {
			d := prod(c.Shape[1:])
			g := G.NewGraph()
			x := tensorNode(g, "x", c.Shape, c.X)
			gamma := tensorNode(g, "gamma", []int{1, d}, c.Gamma)
			y := mustNode(t)(RMSNorm(x, gamma, gf.Eps))
			xg := newXcheckGraph(t, g, x, y, c.Dy, x, gamma)
			xg.expectGolden(t, c.X, y, c.Y, golden{"dx", c.Dx}, golden{"dgamma", c.Dgamma})
		})
	}
}

// golden is one expected gradient: its name in failures and PyTorch's value.
type golden struct {
	name string
	want []float32
}

// expectGolden steps xg at x and checks y against wantY and each of xg's
// gradients, in newXcheckGraph's order, against grads.
func (xg *xcheckGraph) expectGolden(t *testing.T, x []float32, y *G.Node, wantY []float32, grads ...golden) {
	t.Helper()
	xg.step(t, x)
	expectFwd(t, "y", valueOf(t, y), wantY)
	for i, g := range grads {
		expectGrad(t, g.name, valueOf(t, xg.grads[i]), g.want)
	}
}
