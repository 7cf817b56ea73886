package bench

import (
	"cmp"
	"context"
	"math/rand/v2"
	"runtime"
	"slices"
	"time"

	"normtap/graph"
	"normtap/kernels"
)

// Roofline is the limit the BLAS puts on a training step: the model's own
// GEMMs (forward and backward, graph.Model.Gemms), each timed alone the way
// a step runs it, and what that leaves for the whole step.
type Roofline struct {
	// FLOPPerExample is the step's GEMM FLOP ÷ batch (kernels.GemmShape.FLOP).
	FLOPPerExample float64 `json:"flop_per_example"`
	// GemmGFLOPPerSec is the step's GEMM FLOP ÷ the sum of their times
	// measured alone: the fastest this BLAS runs this model's products.
	GemmGFLOPPerSec float64 `json:"gemm_gflop_per_sec"`
	// StepMsAtRoofline is that sum: a step cannot be faster.
	StepMsAtRoofline float64    `json:"step_ms_at_roofline"`
	Gemms            []GemmRate `json:"gemms"`
	batch            int
}

// GemmRate is one GEMM shape of the model, timed alone.
type GemmRate struct {
	Shape       string  `json:"shape"`    // transposes, then M×N×K
	PerStep     int     `json:"per_step"` // how often a step runs it
	FLOPPerCall int64   `json:"flop_per_call"`
	MsPerCall   float64 `json:"ms_per_call"`
	GFLOPPerSec float64 `json:"gflop_per_sec"`
}

// MeasureGemm times one product of shape s (a single call, Count
// ignored) in seconds, the median over repetitions of at least minTime in
// all; CPUGemmSeconds is the CPU's.
type MeasureGemm func(ctx context.Context, s kernels.GemmShape, minTime time.Duration) (float64, error)

// CPUGemmSeconds times s as the CPU machine runs it: a layers.GemmPlan on
// random inputs, split over a Workers pool of GOMAXPROCS parts.
func CPUGemmSeconds(ctx context.Context, s kernels.GemmShape, minTime time.Duration) (float64, error) {
	rng := rand.New(rand.NewPCG(uint64(s.M), uint64(s.N*s.K)))
	fill := func(n int) []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = rng.Float32() - 0.5
		}
		return x
	}
	a, b, c := fill(s.M*s.K), fill(s.K*s.N), make([]float32, s.M*s.N)
	lda, ldb := s.K, s.N
	if s.TransA {
		lda = s.M
	}
	if s.TransB {
		ldb = s.K
	}
	w := kernels.NewWorkers(runtime.GOMAXPROCS(0)) // as the CPU machine's pool
	defer w.Close()
	plan := kernels.NewGemmPlan(s.TransA, s.TransB, s.M, s.N, s.K, 1, a, lda, b, ldb, 0, c, s.N)
	plan.Run(w) // warm the caches and the pool
	var per []float64
	start := time.Now()
	for len(per) < 5 || time.Since(start) < minTime {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		t := time.Now()
		plan.Run(w)
		per = append(per, time.Since(t).Seconds())
	}
	return median(per), nil
}

// measureRoofline times every distinct GEMM of m with measure.
func measureRoofline(ctx context.Context, m *graph.Model, measure MeasureGemm, minTime time.Duration) (*Roofline, error) {
	type key struct {
		ta, tb  bool
		m, n, k int
	}
	count := map[key]int{}
	var order []key
	var flop int64
	for _, s := range m.Gemms() {
		k := key{s.TransA, s.TransB, s.M, s.N, s.K}
		if count[k] == 0 {
			order = append(order, k)
		}
		count[k] += s.Count
		flop += s.FLOP()
	}
	r := &Roofline{FLOPPerExample: float64(flop) / float64(m.Batch), batch: m.Batch}
	var total float64
	for _, k := range order {
		s := kernels.GemmShape{TransA: k.ta, TransB: k.tb, M: k.m, N: k.n, K: k.k, Count: 1}
		sec, err := measure(ctx, s, minTime)
		if err != nil {
			return nil, err
		}
		total += sec * float64(count[k])
		r.Gemms = append(r.Gemms, GemmRate{Shape: s.String(), PerStep: count[k], FLOPPerCall: s.FLOP(), MsPerCall: sec * 1e3, GFLOPPerSec: float64(s.FLOP()) / sec / 1e9})
	}
	if total > 0 {
		r.StepMsAtRoofline = total * 1e3
		r.GemmGFLOPPerSec = float64(flop) / total / 1e9
	}
	return r, nil
}

// summarizeRoofline is the rounds' roofline: the median over rounds of
// each GEMM's time and of the step time at the roofline, the costliest
// GEMM first (nil for no rounds).
func summarizeRoofline(rounds []*Roofline) *Roofline {
	if len(rounds) == 0 {
		return nil
	}
	r := *rounds[0]
	r.Gemms = slices.Clone(r.Gemms)
	var steps []float64
	for _, x := range rounds {
		steps = append(steps, x.StepMsAtRoofline)
	}
	r.StepMsAtRoofline = median(steps)
	if r.StepMsAtRoofline > 0 {
		r.GemmGFLOPPerSec = r.FLOPPerExample * float64(rounds[0].batch) / (r.StepMsAtRoofline / 1e3) / 1e9
	}
	for i := range r.Gemms {
		var ms []float64
		for _, x := range rounds {
			ms = append(ms, x.Gemms[i].MsPerCall)
		}
		g := &r.Gemms[i]
		g.MsPerCall = median(ms)
		g.GFLOPPerSec = float64(g.FLOPPerCall) / (g.MsPerCall / 1e3) / 1e9
	}
	slices.SortStableFunc(r.Gemms, func(a, b GemmRate) int {
		return cmp.Compare(b.MsPerCall*float64(b.PerStep), a.MsPerCall*float64(a.PerStep))
	})
	return &r
}

// setRoofline fills each result's GFLOP/s (at its median step) and its
// roofline fraction: the median over rounds of that round's roofline step
// time ÷ that round's median step time, both measured in the same round so
// that load changes hit them alike.
func setRoofline(rs []Result, flopPerExample float64, roof []*Roofline, rounds []map[graph.Norm]float64) {
	for i := range rs {
		r := &rs[i]
		r.FLOPPerExample = flopPerExample
		r.GFLOPPerSec = flopPerExample * r.ExamplesPerSec / 1e9
		var fr []float64
		for j, rf := range roof {
			if ms := rounds[j][r.Norm]; ms > 0 && rf.StepMsAtRoofline > 0 {
				fr = append(fr, rf.StepMsAtRoofline/ms)
			}
		}
		if len(fr) > 0 {
			v := median(fr)
			r.RooflineFraction = &v
		}
	}
}
