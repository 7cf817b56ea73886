package bench

import (
	"context"
	"math"
	"testing"
	"time"

	"normtap/graph"
	"normtap/kernels"
)

// TestRoofline: with every GEMM timed at exactly 10 GFLOP/s, the roofline
// is 10 GFLOP/s and the step time at it is the step's GEMM FLOP ÷ 10^10;
// each result's fraction is that ÷ its round's median step.
func TestRoofline(t *testing.T) {
	s := graph.DefaultSpec()
	s.Hidden = []int{64, 32}
	m, err := graph.Build(s, 16)
	if err != nil {
		t.Fatal(err)
	}
	calls := 0
	at10 := func(_ context.Context, g kernels.GemmShape, _ time.Duration) (float64, error) {
		calls++
		if g.Count != 1 {
			t.Errorf("asked to time %v with Count %d, want one call", g, g.Count)
		}
		return float64(g.FLOP()) / 1e10, nil
	}
	var rounds []*Roofline
	for range 3 {
		rf, err := measureRoofline(context.Background(), m, at10, 0)
		if err != nil {
			t.Fatal(err)
		}
		rounds = append(rounds, rf)
	}
	// 784·64 forward + weight gradient, 64·32 and 32·10 all three, per example
	wantFLOP := 2.0 * (2*784*64 + 3*64*32 + 3*32*10)
	rf := summarizeRoofline(rounds)
	wantMs := wantFLOP * 16 / 1e10 * 1e3
	if rf.FLOPPerExample != wantFLOP || math.Abs(rf.GemmGFLOPPerSec-10) > 1e-9 || math.Abs(rf.StepMsAtRoofline-wantMs) > 1e-12 {
		t.Errorf("roofline %.0f FLOP/example at %g GFLOP/s, %g ms/step; want %.0f at 10, %g", rf.FLOPPerExample, rf.GemmGFLOPPerSec, rf.StepMsAtRoofline, wantFLOP, wantMs)
	}
	if calls != 3*len(rf.Gemms) || len(rf.Gemms) != 8 {
		t.Errorf("%d distinct GEMMs timed %d times, want 8 each 3 times", len(rf.Gemms), calls)
	}
	rs := []Result{{Norm: graph.NormNone, MsPerStepMedian: 2 * wantMs, ExamplesPerSec: 16 / (2 * wantMs / 1e3)}}
	ours := []map[graph.Norm]float64{{graph.NormNone: 2 * wantMs}, {graph.NormNone: 4 * wantMs}, {graph.NormNone: 2 * wantMs}}
	setRoofline(rs, rf.FLOPPerExample, rounds, ours)
	if rs[0].FLOPPerExample != wantFLOP {
		t.Errorf("result's FLOP per example %g, want %g", rs[0].FLOPPerExample, wantFLOP)
	}
	if f := rs[0].RooflineFraction; f == nil || math.Abs(*f-0.5) > 1e-12 || math.Abs(rs[0].GFLOPPerSec-5) > 1e-9 {
		t.Errorf("fraction %v, %g GFLOP/s; want 0.5 at 5 GFLOP/s", rs[0].RooflineFraction, rs[0].GFLOPPerSec)
	}
}

// TestCPUGemmSeconds: the CPU timing of a GEMM is positive and finite.
func TestCPUGemmSeconds(t *testing.T) {
	sec, err := CPUGemmSeconds(context.Background(), kernels.GemmShape{TransB: true, M: 32, N: 48, K: 64, Count: 1}, time.Millisecond)
	if err != nil || !(sec > 0) || math.IsInf(sec, 0) {
		t.Errorf("CPUGemmSeconds = %g, %v", sec, err)
	}
}
