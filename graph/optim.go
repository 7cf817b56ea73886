package graph

import (
	"fmt"
	"math"
	"slices"

	"normtap/internal/enum"
	"normtap/kernels"
)

// OptKind names an optimizer; it is written as its name ("adam").
type OptKind uint8

// The optimizers normtap runs (PyTorch's semantics; package kernels has
// their updates). Adding one is a constant here, an entry in optTable and a
// case in update (with its kernel on the CPU and the GPU).
const (
	OptSGD OptKind = iota + 1
	OptMomentum
	OptAdam
)

// optTable is, per OptKind, its name and how many buffers of a parameter's
// size it keeps (its slots).
var optTable = [...]struct {
	name  string
	slots int
}{
	OptSGD:      {"sgd", 0},
	OptMomentum: {"momentum", 1},
	OptAdam:     {"adam", 2},
}

var optNames = enum.Names[OptKind]{What: "optimizer", Names: namesOf(optTable[:], func(i int) string { return optTable[i].name })}

func (k OptKind) String() string                   { return optNames.String(k) }
func (k OptKind) MarshalText() ([]byte, error)     { return optNames.Marshal(k) }
func (k *OptKind) UnmarshalText(text []byte) error { return optNames.Unmarshal(text, k) }
func (k OptKind) Valid() bool                      { return optNames.Valid(k) }
func ParseOptKind(s string) (OptKind, error)       { return optNames.Parse(s) }
func OptKindNames() string                         { return optNames.List() }

// OptSpec configures the optimizer. Semantics follow PyTorch's SGD (with
// momentum: v ← μv + g; w ← w − lr·v) and Adam (bias-corrected, ε outside
// the square root).
type OptSpec struct {
	Kind     OptKind `json:"opt"`
	LR       float64 `json:"lr"`
	Momentum float64 `json:"momentum"`
	Beta1    float64 `json:"beta1"`
	Beta2    float64 `json:"beta2"`
	Eps      float64 `json:"adam_eps"`
}

// Validate names the flag at fault.
func (o OptSpec) Validate() error {
	if !o.Kind.Valid() {
		return fmt.Errorf("--opt %s: want %s", o.Kind, OptKindNames())
	}
	if !(o.LR >= 0) || math.IsInf(o.LR, 0) {
		return fmt.Errorf("--lr %g: must be a finite number ≥ 0", o.LR)
	}
	if o.Kind == OptMomentum && (o.Momentum < 0 || o.Momentum >= 1) {
		return fmt.Errorf("--momentum %g: must be in [0, 1)", o.Momentum)
	}
	if o.Kind == OptAdam && (o.Beta1 < 0 || o.Beta1 >= 1 || o.Beta2 < 0 || o.Beta2 >= 1 || o.Eps <= 0) {
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
	if !o.Kind.Valid() {
		return 0
	}
	return optTable[o.Kind].slots
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

// optKernels are one machine's optimizer updates on its own buffers B:
// []float32 on the CPU (cpuOpt, package kernels), device buffers on the GPU
// (*cuda.Device has exactly these methods). Both implement the same
// arithmetic; the GPU's are checked against the CPU's.
type optKernels[B any] interface {
	SGDUpdate(w, g B, lr float32) error
	MomentumUpdate(w, g, v B, lr, mu float32) error
	AdamUpdate(w, g, m, v B, lr, beta1, beta2, eps float32, t int64) error
}

// update is the one dispatch on the optimizer kind: optimizer step t
// (1-based) of o on w with gradient g and the parameter's SlotsPerParam
// slots.
func update[B any](k optKernels[B], o OptSpec, w, g B, slots []B, t int64) error {
	switch o.Kind {
	case OptSGD:
		return k.SGDUpdate(w, g, float32(o.LR))
	case OptMomentum:
		return k.MomentumUpdate(w, g, slots[0], float32(o.LR), float32(o.Momentum))
	case OptAdam:
		return k.AdamUpdate(w, g, slots[0], slots[1], float32(o.LR), float32(o.Beta1), float32(o.Beta2), float32(o.Eps), t)
	}
	return fmt.Errorf("optimizer %s has no update", o.Kind)
}

// cpuOpt is the CPU's optKernels: package kernels' updates on slices.
type cpuOpt struct{}

func (cpuOpt) SGDUpdate(w, g []float32, lr float32) error {
	kernels.SGDUpdate(w, g, lr)
	return nil
}

func (cpuOpt) MomentumUpdate(w, g, v []float32, lr, mu float32) error {
	kernels.MomentumUpdate(w, g, v, lr, mu)
	return nil
}

func (cpuOpt) AdamUpdate(w, g, m, v []float32, lr, beta1, beta2, eps float32, t int64) error {
	kernels.AdamUpdate(w, g, m, v, lr, beta1, beta2, eps, t)
	return nil
}

// applySpan performs optimizer step st.Step on the elements [lo, hi) of
// parameter i; the update is element-wise, so spans are independent.
func (o OptSpec) applySpan(st *OptState, i int, w, g []float32, lo, hi int) {
	var slots [2][]float32
	k := o.SlotsPerParam()
	for j := range k {
		slots[j] = st.Slots[i*k+j][lo:hi]
	}
	_ = update[[]float32](cpuOpt{}, o, w[lo:hi], g[lo:hi], slots[:k], st.Step) // the CPU kernels return no errors
}

// applyToCopy performs on w (a copy of parameter i) the step that Update
// would perform as optimizer step st.Step+1, on copies of its slots: the
// same arithmetic, so the result equals the real update bit for bit.
func (o OptSpec) applyToCopy(st *OptState, i int, w, g []float32) {
	k := o.SlotsPerParam()
	slots := make([][]float32, k)
	for j := range k {
		slots[j] = slices.Clone(st.Slots[i*k+j])
	}
	_ = update[[]float32](cpuOpt{}, o, w, g, slots, st.Step+1)
}
