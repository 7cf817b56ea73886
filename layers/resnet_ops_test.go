package layers

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"testing"

	G "gorgonia.org/gorgonia"

	"normtap/kernels"
)

// The ops the residual network adds (1×1 convolution, global average
// pool), checked as every op is: finite differences (method and tolerance
// at the top of gradcheck_test.go), PyTorch 1.13 golden values (tolerances
// at the top of golden_test.go) and Bind against Exec.

func TestGradCheckResNetOps(t *testing.T) {
	cases := []gradCase{
		{ // H ≠ W and C ≠ K catch swapped dimensions
			name: "Conv1x1/2x3x4x5->4",
			inputs: func(rng *rand.Rand) []input {
				return []input{
					{"x", []int{2, 3, 4, 5}, randNormal(rng, 120, 0, 1), true},
					{"W", []int{4, 3}, randNormal(rng, 12, 0, 0.6), true},
				}
			},
			build: func(t *testing.T, g *G.ExprGraph, n []*G.Node) *G.Node {
				return mustNode(t)(Conv1x1(n[0], n[1]))
			},
		},
		{
			name: "GlobalAvgPool/2x3x4x5",
			inputs: func(rng *rand.Rand) []input {
				return []input{{"x", []int{2, 3, 4, 5}, randNormal(rng, 120, 0.5, 1), true}}
			},
			build: func(t *testing.T, g *G.ExprGraph, n []*G.Node) *G.Node {
				return mustNode(t)(GlobalAvgPool(n[0]))
			},
		},
		{ // a residual block's skip: x feeds the branch and the projection,
			// the two meet in gorgonia's +, and the pool reads the sum
			name: "Residual/Conv3x3+Conv1x1/2x2x4x5->3",
			step: 5e-3,
			tol:  2e-3,
			inputs: func(rng *rand.Rand) []input {
				return []input{
					{"x", []int{2, 2, 4, 5}, randNormal(rng, 80, 0, 1), true},
					{"W", []int{3, 18}, randNormal(rng, 54, 0, 0.4), true},
					{"b", []int{1, 3}, randNormal(rng, 3, 0, 0.5), true},
					{"P", []int{3, 2}, randNormal(rng, 6, 0, 0.6), true},
				}
			},
			build: func(t *testing.T, g *G.ExprGraph, n []*G.Node) *G.Node {
				must := mustNode(t)
				branch := must(Activation(kernels.Tanh, must(Conv3x3(n[0], n[1], n[2], false))))
				sum := must(G.Add(branch, must(Conv1x1(n[0], n[3]))))
				return must(GlobalAvgPool(must(Activation(kernels.Tanh, sum))))
			},
		},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) { checkGrads(t, c, uint64(i)+101) })
	}
}

type goldenResNetOps struct {
	Conv1x1 []struct {
		Name                string
		Shape               []int
		K                   int
		X, W, Dy, Y, Dx, Dw []float32
	} `json:"conv1x1"`
	GlobalAvgPool []goldenAct `json:"global_avg_pool"`
	MaxPool2      []goldenAct `json:"maxpool2"`
}

func loadGoldenResNetOps(t *testing.T) *goldenResNetOps {
	t.Helper()
	const path = "testdata/golden.json"
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v (regenerate with testdata/gen_golden.py)", path, err)
	}
	var gf goldenResNetOps
	if err := json.Unmarshal(b, &gf); err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	if len(gf.Conv1x1) != 1 || len(gf.GlobalAvgPool) != 1 || len(gf.MaxPool2) != 1 {
		t.Fatalf("%s: no conv1x1, global_avg_pool or maxpool2 case; regenerate with testdata/gen_golden.py", path)
	}
	return &gf
}

func TestGoldenResNetOps(t *testing.T) {
	gf := loadGoldenResNetOps(t)
	c := gf.Conv1x1[0]
	t.Run(c.Name, func(t *testing.T) {
		g := G.NewGraph()
		x := tensorNode(g, "x", c.Shape, c.X)
		w := tensorNode(g, "W", []int{c.K, c.Shape[1]}, c.W)
		y := mustNode(t)(Conv1x1(x, w))
		xg := newXcheckGraph(t, g, x, y, c.Dy, x, w)
		xg.step(t, c.X)
		expectFwd(t, "y", valueOf(t, y), c.Y)
		expectGrad(t, "dx", valueOf(t, xg.grads[0]), c.Dx)
		expectGrad(t, "dW", valueOf(t, xg.grads[1]), c.Dw)
	})
	for _, pc := range []struct {
		c     goldenAct
		build func(*G.Node) (*G.Node, error)
	}{{gf.GlobalAvgPool[0], GlobalAvgPool}, {gf.MaxPool2[0], MaxPool2}} {
		t.Run(pc.c.Name, func(t *testing.T) {
			g := G.NewGraph()
			x := tensorNode(g, "x", pc.c.Shape, pc.c.X)
			y := mustNode(t)(pc.build(x))
			xg := newXcheckGraph(t, g, x, y, pc.c.Dy, x)
			xg.step(t, pc.c.X)
			expectFwd(t, "y", valueOf(t, y), pc.c.Y)
			expectGrad(t, "dx", valueOf(t, xg.grads[0]), pc.c.Dx)
		})
	}
}

// TestResNetOpsBindMatchesExec: the bound kernels, split over two workers,
// compute what Exec computes (the 1×1 weight gradient accumulates the
// examples in the same order, so bit for bit), on shapes large enough to
// split.
func TestResNetOpsBindMatchesExec(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	w := kernels.NewWorkers(2)
	defer w.Close()
	const n, c, k, h, wd = 6, 16, 24, 14, 14
	s := h * wd
	x := randNormal(rng, n*c*s, 0, 1)
	wt := randNormal(rng, k*c, 0, 0.3)
	dy := randNormal(rng, n*k*s, 0, 1)
	fwd := &Conv1x1Op{N: n, C: c, H: h, W: wd, K: k}
	gap := &GlobalAvgPoolOp{N: n, C: c, H: h, W: wd}
	for _, tc := range []struct {
		name string
		op   Binder
		in   [][]float32
		size int
	}{
		{"Conv1x1", fwd, [][]float32{x, wt}, n * k * s},
		{"Conv1x1GradInput", &Conv1x1GradInputOp{Fwd: fwd}, [][]float32{dy, wt}, n * c * s},
		{"Conv1x1GradWeight", &Conv1x1GradWeightOp{Fwd: fwd}, [][]float32{x, dy}, k * c},
		{"GlobalAvgPool", gap, [][]float32{x}, n * c},
		{"GlobalAvgPoolGrad", &GlobalAvgPoolGradOp{Fwd: gap}, [][]float32{dy[:n*c]}, n * c * s},
	} {
		want := make([]float32, tc.size)
		tc.op.Exec(want, tc.in)
		got := make([]float32, tc.size)
		for i := range got {
			got[i] = float32(i) // stale values must be overwritten
		}
		run := tc.op.Bind(w, got, tc.in)
		run()
		run() // twice: nothing accumulates across calls
		expectClose(t, tc.name, got, want, 1e-6, 1e-5)
		if a := testing.AllocsPerRun(5, run); a != 0 {
			t.Errorf("%s: the bound kernel allocates %v times per call", tc.name, a)
		}
	}
}
