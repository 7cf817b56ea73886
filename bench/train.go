package bench

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"normtap/graph"
)

// NewMachine makes the machine a configuration runs on: graph.NewCPUMachine
// wrapped, or the GPU build's constructor.
type NewMachine func(*graph.Model, graph.OptSpec) (graph.Machine, error)

// Result is one configuration's training-step measurement. Its keys are
// the ones peer.py prints.
type Result struct {
	Norm            graph.Norm      `json:"norm"`
	Device          string          `json:"device"`
	Model           graph.ModelKind `json:"model"`
	Batch           int             `json:"batch"`
	Hidden          []int           `json:"hidden"`
	ExamplesPerSec  float64         `json:"examples_per_sec"` // Batch / median step time
	MsPerStepMedian float64         `json:"ms_per_step_median"`
	MsPerStepP10    float64         `json:"ms_per_step_p10"`
	MsPerStepP90    float64         `json:"ms_per_step_p90"`
	// ForwardMsMedian is the forward pass alone, up to the logits, in
	// training mode (batch statistics).
	ForwardMsMedian float64 `json:"forward_ms_median"`
	// NormOverhead is R: the median over rounds of this configuration's
	// median step time ÷ norm none's in the same round (seconds apart, so
	// that changes of the machine's speed between rounds cancel; the ratio
	// of the overall medians without rounds); absent without a none
	// configuration.
	NormOverhead *float64 `json:"norm_overhead,omitempty"`
	// GFLOPPerSec is the step's GEMM FLOP (Roofline.FLOPPerExample) per
	// second at the median step time; RooflineFraction is the roofline's
	// step time (Roofline.StepMsAtRoofline) ÷ the median step time.
	FLOPPerExample   float64  `json:"flop_per_example"`
	GFLOPPerSec      float64  `json:"gflop_per_sec"`
	RooflineFraction *float64 `json:"roofline_fraction,omitempty"`
	Steps            int      `json:"steps"`  // timed steps, all rounds together
	Warmup           int      `json:"warmup"` // untimed steps before each round
	Params           int      `json:"params,omitempty"`
	// LastLoss is the loss of the last timed step: the same flags and seed
	// give the same value.
	LastLoss float64 `json:"last_loss"`
}

// PoolExamples is how many random examples the batches cycle through. A
// benchmark that repeats one batch drives the loss to ~1e-4 within a few
// hundred steps, and the tiny gradients then turn into subnormal floats,
// which the CPU handles many times slower; a pool this large keeps the
// loss near its starting value for every step bench takes. peer.py uses
// the same.
const PoolExamples = 8192

// trainer is one configuration with its machine and batches.
type trainer struct {
	spec   graph.Spec
	batch  int
	mach   graph.Machine
	model  *graph.Model
	xs, ys [][]float32 // the pool of batches
	next   int         // the next batch to use
	stepMs []float64
	fwdMs  []float64
	warmup int
	last   float32
}

// batchData returns the next batch of the pool.
func (t *trainer) batchData() ([]float32, []float32) {
	i := t.next
	t.next = (t.next + 1) % len(t.xs)
	return t.xs[i], t.ys[i]
}

// newTrainer builds spec's model for batches of batch, initialises it from
// seed, and makes a pool of PoolExamples random examples of the model's
// input shape (pixels uniform in [0, 1), labels uniform), in batches.
func newTrainer(spec graph.Spec, batch int, opt graph.OptSpec, seed uint64, newMachine NewMachine) (*trainer, error) {
	m, err := graph.Build(spec, batch)
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	m.Init(rng)
	mach, err := newMachine(m, opt)
	if err != nil {
		return nil, err
	}
	t := &trainer{spec: spec, batch: batch, mach: mach, model: m}
	t.xs, t.ys = graph.RandomBatches(m, max(2, (PoolExamples+batch-1)/batch), rand.New(rand.NewPCG(seed, 2)))
	return t, nil
}

// round runs warmup untimed steps, then steps timed one by one, then as
// many forward passes timed one by one.
func (t *trainer) round(ctx context.Context, warmup, steps int) error {
	t.mach.SetTraining(true)
	t.warmup = warmup
	for range warmup {
		if _, _, err := t.mach.Step(t.batchData()); err != nil {
			return err
		}
	}
	for range steps {
		if err := ctx.Err(); err != nil {
			return err
		}
		x, y := t.batchData()
		start := time.Now()
		loss, _, err := t.mach.Step(x, y)
		if err != nil {
			return err
		}
		t.stepMs = append(t.stepMs, float64(time.Since(start).Nanoseconds())/1e6)
		t.last = loss
	}
	if math.IsNaN(float64(t.last)) || math.IsInf(float64(t.last), 0) {
		return fmt.Errorf("bench %s: the loss became %v", t.spec.Norm, t.last)
	}
	for range steps {
		x, _ := t.batchData()
		start := time.Now()
		if _, err := t.mach.Forward(x); err != nil {
			return err
		}
		t.fwdMs = append(t.fwdMs, float64(time.Since(start).Nanoseconds())/1e6)
	}
	return nil
}

func (t *trainer) result() Result {
	med := median(t.stepMs)
	return Result{
		Norm: t.spec.Norm, Device: t.mach.Device(), Model: t.spec.Model, Batch: t.batch, Hidden: t.spec.Hidden,
		ExamplesPerSec: float64(t.batch) / (med / 1e3), MsPerStepMedian: med,
		MsPerStepP10: percentile(t.stepMs, 10), MsPerStepP90: percentile(t.stepMs, 90),
		ForwardMsMedian: median(t.fwdMs), Steps: len(t.stepMs), Warmup: t.warmup,
		Params: t.model.ParamCount(), LastLoss: float64(t.last),
	}
}

// setOverheads fills R for every result: from rounds (each round's median
// step time per norm) when they have none's, else from the overall medians.
func setOverheads(rs []Result, rounds []map[graph.Norm]float64) {
	var base float64
	for _, r := range rs {
		if r.Norm == graph.NormNone {
			base = r.MsPerStepMedian
		}
	}
	if base == 0 {
		return
	}
	for i := range rs {
		var per []float64
		for _, rd := range rounds {
			if x, none := rd[rs[i].Norm], rd[graph.NormNone]; x > 0 && none > 0 {
				per = append(per, x/none)
			}
		}
		v := rs[i].MsPerStepMedian / base
		if len(per) > 0 {
			v = median(per)
		}
		rs[i].NormOverhead = &v
	}
}
