package graph

import (
	"fmt"
	"math"

	"normtap/kernels"
)

// OptSpec configures the optimizer. Semantics follow PyTorch's SGD (with
// momentum: v ← μv + g; w ← w − lr·v) and Adam (bias-corrected, ε outside
// the square root).
type OptSpec struct {
	Kind     string  `json:"opt"` // sgd, momentum, adam
	LR       float64 `json:"lr"`
	Momentum float64 `json:"momentum"`
	Beta1    float64 `json:"beta1"`
	Beta2    float64 `json:"beta2"`
	Eps      float64 `json:"adam_eps"`
}

// Validate names the flag at fault.
func (o OptSpec) Validate() error {
	switch o.Kind {
	case "sgd", "momentum", "adam":
	default:
		return fmt.Errorf("--opt %q: want sgd, momentum or adam", o.Kind)
	}
	if !(o.LR >= 0) || math.IsInf(o.LR, 0) {
		return fmt.Errorf("--lr %g: must be a finite number ≥ 0", o.LR)
	}
	if o.Kind == "momentum" && (o.Momentum < 0 || o.Momentum >= 1) {
		return fmt.Errorf("--momentum %g: must be in [0, 1)", o.Momentum)
	}
	if o.Kind == "adam" && (o.Beta1 < 0 || o.Beta1 >= 1 || o.Beta2 < 0 || o.Beta2 >= 1 || o.Eps <= 0) {
		return fmt.Errorf("adam betas (%g, %g) must be in [0, 1) and eps %g > 0", o.Beta1, o.Beta2, o.Eps)
	}
	return nil
}

// OptState is the optimizer's state for a list of parameters: slot buffers
// (momentum velocity; Adam's m and v) and the step count.
type OptState struct {
	Step  int64       `json:"step"`
	Slots [][]float32 `json:"-"` // per parameter: [v] for momentum, [m, v] for adam, none for sgd
}

// SlotsPerParam is how many buffers of a parameter's size the optimizer keeps.
func (o OptSpec) SlotsPerParam() int {
	switch o.Kind {
	case "momentum":
		return 1
	case "adam":
		return 2
	}
	return 0
}

// NewOptState allocates zeroed state for parameters of the given sizes.
func (o OptSpec) NewOptState(sizes []int) *OptState {
	st := &OptState{}
	for _, n := range sizes {
		for k := 0; k < o.SlotsPerParam(); k++ {
			st.Slots = append(st.Slots, make([]float32, n))
		}
	}
	return st
}

// applySpan performs one optimizer step on the elements [lo, hi) of
// parameter i; the update is element-wise, so spans are independent.
func (o OptSpec) applySpan(st *OptState, i int, w, g []float32, lo, hi int) {
	w, g = w[lo:hi], g[lo:hi]
	switch o.Kind {
	case "sgd":
		kernels.SGDUpdate(w, g, float32(o.LR))
	case "momentum":
		kernels.MomentumUpdate(w, g, st.Slots[i][lo:hi], float32(o.LR), float32(o.Momentum))
	case "adam":
		kernels.AdamUpdate(w, g, st.Slots[2*i][lo:hi], st.Slots[2*i+1][lo:hi], float32(o.LR), float32(o.Beta1), float32(o.Beta2), float32(o.Eps), st.Step)
	}
}

// apply performs one optimizer step on parameter i.
func (o OptSpec) apply(st *OptState, i int, w, g []float32) {
	switch o.Kind {
	case "sgd":
		kernels.SGDUpdate(w, g, float32(o.LR))
	case "momentum":
		kernels.MomentumUpdate(w, g, st.Slots[i], float32(o.LR), float32(o.Momentum))
	case "adam":
		kernels.AdamUpdate(w, g, st.Slots[2*i], st.Slots[2*i+1], float32(o.LR), float32(o.Beta1), float32(o.Beta2), float32(o.Eps), st.Step)
	}
}
